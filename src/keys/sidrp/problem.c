/*
 * problem.c — the RP API's error answers: RFC 9457 problem members sent
 * as application/json, as the hosted service sends them (SK's RP API 3.2,
 * ExtendedProblemDetailsJson):
 *
 *   {"type": "about:blank", "title": <status phrase>, "status": N,
 *    "detail": "...", "errors": [...]}
 *
 * A 400 names the member at fault: errors [{detail, paramName, pointer}]
 * (pointer RFC 6901: "a.b" is "/a/b"); a coded 404 carries errors
 * [{code, detail}].  v2 answers with the same bodies, plus 471 and 472.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sidrp_int.h"

static const char *
status_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 471: return "No Suitable Account";
	case 472: return "Person Should View App";
	case 480: return "Client Too Old";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static json_t *
param_error(const struct sidrp_problem *pr)
{
	char pointer[sizeof(pr->sp_param) + 1];

	snprintf(pointer, sizeof(pointer), "/%s", pr->sp_param);
	for (char *p = pointer; *p; p++)
		if (*p == '.')
			*p = '/';
	return json_pack("{s:s,s:s,s:s}", "detail", pr->sp_detail, "paramName", pr->sp_param, "pointer", pointer);
}

void
sidrp_send_problem(struct http_request *rq, const struct sidrp_problem *pr)
{
	int status = pr->sp_status ? pr->sp_status : 500;
	const char *title = status_title(status);
	json_t *body, *errors = NULL;
	const char *detail = pr->sp_detail[0] ? pr->sp_detail : title;

	if (status == 400) {
		errors = json_array();
		if (pr->sp_param[0] != '\0') {
			json_array_append_new(errors, param_error(pr));
			detail = "Invalid request parameters found";
		}
	} else if (pr->sp_code[0] != '\0') {
		errors = json_pack("[{s:s,s:s}]", "code", pr->sp_code, "detail", detail);
		detail = title;
	}
	body = json_pack(
		"{s:s,s:s,s:i,s:s}", "type", "about:blank", "title", title, "status", status, "detail", detail);
	if (body != NULL && errors != NULL)
		json_object_set_new(body, "errors", errors);
	else
		json_decref(errors);
	http_send_json(rq, status, body);
}

void
sidrp_fail(struct http_request *rq, int status, const char *code, const char *param, const char *fmt, ...)
{
	struct sidrp_problem pr;
	va_list ap;

	memset(&pr, 0, sizeof(pr));
	pr.sp_status = status;
	sl_strlcpy(pr.sp_code, code ? code : "", sizeof(pr.sp_code));
	sl_strlcpy(pr.sp_param, param ? param : "", sizeof(pr.sp_param));
	va_start(ap, fmt);
	vsnprintf(pr.sp_detail, sizeof(pr.sp_detail), fmt, ap);
	va_end(ap);
	sidrp_send_problem(rq, &pr);
}
