/*
 * sidproto_int.h — helpers the files of src/sidproto share; not a
 * contract for anyone else.
 */
#ifndef SL_SIDPROTO_INT_H
#define SL_SIDPROTO_INT_H

#include "sidproto.h"

/* true when `s` holds a '|', the separator of every signed payload. */
bool sidp_has_bar(const char *s);
/* Append Base64(data) and a '|' to `b`. */
int sidp_buf_add_b64(struct sl_buf *b, const void *data, size_t len);

#endif
