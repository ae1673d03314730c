/*
 * discovery.c — what sleutel knows of each bank: its discovery document
 * (endpoints) and its JWKS (the keys its ID tokens are signed with).
 *
 * Both are fetched with httpc on first use (on an outbound worker, never
 * on an event loop: bank.c; each fetch bounded by the caller's timeout) and reused for
 * PROOF_CACHE_TTL seconds; a bank that rotated its keys is seen at once,
 * because an ID token whose kid is unknown makes us fetch the JWKS again
 * (such a refetch at most once per PROOF_JWKS_REFRESH seconds, so a
 * stream of tokens with made-up key ids cannot make us hammer the bank).  Fetches run outside the lock;
 * the lock only guards swapping the cached copies.  A verification holds
 * the lock, so keys are never freed under it.
 *
 * The discovery document must name the configured issuer exactly (OIDC
 * Discovery 4.3): a document that names another cannot redirect our
 * people, or our token requests, elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include "proofing_int.h"
#include "../httpc/httpc.h"

struct proof_bank_cache {
	struct proof_endpoints bc_ep;
	char *bc_jwks_uri;
	int64_t bc_disc_fetched; /* 0: never */
	struct jose_key *bc_keys[PROOF_JWKS_MAX_KEYS];
	size_t bc_nkeys;
	int64_t bc_jwks_fetched;
	int64_t bc_jwks_refetched; /* last refetch for an unknown key */
};

void
proof_endpoints_clear(struct proof_endpoints *e)
{
	free(e->pe_authorization);
	free(e->pe_token);
	free(e->pe_userinfo);
	memset(e, 0, sizeof(*e));
}

static void
keys_clear(struct proof_bank_cache *c)
{
	for (size_t i = 0; i < c->bc_nkeys; i++)
		jose_key_free(c->bc_keys[i]);
	c->bc_nkeys = 0;
}

int
proof_cache_new(struct proofing *pf, int nbanks)
{
	pf->pf_nbanks = nbanks;
	pf->pf_cache = calloc(nbanks > 0 ? (size_t)nbanks : 1, sizeof(*pf->pf_cache));
	return pf->pf_cache ? SL_OK : SL_ENOMEM;
}

void
proof_cache_free(struct proofing *pf)
{
	for (int i = 0; pf->pf_cache && i < pf->pf_nbanks; i++) {
		proof_endpoints_clear(&pf->pf_cache[i].bc_ep);
		free(pf->pf_cache[i].bc_jwks_uri);
		keys_clear(&pf->pf_cache[i]);
	}
	free(pf->pf_cache);
	pf->pf_cache = NULL;
}

static int
fetch_json(const struct sl_bank_conf *b, const char *url, int timeout, json_t **out, struct sl_err *err)
{
	void *doc = NULL;
	int rc = httpc_get_json(url, b->bk_ca_file, timeout, &doc, err);

	*out = doc;
	if (rc == SL_OK && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return sl_fail(err, SL_EINVAL, "%s is not a JSON object", url);
	}
	return rc;
}

/* An endpoint must be https (or http on loopback, as the issuer may be). */
static char *
endpoint(json_t *doc, const char *name, bool required, struct sl_err *err, int *rc)
{
	const char *v = json_string_value(json_object_get(doc, name));

	if (v == NULL) {
		if (required)
			*rc = sl_fail(err, SL_EINVAL, "the bank's discovery document lacks %s", name);
		return NULL;
	}
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://127.0.0.1:", 17) != 0) {
		*rc = sl_fail(err, SL_EINVAL, "the bank's %s is not an https URL", name);
		return NULL;
	}
	return strdup(v);
}

/* The length of the origin (scheme://host[:port]) that starts `url`. */
static size_t
origin_len(const char *url)
{
	const char *host = strstr(url, "://");

	if (host == NULL)
		return 0;
	host += 3;
	return (size_t)(host - url) + strcspn(host, "/?#");
}

/* Token, userinfo and JWKS endpoints at the issuer's origin, or at one the
 * operator listed ([bank.<id>] endpoint_origins): a discovery document
 * (fetched over TLS, but from a server that may be misconfigured or
 * partly taken over) must not send the code, the client secret or the
 * key fetch elsewhere. */
static bool
origin_ok(const struct sl_bank_conf *b, const char *url)
{
	size_t n = origin_len(url);
	const char *list = b->bk_endpoint_origins;

	if (n == 0)
		return false;
	if (n == origin_len(b->bk_issuer) && strncmp(url, b->bk_issuer, n) == 0)
		return true;
	while (list != NULL && *(list += strspn(list, " ")) != '\0') {
		size_t m = strcspn(list, " ");
		if (m == n && strncmp(list, url, n) == 0)
			return true;
		list += m;
	}
	return false;
}

static char *
same_origin(const struct sl_bank_conf *b, char *url, const char *name, struct sl_err *err, int *rc)
{
	if (url == NULL || origin_ok(b, url))
		return url;
	free(url);
	*rc = sl_fail(err, SL_EINVAL, "the bank's %s is not at its issuer's origin nor in endpoint_origins", name);
	return NULL;
}

static int
discover(const struct sl_bank_conf *b, struct proof_endpoints *ep, char **jwks_uri, int timeout, struct sl_err *err)
{
	char url[1024];
	const char *iss;
	json_t *doc;
	int rc;

	memset(ep, 0, sizeof(*ep));
	*jwks_uri = NULL;
	/* OIDC Discovery 4: issuer without a trailing slash, then the path. */
	snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
		(int)(strlen(b->bk_issuer) - (b->bk_issuer[strlen(b->bk_issuer) - 1] == '/')), b->bk_issuer);
	rc = fetch_json(b, url, timeout, &doc, err);
	if (rc != SL_OK)
		return rc;
	iss = json_string_value(json_object_get(doc, "issuer"));
	if (iss == NULL || strcmp(iss, b->bk_issuer) != 0)
		rc = sl_fail(err, SL_EINVAL, "the bank's discovery document names another issuer");
	if (rc == SL_OK)
		ep->pe_authorization = endpoint(doc, "authorization_endpoint", true, err, &rc);
	if (rc == SL_OK)
		ep->pe_token =
			same_origin(b, endpoint(doc, "token_endpoint", true, err, &rc), "token_endpoint", err, &rc);
	if (rc == SL_OK)
		ep->pe_userinfo = same_origin(
			b, endpoint(doc, "userinfo_endpoint", false, err, &rc), "userinfo_endpoint", err, &rc);
	if (rc == SL_OK)
		*jwks_uri = same_origin(b, endpoint(doc, "jwks_uri", true, err, &rc), "jwks_uri", err, &rc);
	ep->pe_iss_required = json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported"));
	json_decref(doc);
	if (rc != SL_OK) {
		proof_endpoints_clear(ep);
		free(*jwks_uri);
		*jwks_uri = NULL;
	}
	return rc;
}

static struct proof_endpoints
endpoints_copy(const struct proof_endpoints *e)
{
	return (struct proof_endpoints){ .pe_authorization = sl_strdup(e->pe_authorization),
		.pe_token = sl_strdup(e->pe_token),
		.pe_userinfo = sl_strdup(e->pe_userinfo),
		.pe_iss_required = e->pe_iss_required };
}

/* Fill the cache of bank `i` when stale; called without the lock. */
static int
discovery_fresh(struct server *srv, int i, int timeout, struct sl_err *err)
{
	struct proofing *pf = srv->sv_proofing;
	struct proof_bank_cache *c = &pf->pf_cache[i];
	struct proof_endpoints ep;
	char *jwks_uri;
	int64_t now = sl_now();
	bool fresh;
	int rc;

	pthread_mutex_lock(&pf->pf_cache_lock);
	fresh = c->bc_disc_fetched != 0 && now - c->bc_disc_fetched < PROOF_CACHE_TTL;
	pthread_mutex_unlock(&pf->pf_cache_lock);
	if (fresh)
		return SL_OK;
	rc = discover(&srv->sv_conf->c_banks[i], &ep, &jwks_uri, timeout, err);
	if (rc != SL_OK) {
		log_warn("bank %s: discovery failed: %s", srv->sv_conf->c_banks[i].bk_id, err->msg);
		return rc;
	}
	pthread_mutex_lock(&pf->pf_cache_lock);
	proof_endpoints_clear(&c->bc_ep);
	free(c->bc_jwks_uri);
	c->bc_ep = ep;
	c->bc_jwks_uri = jwks_uri;
	c->bc_disc_fetched = now;
	pthread_mutex_unlock(&pf->pf_cache_lock);
	return SL_OK;
}

int
proof_bank_endpoints(struct server *srv, int bank, int timeout, struct proof_endpoints *out, struct sl_err *err)
{
	struct proofing *pf = srv->sv_proofing;
	int rc = discovery_fresh(srv, bank, timeout, err);

	memset(out, 0, sizeof(*out));
	if (rc != SL_OK)
		return rc;
	pthread_mutex_lock(&pf->pf_cache_lock);
	*out = endpoints_copy(&pf->pf_cache[bank].bc_ep);
	pthread_mutex_unlock(&pf->pf_cache_lock);
	if (out->pe_authorization == NULL || out->pe_token == NULL) {
		proof_endpoints_clear(out);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	return SL_OK;
}

/* Import one JWK for each algorithm it may sign with.  A JWK without
 * "alg" says nothing of RS256 versus PS256, so an RSA key is imported for
 * both; the header's alg then picks.  Keys we cannot use are skipped. */
static void
import_jwk(json_t *jwk, struct jose_key **keys, size_t *n)
{
	static const char *const allowed[] = { "RS256", "PS256", "ES256", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	const char *try[3] = { alg, NULL, NULL };
	struct sl_err err;

	if (alg == NULL && kty != NULL && strcmp(kty, "RSA") == 0) {
		try[0] = "RS256";
		try[1] = "PS256";
	} else if (alg == NULL) {
		try[0] = "ES256";
	}
	for (int t = 0; try[t] != NULL && *n < PROOF_JWKS_MAX_KEYS; t++) {
		json_t *copy = json_deep_copy(jwk);
		json_object_set_new(copy, "alg", json_string(try[t]));
		keys[*n] = jose_key_from_jwk(copy, allowed, &err);
		json_decref(copy);
		if (keys[*n] != NULL)
			(*n)++;
	}
}

static int
jwks_fetch(struct server *srv, int i, int timeout, struct sl_err *err)
{
	struct proofing *pf = srv->sv_proofing;
	struct proof_bank_cache *c = &pf->pf_cache[i];
	struct jose_key *keys[PROOF_JWKS_MAX_KEYS];
	size_t n = 0;
	char *uri;
	json_t *doc, *list;
	int rc;

	pthread_mutex_lock(&pf->pf_cache_lock);
	uri = sl_strdup(c->bc_jwks_uri);
	pthread_mutex_unlock(&pf->pf_cache_lock);
	if (uri == NULL)
		return sl_fail(err, SL_EIO, "the bank's keys are not known yet");
	rc = fetch_json(&srv->sv_conf->c_banks[i], uri, timeout, &doc, err);
	free(uri);
	if (rc != SL_OK)
		return rc;
	list = json_object_get(doc, "keys");
	for (size_t k = 0; k < json_array_size(list); k++)
		import_jwk(json_array_get(list, k), keys, &n);
	json_decref(doc);
	pthread_mutex_lock(&pf->pf_cache_lock);
	keys_clear(c);
	memcpy(c->bc_keys, keys, n * sizeof(keys[0]));
	c->bc_nkeys = n;
	c->bc_jwks_fetched = sl_now();
	pthread_mutex_unlock(&pf->pf_cache_lock);
	return n > 0 ? SL_OK : sl_fail(err, SL_EINVAL, "the bank's JWKS holds no key we can use");
}

/* Does the cache hold a key for this token's header (alg and kid)? */
static bool
key_known(const struct proof_bank_cache *c, const char *id_token)
{
	json_t *hdr = jose_peek_header(id_token);
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	bool known = false;

	for (size_t i = 0; alg != NULL && i < c->bc_nkeys; i++)
		if (strcmp(jose_key_alg(c->bc_keys[i]), alg) == 0 &&
			(kid == NULL || strcmp(jose_key_kid(c->bc_keys[i]), kid) == 0))
			known = true;
	json_decref(hdr);
	return known;
}

int
proof_bank_verify(struct server *srv, int bank, const char *id_token, int timeout, json_t **claims, struct sl_err *err)
{
	struct proofing *pf = srv->sv_proofing;
	struct proof_bank_cache *c = &pf->pf_cache[bank];
	int64_t now = sl_now();
	bool stale;
	int rc;

	*claims = NULL;
	pthread_mutex_lock(&pf->pf_cache_lock);
	stale = c->bc_nkeys == 0 || now - c->bc_jwks_fetched >= PROOF_CACHE_TTL;
	pthread_mutex_unlock(&pf->pf_cache_lock);
	if (stale && (rc = jwks_fetch(srv, bank, timeout, err)) != SL_OK)
		return rc;
	for (int attempt = 0;; attempt++) {
		bool refetch;
		pthread_mutex_lock(&pf->pf_cache_lock);
		rc = jose_verify(id_token, c->bc_keys, c->bc_nkeys, claims, err);
		refetch = attempt == 0 && rc == SL_EDENIED && !key_known(c, id_token) &&
			  now - c->bc_jwks_refetched >= PROOF_JWKS_REFRESH;
		if (refetch)
			c->bc_jwks_refetched = now;
		pthread_mutex_unlock(&pf->pf_cache_lock);
		if (!refetch || attempt > 0)
			return rc;
		if ((rc = jwks_fetch(srv, bank, timeout, err)) != SL_OK)
			return rc;
	}
}
