/* fuzz_sealed.c — unseal() on arbitrary blobs under a server key, as the
 * device API does for confirmation keys and signatures: nothing random
 * opens, nothing crashes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../src/crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static EVP_PKEY *key;
	uint8_t *plain = NULL;
	size_t n = 0;
	EVP_PKEY *p;

	if (key == NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (unseal(key, "kid", (const uint8_t *)"request-id", 10, data, len, &plain, &n, NULL) == SL_OK)
		abort();
	free(plain);
	if (len >= P256_PUB_LEN) {
		p = p256_public_from_bytes(data, NULL);
		EVP_PKEY_free(p);
	}
	return 0;
}
