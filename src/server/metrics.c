/*
 * metrics.c — counters for /metrics, in the Prometheus text format.
 * Requests are counted by route and status, with a latency histogram per
 * route; logins by key and result.  All counters are atomics in fixed
 * arrays: no lock, no allocation on the request path.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define M_ROUTES 128
static const int m_statuses[] = { 200, 201, 204, 302, 303, 400, 401, 403, 404, 405, 413, 429, 500, 503 };
#define M_NSTATUS (sizeof(m_statuses) / sizeof(m_statuses[0]))
static const double m_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30 };
#define M_NBUCKETS (sizeof(m_buckets) / sizeof(m_buckets[0]))
static const char *const m_keys[] = { "eid", "app", "smartid", "test", "sso" };
#define M_NKEYS (sizeof(m_keys) / sizeof(m_keys[0]))
static const char *const m_results[] = { "ok", "denied", "failed" };
#define M_NRESULTS (sizeof(m_results) / sizeof(m_results[0]))

struct metrics {
	/* index M_ROUTES counts requests that matched no route; the last
	 * status column counts any status not in the list */
	atomic_ulong m_requests[M_ROUTES + 1][M_NSTATUS + 1];
	atomic_ulong m_latency[M_ROUTES + 1][M_NBUCKETS + 1];
	atomic_ulong m_latency_sum_us[M_ROUTES + 1];
	atomic_ulong m_logins[M_NKEYS][M_NRESULTS];
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_request(struct metrics *m, int route, int status, int64_t latency_us)
{
	size_t r = route >= 0 && route < M_ROUTES ? (size_t)route : M_ROUTES, s = M_NSTATUS, b = 0;
	double secs = (double)latency_us / 1e6;

	for (size_t i = 0; i < M_NSTATUS; i++)
		if (m_statuses[i] == status)
			s = i;
	while (b < M_NBUCKETS && secs > m_buckets[b])
		b++;
	atomic_fetch_add(&m->m_requests[r][s], 1);
	atomic_fetch_add(&m->m_latency[r][b], 1);
	atomic_fetch_add(&m->m_latency_sum_us[r], (unsigned long)(latency_us > 0 ? latency_us : 0));
}

void
metrics_login(struct metrics *m, const char *key, const char *result)
{
	size_t k = M_NKEYS, r = M_NRESULTS - 1;

	for (size_t i = 0; i < M_NKEYS; i++)
		if (key && strcmp(key, m_keys[i]) == 0)
			k = i;
	for (size_t i = 0; i < M_NRESULTS; i++)
		if (result && strcmp(result, m_results[i]) == 0)
			r = i;
	if (k < M_NKEYS)
		atomic_fetch_add(&m->m_logins[k][r], 1);
}

/* The route table an index counts; routes past M_ROUTES share "unmatched". */
struct route_names {
	const struct http_route *rn_routes;
	size_t rn_n;
};

static const char *
route_name(const struct route_names *rn, size_t r)
{
	return r < rn->rn_n && r < M_ROUTES ? rn->rn_routes[r].hr_path : "unmatched";
}

static void
render_requests(struct metrics *m, const struct route_names *rn, struct sl_buf *b)
{
	sl_buf_adds(b, "# HELP sleutel_http_requests_total HTTP requests by route and status.\n"
		       "# TYPE sleutel_http_requests_total counter\n");
	for (size_t r = 0; r <= M_ROUTES; r++) {
		for (size_t s = 0; s <= M_NSTATUS; s++) {
			unsigned long v = atomic_load(&m->m_requests[r][s]);
			if (v == 0)
				continue;
			if (s < M_NSTATUS)
				sl_buf_addf(b, "sleutel_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
					route_name(rn, r), m_statuses[s], v);
			else
				sl_buf_addf(b, "sleutel_http_requests_total{route=\"%s\",status=\"other\"} %lu\n",
					route_name(rn, r), v);
		}
	}
}

static void
render_latency(struct metrics *m, const struct route_names *rn, struct sl_buf *b)
{
	sl_buf_adds(b, "# HELP sleutel_http_request_duration_seconds Time to answer, by route.\n"
		       "# TYPE sleutel_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= M_ROUTES; r++) {
		unsigned long cum = 0;
		for (size_t i = 0; i <= M_NBUCKETS; i++)
			cum += atomic_load(&m->m_latency[r][i]);
		if (cum == 0)
			continue;
		cum = 0;
		for (size_t i = 0; i < M_NBUCKETS; i++) {
			cum += atomic_load(&m->m_latency[r][i]);
			sl_buf_addf(b, "sleutel_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
				route_name(rn, r), m_buckets[i], cum);
		}
		cum += atomic_load(&m->m_latency[r][M_NBUCKETS]);
		sl_buf_addf(b, "sleutel_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
			route_name(rn, r), cum);
		sl_buf_addf(b, "sleutel_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_name(rn, r),
			(double)atomic_load(&m->m_latency_sum_us[r]) / 1e6);
		sl_buf_addf(
			b, "sleutel_http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_name(rn, r), cum);
	}
}

char *
metrics_render(struct metrics *m, const struct http_route *routes, size_t nroutes, size_t waiters)
{
	struct route_names rn = { routes, nroutes };
	struct sl_buf b;

	sl_buf_init(&b, 1 << 20);
	render_requests(m, &rn, &b);
	render_latency(m, &rn, &b);
	sl_buf_adds(&b, "# HELP sleutel_logins_total Finished logins by key and result.\n"
			"# TYPE sleutel_logins_total counter\n");
	for (size_t k = 0; k < M_NKEYS; k++)
		for (size_t r = 0; r < M_NRESULTS; r++)
			sl_buf_addf(&b, "sleutel_logins_total{key=\"%s\",result=\"%s\"} %lu\n", m_keys[k], m_results[r],
				atomic_load(&m->m_logins[k][r]));
	sl_buf_addf(&b,
		"# HELP sleutel_waiters Requests suspended in the waiter registry.\n"
		"# TYPE sleutel_waiters gauge\nsleutel_waiters %zu\n",
		waiters);
	return sl_buf_take(&b);
}
