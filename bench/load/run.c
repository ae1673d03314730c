/*
 * run.c — the timed window: W threads each run an operation in a loop
 * until the time or the count is up; the server's CPU is read from /proc
 * right before the threads start and right after the last one ended, so
 * CPU per operation covers exactly the operations counted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl.h"

void
bl_lat_add(struct bl_lat *l, double ms)
{
	if (l->l_n == l->l_cap) {
		size_t cap = l->l_cap ? l->l_cap * 2 : 1024;
		double *n;
		if (cap > BL_LAT_MAX || (n = realloc(l->l_ms, cap * sizeof(*n))) == NULL)
			return;
		l->l_ms = n;
		l->l_cap = cap;
	}
	l->l_ms[l->l_n++] = ms;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bl_lat_pct(struct bl_lat *l, double p)
{
	size_t i;

	if (l->l_n == 0)
		return -1;
	qsort(l->l_ms, l->l_n, sizeof(double), cmp_d);
	i = (size_t)((double)l->l_n * p);
	return l->l_ms[i < l->l_n ? i : l->l_n - 1];
}

void
bl_lat_free(struct bl_lat *l)
{
	free(l->l_ms);
	memset(l, 0, sizeof(*l));
}

struct run_shared {
	bl_op_fn rs_op;
	void *rs_ctx;
	double rs_until;
	long rs_max;
	atomic_long rs_started, rs_done, rs_failed;
};

struct run_worker {
	struct run_shared *rw_sh;
	int rw_id;
	struct bl_lat rw_lat, rw_aux;
	pthread_t rw_thread;
};

static void *
worker(void *arg)
{
	struct run_worker *w = arg;
	struct run_shared *sh = w->rw_sh;

	while (bl_now() < sh->rs_until && atomic_fetch_add(&sh->rs_started, 1) < sh->rs_max) {
		double t0 = bl_now();
		int ok = sh->rs_op(sh->rs_ctx, w->rw_id, &w->rw_aux);
		bl_lat_add(&w->rw_lat, (bl_now() - t0) * 1000);
		if (ok)
			atomic_fetch_add(&sh->rs_done, 1);
		else
			atomic_fetch_add(&sh->rs_failed, 1);
	}
	return NULL;
}

static void
merge(struct bl_lat *into, const struct bl_lat *from)
{
	for (size_t i = 0; i < from->l_n; i++)
		bl_lat_add(into, from->l_ms[i]);
}

int
bl_run_timed(
	const struct bl_opts *o, int workers, bl_op_fn op, void *ctx, const pid_t *pids, int n, struct bl_result *r)
{
	struct run_shared sh = { .rs_op = op, .rs_ctx = ctx, .rs_max = o->o_max };
	struct run_worker *ws = calloc((size_t)workers, sizeof(*ws));
	struct bl_lat all = { 0 }, aux = { 0 };
	double cpu0 = 0, cpu1 = 0, split0 = 0, split1 = 0, kids0 = 0, kids1 = 0, t0, t1;

	if (ws == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		double c = bl_cpu(pids[i]);
		cpu0 += c;
		split0 += i >= r->r_split && r->r_split > 0 ? c : 0;
		kids0 += i < r->r_split || r->r_split == 0 ? bl_cpu_children(pids[i]) : 0;
	}
	t0 = bl_now();
	sh.rs_until = t0 + o->o_seconds;
	for (int i = 0; i < workers; i++) {
		ws[i].rw_sh = &sh;
		ws[i].rw_id = i;
		pthread_create(&ws[i].rw_thread, NULL, worker, &ws[i]);
	}
	for (int i = 0; i < workers; i++) {
		pthread_join(ws[i].rw_thread, NULL);
		merge(&all, &ws[i].rw_lat);
		merge(&aux, &ws[i].rw_aux);
		bl_lat_free(&ws[i].rw_lat);
		bl_lat_free(&ws[i].rw_aux);
	}
	t1 = bl_now();
	for (int i = 0; i < n; i++) {
		double c = bl_cpu(pids[i]);
		cpu1 += c;
		split1 += i >= r->r_split && r->r_split > 0 ? c : 0;
		kids1 += i < r->r_split || r->r_split == 0 ? bl_cpu_children(pids[i]) : 0;
	}
	free(ws);
	r->r_done = atomic_load(&sh.rs_done);
	r->r_failed = atomic_load(&sh.rs_failed);
	r->r_seconds = t1 - t0;
	r->r_rate = r->r_done / r->r_seconds;
	r->r_cpu_us = r->r_done > 0 ? (cpu1 - cpu0) * 1e6 / (double)r->r_done : -1;
	r->r_cpu_split_us = r->r_done > 0 ? (split1 - split0) * 1e6 / (double)r->r_done : -1;
	r->r_cpu_kids_us = r->r_done > 0 ? (kids1 - kids0) * 1e6 / (double)r->r_done : -1;
	r->r_p50 = bl_lat_pct(&all, 0.5);
	r->r_p99 = bl_lat_pct(&all, 0.99);
	r->r_p999 = bl_lat_pct(&all, 0.999);
	r->r_aux50 = bl_lat_pct(&aux, 0.5);
	r->r_aux99 = bl_lat_pct(&aux, 0.99);
	r->r_aux999 = bl_lat_pct(&aux, 0.999);
	bl_lat_free(&all);
	bl_lat_free(&aux);
	return 0;
}
