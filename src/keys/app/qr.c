/*
 * qr.c — a QR code as inline SVG (libqrencode for the modules), so the
 * portal shows it without JavaScript and without an image endpoint.
 *
 * One <path>: each run of dark modules in a row is one rectangle, with the
 * 4-module quiet zone the standard asks for around the symbol.  ECC level
 * M: a screen photographed at an angle still scans.
 */
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "request_int.h"

#define QR_QUIET 4 /* modules of margin */
#define QR_PIXELS 240 /* drawn size in CSS pixels */

static int
add_path(struct sl_buf *b, const QRcode *q)
{
	int rc = SL_OK;

	for (int y = 0; y < q->width && rc == SL_OK; y++) {
		int x = 0;
		while (x < q->width && rc == SL_OK) {
			int start;
			if (!(q->data[y * q->width + x] & 1)) {
				x++;
				continue;
			}
			start = x;
			while (x < q->width && (q->data[y * q->width + x] & 1))
				x++;
			rc = sl_buf_addf(b, "M%d %dh%dv1h-%dz", start + QR_QUIET, y + QR_QUIET, x - start, x - start);
		}
	}
	return rc;
}

char *
app_qr_svg(const char *text, const char *title)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	struct sl_buf b;
	int size, rc;

	if (q == NULL)
		return NULL;
	size = q->width + 2 * QR_QUIET;
	sl_buf_init(&b, APP_QR_SVG_MAX);
	rc = sl_buf_addf(&b,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" role=\"img\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" aria-label=\"",
		QR_PIXELS, QR_PIXELS, size, size);
	if (rc == SL_OK)
		rc = html_escape(&b, title ? title : "QR code");
	if (rc == SL_OK)
		rc = sl_buf_addf(
			&b, "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size);
	if (rc == SL_OK)
		rc = add_path(&b, q);
	if (rc == SL_OK)
		rc = sl_buf_adds(&b, "\"/></svg>");
	QRcode_free(q);
	if (rc != SL_OK) {
		sl_buf_reset(&b);
		return NULL;
	}
	return sl_buf_take(&b);
}
