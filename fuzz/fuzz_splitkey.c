/* fuzz_splitkey.c — the split-key serialisations: the app's state file
 * (sk_device_key_from_json), the server's stored key
 * (sk_server_key_from_json) and the share a device sends at registration
 * (sk_share_from_json, at the test size).  What parses must serialise
 * again. */
#include <stdlib.h>
#include <string.h>

#include "../src/crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const struct sk_params share_params = { 1024, 1024, NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1);
	struct sk_device_key dev;
	struct sk_server_key srv;
	char *again;

	if (text == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	if (sk_device_key_from_json(text, &dev, NULL) == SL_OK) {
		again = sk_device_key_to_json(&dev);
		if (again == NULL)
			abort();
		free(again);
		sk_device_key_clear(&dev);
	}
	if (sk_server_key_from_json(text, &srv, NULL) == SL_OK) {
		again = sk_server_key_to_json(&srv);
		if (again == NULL)
			abort();
		free(again);
		sk_server_key_clear(&srv);
	}
	if (sk_share_from_json(text, &share_params, &srv, NULL) == SL_OK) {
		again = sk_share_to_json(&srv);
		if (again == NULL)
			abort();
		free(again);
		sk_server_key_clear(&srv);
	}
	free(text);
	return 0;
}
