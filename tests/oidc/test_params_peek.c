/*
 * test_params_peek.c — oidc_params_peek (src/oidc/params_peek.c) gives
 * what json_loads of the whole stored object gives for the members asked,
 * on the flat objects sleuteld writes and on everything it falls back for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/oidc/oidc_int.h"

static const char *const keys[] = { "ui_locales", "authorization_details", NULL };

/* peek(json) has exactly the asked members of json_loads(json). */
static void
same_as_jansson(const char *json)
{
	json_t *all = json_loads(json, 0, NULL), *got = oidc_params_peek(json, keys);
	size_t want = 0;

	if (!json_is_object(all)) {
		assert_null(got);
		assert_null(oidc_params_peek(json, NULL));
		json_decref(all);
		return;
	}
	assert_non_null(got);
	for (size_t i = 0; keys[i] != NULL; i++) {
		json_t *a = json_object_get(all, keys[i]);
		if (a != NULL) {
			want++;
			assert_true(json_equal(a, json_object_get(got, keys[i])));
		}
	}
	assert_int_equal(json_object_size(got), want);
	json_decref(got);
	/* every member (keys NULL): the whole object, equal */
	got = oidc_params_peek(json, NULL);
	assert_non_null(got);
	assert_true(json_equal(all, got));
	json_decref(all);
	json_decref(got);
}

/* peek(json, NULL) is json_loads(json): here for texts where the members
 * not asked for would not be checked with a list (params_peek.c). */
static void
all_as_jansson(const char *json)
{
	json_t *all = json_loads(json, 0, NULL), *got = oidc_params_peek(json, NULL);

	if (json_is_object(all))
		assert_true(json_equal(all, got));
	else
		assert_null(got);
	json_decref(all);
	json_decref(got);
}

static void
test_flat_objects(void **state)
{
	(void)state;
	same_as_jansson("{}");
	same_as_jansson("{\"scope\":\"openid\"}");
	same_as_jansson("{\"scope\":\"openid\",\"ui_locales\":\"nl-BE fr\",\"state\":\"x\"}");
	same_as_jansson("{\"ui_locales\":\"fr\",\"authorization_details\":\"[{\\\"type\\\":\\\"p\\\"}]\"}");
	/* escapes and UTF-8 decoded by jansson; a quote or a key's name
	 * inside another value is not a member */
	same_as_jansson("{\"ui_locales\":\"d\\u00e9 \\\"x\\\" \\\\\",\"s\":\"\\\\\"}");
	same_as_jansson("{\"state\":\"\\\",\\\"ui_locales\\\":\\\"fr\",\"nonce\":\"ui_locales\"}");
	same_as_jansson("{\"state\":\"caf\xc3\xa9\",\"ui_locales\":\"\xc3\xa9\"}");
	/* what sleuteld stores for a login: every member a plain string */
	same_as_jansson("{\"response_type\":\"code\",\"client_id\":\"c1\",\"redirect_uri\":\"https://rp.example/cb\","
			"\"scope\":\"openid profile\",\"state\":\"s\",\"nonce\":\"n\",\"code_challenge\":\"abc\","
			"\"code_challenge_method\":\"S256\",\"\":\"\"}");
	/* a later member of the same name wins, as in jansson */
	same_as_jansson("{\"ui_locales\":\"nl\",\"ui_locales\":\"fr\"}");
}

static void
test_falls_back(void **state)
{
	json_t *got;

	(void)state;
	/* not strings, nested, whitespace: jansson's answer all the same */
	same_as_jansson("{\"max_age\":30,\"ui_locales\":\"nl\"}");
	same_as_jansson("{\"ui_locales\":[\"nl\"],\"x\":{\"ui_locales\":\"fr\"}}");
	same_as_jansson("{ \"ui_locales\" : \"nl\" }");
	same_as_jansson("{\"ui_locales\":null}");
	/* not an object, or broken */
	same_as_jansson("[\"ui_locales\"]");
	same_as_jansson("{\"ui_locales\":\"nl\"");
	same_as_jansson("{\"ui_locales\":\"nl\"}x");
	same_as_jansson("{\"ui_locales\":\"n\\");
	same_as_jansson("{\"ui_locales\":\"\xff\"}");
	/* bad UTF-8, a control character, an escaped NUL in a value that is
	 * not asked for: the walk over every member checks them as jansson does */
	all_as_jansson("{\"state\":\"\xc3\",\"ui_locales\":\"nl\"}");
	all_as_jansson("{\"state\":\"\xed\xa0\x80\"}");
	all_as_jansson("{\"state\":\"a\tb\"}");
	all_as_jansson("{\"state\":\"a\\u0000b\"}");
	/* a name with an escape, even one that decodes to a name asked */
	same_as_jansson("{\"ui\\u005flocales\":\"fr\"}");
	same_as_jansson("{\"a\\\"b\":\"x\"}");
	/* a name longer than the walk keeps */
	same_as_jansson("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":\"x\"}");
	same_as_jansson("");
	assert_null(oidc_params_peek(NULL, keys));
	/* another list of members */
	got = oidc_params_peek("{\"s\":\"1\"}", (const char *const[]){ "s", NULL });
	assert_string_equal(json_string_value(json_object_get(got, "s")), "1");
	json_decref(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flat_objects),
		cmocka_unit_test(test_falls_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
