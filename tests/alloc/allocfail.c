/*
 * allocfail.c — an LD_PRELOAD interposer that makes the Nth heap
 * allocation of the code under test fail, for tests/alloc/sweep.py.
 *
 * What it catches.  malloc, calloc, realloc, reallocarray, strdup, strndup,
 * posix_memalign and aligned_alloc, found with dlsym(RTLD_NEXT): our code,
 * glibc's internal callers (asprintf, getline, ...), and every library that
 * allocates through them — OpenSSL, jansson, SQLite, cjose, libcurl,
 * libmicrohttpd.  strdup, strndup and reallocarray are interposed as well
 * because AddressSanitizer intercepts them without calling malloc; with the
 * sanitizer build this library comes first in LD_PRELOAD
 * (ASAN_OPTIONS=verify_asan_link_order=0), so the allocations it lets
 * through are ASan's, and LeakSanitizer sees every leak.
 *
 * Which allocations count.  Only those of the code under test, so that an
 * injected failure is one src/ has to handle, never one a test's own set-up
 * would trip on:
 *   - armed only while a cmocka test body runs: this library wraps
 *     _cmocka_run_group_tests and replaces each test function by a
 *     trampoline that arms the counter around the original (per-test and
 *     group fixtures stay unarmed);
 *   - and only when the innermost frame of the allocation's stack that lies
 *     in the test executable is NOT test code.  The test executable holds
 *     both the test file and the src/ libraries; the address ranges of the
 *     functions defined in tests/ come from ALLOCFAIL_TESTCODE (written by
 *     sweep.py with `nm -l`).  So OpenSSL called by src/crypto counts, and
 *     OpenSSL or strdup called by the test file itself does not.
 *
 * Which allocation fails.  Either by its number, or by its call path:
 *   - ALLOCFAIL_N: the Nth counted allocation of the run.  Deterministic
 *     only when the code is: RSA key generation (the prime search) makes a
 *     different number of allocations each run, so after one the same N
 *     names another allocation;
 *   - ALLOCFAIL_PATH and ALLOCFAIL_K: the Kth allocation made from call
 *     path PATH, a hash of the executable's return addresses from the
 *     allocation out to the first frame in test code, each as its offset
 *     from the executable's load address (so stable under ASLR, for one
 *     build of the executable).  Library frames do not enter the hash:
 *     the thousands of allocations inside one OpenSSL call made from one
 *     place of src/ are one path, and its first and second allocation are
 *     the same ones in every run, however many the prime search makes
 *     later.
 *
 * Environment:
 *   ALLOCFAIL_N         fail the Nth counted allocation (once); 0 or unset:
 *                       count only (unless ALLOCFAIL_PATH is set)
 *   ALLOCFAIL_PATH      fail an allocation of this call path (hex, as the
 *                       "pick" lines give it) ...
 *   ALLOCFAIL_K         ... the Kth of that path (default 1), once
 *   ALLOCFAIL_FROM      walk no stack (count nothing) before the test
 *                       body's allocation of this index, counted or not
 *                       (the pick line's fourth number): a pick late in a
 *                       test of millions of allocations then takes no
 *                       millions of stack walks; K counts from there.
 *                       The same allocation only when the test's
 *                       allocations are the same from run to run
 *   ALLOCFAIL_TEST      run only the cmocka test of this name
 *   ALLOCFAIL_PER_SITE  when counting: report as "pick N PATH I" (its
 *                       number in the test body, its path, the Ith of that
 *                       path) the first K
 *                       allocations (default 2) of each distinct call path
 *                       in src/ (the return addresses of the executable's
 *                       frames up to the first in test code: the library
 *                       frames inside, and the test's caller, left out);
 *                       a loop allocating at the same place is then failed
 *                       at its first and second turn, not at each, and a
 *                       path many tests take is failed in the first two
 *   ALLOCFAIL_TESTCODE  file of "offset size" lines (hex, relative to the
 *                       executable's load address): the test code
 *   ALLOCFAIL_REPORT    file this library appends its results to:
 *                       "test NAME COUNT MS" after each test body (its
 *                       counted allocations, its milliseconds), and
 *                       "fail N PATH K" plus "frame OBJECT OFFSET" lines
 *                       for the allocation it failed; on a crash "crash SIGNAL
 *                       test|src" (whose code the innermost frame in the
 *                       executable is), "late" after it when the test
 *                       group had returned (a thread a test left running),
 *                       and its frames
 *
 * Crashes.  cmocka turns SIGSEGV & co. into a failed test and hides where
 * they happened, so signal() is refused for those signals; this library's
 * own handler reports the frames instead (replacing AddressSanitizer's,
 * whose memory-error reports do not need a signal), then dies by it.  A
 * crash in test code (a test that, say, strcmp()s the NULL the code under
 * test rightly returned) is the test's, not a finding.
 *
 * No global state of the project is touched; this file is test tooling and
 * is built by sweep.py (unsanitized, whatever the build under test is).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>

/* cmocka's test descriptor and runner (cmocka.h, 1.1): declared here so
 * that the interposer builds without cmocka's headers. */
typedef void (*af_test_fn)(void **state);
typedef int (*af_fixture_fn)(void **state);
struct af_unit_test {
	const char *name;
	af_test_fn test_func;
	af_fixture_fn setup_func;
	af_fixture_fn teardown_func;
	void *initial_state;
};
typedef int (*af_run_group_fn)(const char *, const struct af_unit_test *, size_t, af_fixture_fn, af_fixture_fn);

#define AF_MAX_RANGES 4096 /* test-code functions of one executable */
#define AF_MAX_TESTS 1024 /* test bodies one group may hold */
#define AF_MAX_FRAMES 64 /* frames walked to find the executable */
#define AF_REPORT_FRAMES 24 /* frames written for the failed allocation */
#define AF_BOOT_SIZE 65536 /* dlsym's own allocations before the real ones */
#define AF_PATH_FRAMES 24 /* frames of a path written for its first pick */
#define AF_SITES 65536 /* distinct call paths one run may see (power of 2) */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static af_run_group_fn real_run_group;

/* Allocations made while dlsym resolves the real functions. */
static _Alignas(16) unsigned char af_boot[AF_BOOT_SIZE];
static size_t af_boot_used;

static uintptr_t af_exe_lo, af_exe_hi, af_exe_base;
static uintptr_t af_range_lo[AF_MAX_RANGES], af_range_hi[AF_MAX_RANGES];
static size_t af_nranges;
static long af_fail_at;
static uint64_t af_fail_path; /* 0: by number (af_fail_at) */
static long af_fail_k = 1;
static atomic_long af_path_seen; /* allocations of af_fail_path so far */
static int af_report_fd = -1;
static const char *af_only_test;

static long af_per_site = 2;
static uint64_t af_site_key[AF_SITES];
static unsigned af_site_hits[AF_SITES];
/* The same paths' allocations in the running test body: a pick's K is its
 * occurrence there (the sweep runs that test alone). */
static uint64_t af_body_key[AF_SITES];
static unsigned af_body_hits[AF_SITES];
static atomic_flag af_site_lock = ATOMIC_FLAG_INIT;
static long af_test_base;
/* Every allocation of the test body, counted or not (no stack walk): where
 * a giant test's run may start walking stacks (ALLOCFAIL_FROM). */
static atomic_long af_raw;
static long af_raw_base, af_walk_from;

static atomic_int af_armed;
static atomic_long af_count;
static atomic_int af_failed_once;
/* The test group has returned: a crash now is in a thread a test left
 * running, past its end (the process exiting under it: OPENSSL_cleanup()
 * has freed what it uses), reported as "crash SIG WHERE late". */
static atomic_int af_group_over;
/* initial-exec: reaching it must not allocate. */
static _Thread_local int af_in_hook __attribute__((tls_model("initial-exec")));

static const struct af_unit_test *af_orig_tests;

static void
af_report(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (af_report_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(af_report_fd, line, (size_t)n);
}

static void *
af_boot_alloc(size_t size)
{
	size_t at = (af_boot_used + 15) & ~(size_t)15;

	if (at + size > sizeof(af_boot))
		return NULL;
	af_boot_used = at + size;
	return af_boot + at;
}

/* Boot memory aligned to ALIGN (a power of two, at most 4096). */
static void *
af_boot_alloc_aligned(size_t align, size_t size)
{
	size_t at;

	if (align < 16)
		align = 16;
	if (align > 4096 || (align & (align - 1)) != 0)
		return NULL;
	at = ((uintptr_t)(af_boot + af_boot_used) + align - 1) & ~(uintptr_t)(align - 1);
	at -= (uintptr_t)af_boot;
	if (at + size > sizeof(af_boot))
		return NULL;
	af_boot_used = at + size;
	return af_boot + at;
}

static int
af_is_boot(const void *p)
{
	return (const unsigned char *)p >= af_boot && (const unsigned char *)p < af_boot + sizeof(af_boot);
}

static int
af_find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* The first object is the executable. */
	af_exe_base = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_X) == 0)
			continue;
		if (af_exe_lo == 0 || lo < af_exe_lo)
			af_exe_lo = lo;
		if (lo + ph->p_memsz > af_exe_hi)
			af_exe_hi = lo + ph->p_memsz;
	}
	return 1;
}

static void
af_load_ranges(const char *path)
{
	char buf[256];
	size_t len = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* Line by line without stdio, which would allocate. */
	for (;;) {
		char *nl;

		got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got > 0)
			len += (size_t)got;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl == NULL && got <= 0)
			break;
		if (nl == NULL)
			nl = buf + len;
		*nl = '\0';
		if (af_nranges < AF_MAX_RANGES) {
			char *end;
			unsigned long off = strtoul(buf, &end, 16);
			unsigned long sz = strtoul(end, NULL, 16);

			if (end != buf && sz > 0) {
				af_range_lo[af_nranges] = af_exe_base + off;
				af_range_hi[af_nranges] = af_exe_base + off + sz;
				af_nranges++;
			}
		}
		size_t used = (size_t)(nl - buf) + (nl < buf + len ? 1 : 0);
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	close(fd);
}

static void af_catch_crashes(void);

/* The real allocator, found on first use: a library's constructor may
 * allocate before af_init runs (GLib's, with posix_memalign).  While dlsym
 * itself allocates, the boot arena serves. */
static void
af_resolve(void)
{
	static int resolving;

	if (real_free != NULL || resolving)
		return;
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

/* The programs the code under test runs (softhsm2-util, pkcs11-tool) are
 * not under test: LD_PRELOAD without this library for them. */
static void
af_leave_children_alone(void)
{
	const char *pre = getenv("LD_PRELOAD");
	char rest[4096];
	size_t len = 0;

	if (pre == NULL || strlen(pre) >= sizeof(rest))
		return;
	for (const char *p = pre; *p != '\0';) {
		size_t n = strcspn(p, " :");

		if (n > 0 && memmem(p, n, "liballocfail", 12) == NULL) {
			if (len > 0)
				rest[len++] = ' ';
			memcpy(rest + len, p, n);
			len += n;
		}
		p += n;
		p += strspn(p, " :");
	}
	rest[len] = '\0';
	if (len == 0)
		unsetenv("LD_PRELOAD");
	else
		setenv("LD_PRELOAD", rest, 1);
}

__attribute__((constructor)) static void
af_init(void)
{
	const char *s;

	af_in_hook = 1;
	af_resolve();
	real_run_group = (af_run_group_fn)dlsym(RTLD_NEXT, "_cmocka_run_group_tests");
	af_leave_children_alone();
	dl_iterate_phdr(af_find_exe, NULL);
	s = getenv("ALLOCFAIL_TESTCODE");
	if (s != NULL)
		af_load_ranges(s);
	s = getenv("ALLOCFAIL_N");
	af_fail_at = s != NULL ? strtol(s, NULL, 10) : 0;
	s = getenv("ALLOCFAIL_PATH");
	af_fail_path = s != NULL ? strtoull(s, NULL, 16) : 0;
	s = getenv("ALLOCFAIL_FROM");
	if (s != NULL)
		af_walk_from = strtol(s, NULL, 10);
	s = getenv("ALLOCFAIL_K");
	if (s != NULL)
		af_fail_k = strtol(s, NULL, 10);
	af_only_test = getenv("ALLOCFAIL_TEST");
	s = getenv("ALLOCFAIL_PER_SITE");
	if (s != NULL)
		af_per_site = strtol(s, NULL, 10);
	s = getenv("ALLOCFAIL_REPORT");
	if (s != NULL)
		af_report_fd = open(s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	af_catch_crashes();
	/* Load the unwinder now, not inside the first counted allocation. */
	void *warm = real_malloc(1);
	real_free(warm);
	af_in_hook = 0;
}

/* The innermost frame in the executable decides: 1 when it is the code
 * under test (count the allocation), 0 when it is test code or absent. */
struct af_walk {
	int depth;
	int verdict;
	uint64_t key; /* FNV-1a of the executable's return addresses */
	int nframes;
	unsigned long frame[AF_PATH_FRAMES]; /* those addresses, as offsets */
};

static int
af_in_test_code(uintptr_t ip)
{
	for (size_t i = 0; i < af_nranges; i++) {
		if (ip >= af_range_lo[i] && ip < af_range_hi[i])
			return 1;
	}
	return 0;
}

static _Unwind_Reason_Code
af_walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct af_walk *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);

	if (++w->depth > AF_MAX_FRAMES || ip == 0)
		return _URC_END_OF_STACK;
	ip--; /* the call, not the instruction after it */
	if (ip < af_exe_lo || ip >= af_exe_hi)
		return _URC_NO_REASON;
	if (af_in_test_code(ip))
		return _URC_END_OF_STACK; /* the call path in src/ ends here */
	if (w->key == 0) {
		/* The innermost frame in the executable is src/: count it. */
		w->verdict = 1;
		w->key = 1469598103934665603ULL;
	}
	w->key = (w->key ^ (ip - af_exe_base)) * 1099511628211ULL;
	if (w->nframes < AF_PATH_FRAMES)
		w->frame[w->nframes++] = (unsigned long)(ip - af_exe_base);
	return _URC_NO_REASON;
}

static _Unwind_Reason_Code
af_report_frame(struct _Unwind_Context *ctx, void *arg)
{
	int *depth = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
	Dl_info info;

	if (++*depth > AF_REPORT_FRAMES || ip == 0)
		return _URC_END_OF_STACK;
	ip--;
	/* The unwinder gives addresses as integers. */
	if (dladdr((void *)ip, &info) != 0 /* NOLINT(performance-no-int-to-ptr) */ && info.dli_fname != NULL)
		af_report("frame %s %lx\n", info.dli_fname, (unsigned long)(ip - (uintptr_t)info.dli_fbase));
	return _URC_NO_REASON;
}

/* Count one more allocation of this call path; when counting, report the
 * first af_per_site of each as candidates for the sweep, and on its first
 * the path's frames ("path KEY OFFSET..."): the sweep names a path by its
 * functions, which stay the same from one build to the next. */
static void
af_note_site(const struct af_walk *w, long n)
{
	uint64_t key = w->key;
	size_t i = (size_t)key & (AF_SITES - 1);
	int pick = 0, first = 0;
	unsigned occurrence = 0;

	while (atomic_flag_test_and_set(&af_site_lock))
		;
	for (size_t probes = 0; probes < AF_SITES; probes++, i = (i + 1) & (AF_SITES - 1)) {
		if (af_site_key[i] == key || af_site_key[i] == 0) {
			first = af_site_key[i] == 0;
			af_site_key[i] = key;
			if (af_site_hits[i] < (unsigned long)af_per_site)
				pick = (int)++af_site_hits[i];
			break;
		}
	}
	i = (size_t)key & (AF_SITES - 1);
	for (size_t probes = 0; probes < AF_SITES; probes++, i = (i + 1) & (AF_SITES - 1)) {
		if (af_body_key[i] == key || af_body_key[i] == 0) {
			af_body_key[i] = key;
			occurrence = ++af_body_hits[i];
			break;
		}
	}
	atomic_flag_clear(&af_site_lock);
	if (first) {
		char line[AF_PATH_FRAMES * 17 + 32];
		int len = snprintf(line, sizeof(line), "path %016llx", (unsigned long long)key);

		for (int f = 0; f < w->nframes && len > 0 && (size_t)len < sizeof(line); f++)
			len += snprintf(line + len, sizeof(line) - (size_t)len, " %lx", w->frame[f]);
		af_report("%s\n", line);
	}
	if (pick)
		af_report("pick %ld %016llx %u %ld\n", n - af_test_base, (unsigned long long)key, occurrence,
			atomic_load(&af_raw) - 1 - af_raw_base);
}

static const int af_crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS };

static _Unwind_Reason_Code
af_crash_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct af_walk *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);

	if (++w->depth > AF_MAX_FRAMES || ip == 0)
		return _URC_END_OF_STACK;
	if (ip - 1 >= af_exe_lo && ip - 1 < af_exe_hi) {
		w->verdict = af_in_test_code(ip - 1) ? 1 : 2;
		return _URC_END_OF_STACK;
	}
	return _URC_NO_REASON;
}

static void
af_on_crash(int sig)
{
	struct af_walk w = { .depth = 0 };
	int depth = 0;

	af_in_hook = 1;
	_Unwind_Backtrace(af_crash_frame, &w);
	af_report("crash %d %s%s\n", sig, w.verdict == 1 ? "test" : "src", atomic_load(&af_group_over) ? " late" : "");
	_Unwind_Backtrace(af_report_frame, &depth);
	raise(sig); /* SA_RESETHAND: the default action now */
}

static int
af_is_crash_signal(int sig)
{
	for (size_t i = 0; i < sizeof(af_crash_signals) / sizeof(af_crash_signals[0]); i++) {
		if (af_crash_signals[i] == sig)
			return 1;
	}
	return 0;
}

/* cmocka's exception handlers would hide the crash: keep ours. */
sighandler_t
signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real_signal)(int, sighandler_t);

	if (af_is_crash_signal(sig))
		return SIG_DFL;
	if (real_signal == NULL)
		real_signal = (sighandler_t(*)(int, sighandler_t))dlsym(RTLD_NEXT, "signal");
	return real_signal(sig, handler);
}

static void
af_catch_crashes(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = af_on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (size_t i = 0; i < sizeof(af_crash_signals) / sizeof(af_crash_signals[0]); i++)
		sigaction(af_crash_signals[i], &sa, NULL);
}

/* 1 when this allocation is the one to fail. */
static int
af_should_fail(void)
{
	struct af_walk w = { .depth = 0 };
	long n;

	if (af_in_hook || !atomic_load(&af_armed))
		return 0;
	/* Once the one allocation has failed no other counts: skip the stack
	 * walk (a test of millions of allocations runs at full speed after
	 * its Nth). */
	if ((af_fail_at > 0 || af_fail_path != 0) && atomic_load(&af_failed_once))
		return 0;
	if (atomic_fetch_add(&af_raw, 1) - af_raw_base < af_walk_from)
		return 0;
	af_in_hook = 1;
	_Unwind_Backtrace(af_walk_frame, &w);
	if (!w.verdict) {
		af_in_hook = 0;
		return 0;
	}
	n = atomic_fetch_add(&af_count, 1) + 1;
	if (af_fail_at == 0 && af_fail_path == 0 && af_per_site > 0)
		af_note_site(&w, n);
	if (af_fail_path != 0 ? w.key != af_fail_path || atomic_fetch_add(&af_path_seen, 1) + 1 != af_fail_k
			      : n != af_fail_at) {
		af_in_hook = 0;
		return 0;
	}
	if (atomic_exchange(&af_failed_once, 1)) {
		af_in_hook = 0;
		return 0;
	}
	int depth = 0;
	af_report("fail %ld %016llx %ld\n", n - af_test_base, (unsigned long long)w.key,
		af_fail_path != 0 ? af_fail_k : 0L);
	_Unwind_Backtrace(af_report_frame, &depth);
	af_in_hook = 0;
	return 1;
}

void *
malloc(size_t size)
{
	af_resolve();
	if (real_malloc == NULL)
		return af_boot_alloc(size);
	if (af_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	af_resolve();
	if (real_calloc == NULL)
		return af_boot_alloc(n * size); /* static memory is zeroed */
	if (af_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	af_resolve();
	if (real_realloc == NULL || af_is_boot(p)) {
		void *q = real_malloc != NULL ? real_malloc(size) : af_boot_alloc(size);

		/* A boot block's size is not kept: copy what the arena holds. */
		if (q != NULL && p != NULL) {
			size_t left = (size_t)(af_boot + sizeof(af_boot) - (unsigned char *)p);

			memcpy(q, p, size < left ? size : left);
		}
		return q;
	}
	/* realloc(p, 0) frees: failing it would be a different call. */
	if (size > 0 && af_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, size);
}

void *
reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	/* A size of 0 is glibc's realloc(p, 0), as reallocarray's is. */
	return realloc(p, n * size); /* NOLINT(clang-analyzer-optin.portability.UnixAPI) */
}

void
free(void *p)
{
	if (p == NULL || af_is_boot(p))
		return;
	af_resolve();
	if (real_free != NULL)
		real_free(p);
}

int
posix_memalign(void **out, size_t align, size_t size)
{
	af_resolve();
	if (real_posix_memalign == NULL)
		return (*out = af_boot_alloc_aligned(align, size)) != NULL ? 0 : ENOMEM;
	if (af_should_fail())
		return ENOMEM;
	return real_posix_memalign(out, align, size);
}

void *
aligned_alloc(size_t align, size_t size)
{
	af_resolve();
	if (real_aligned_alloc == NULL)
		return af_boot_alloc_aligned(align, size);
	if (af_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_aligned_alloc(align, size);
}

char *
strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = malloc(len);

	if (p != NULL)
		memcpy(p, s, len);
	return p;
}

char *
strndup(const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* One trampoline per test position: arms the counter around the body. */
static void
af_run_body(size_t i, void **state)
{
	long before = atomic_load(&af_count);
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	af_test_base = before;
	af_raw_base = atomic_load(&af_raw);
	memset(af_body_key, 0, sizeof(af_body_key));
	memset(af_body_hits, 0, sizeof(af_body_hits));
	atomic_store(&af_armed, 1);
	af_orig_tests[i].test_func(state);
	atomic_store(&af_armed, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* its milliseconds: the sweep's timeout of a run of this test */
	af_report("test %s %ld %ld\n", af_orig_tests[i].name, atomic_load(&af_count) - before,
		(long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
}

/* The trampolines, named and numbered by their position in base 4. */
#define AF_T1(a, b, c, d, e)                                                                                           \
	static void af_tramp_##a##b##c##d##e(void **state)                                                             \
	{                                                                                                              \
		af_run_body((a)*256 + (b)*64 + (c)*16 + (d)*4 + (e), state);                                           \
	}
#define AF_T4(a, b, c, d) AF_T1(a, b, c, d, 0) AF_T1(a, b, c, d, 1) AF_T1(a, b, c, d, 2) AF_T1(a, b, c, d, 3)
#define AF_T16(a, b, c) AF_T4(a, b, c, 0) AF_T4(a, b, c, 1) AF_T4(a, b, c, 2) AF_T4(a, b, c, 3)
#define AF_T64(a, b) AF_T16(a, b, 0) AF_T16(a, b, 1) AF_T16(a, b, 2) AF_T16(a, b, 3)
#define AF_T256(a) AF_T64(a, 0) AF_T64(a, 1) AF_T64(a, 2) AF_T64(a, 3)
AF_T256(0)
AF_T256(1)
AF_T256(2)
AF_T256(3)
#undef AF_T1
#define AF_T1(a, b, c, d, e) af_tramp_##a##b##c##d##e,
static af_test_fn const af_tramps[AF_MAX_TESTS] = { AF_T256(0) AF_T256(1) AF_T256(2) AF_T256(3) };

/* What a process does once at its start, before it serves anything: OpenSSL
 * 3.0 builds its default library context and random generator on first
 * use, and a failed allocation there leaves it half made (the next
 * RAND_bytes dereferences a NULL lock inside libcrypto).  sleuteld's first
 * OpenSSL use is at start-up (its keys), before it serves anything; here
 * that first use is made before any test body is armed. */
static void
af_process_start(void)
{
	int (*rand_bytes)(unsigned char *, int);
	unsigned char byte;

	*(void **)&rand_bytes = dlsym(RTLD_DEFAULT, "RAND_bytes");
	if (rand_bytes != NULL)
		(void)rand_bytes(&byte, 1);
}

int
_cmocka_run_group_tests(const char *group_name, const struct af_unit_test *tests, size_t num_tests,
	af_fixture_fn group_setup, af_fixture_fn group_teardown)
{
	static struct af_unit_test wrapped[AF_MAX_TESTS];
	size_t n = 0;

	af_process_start();
	atomic_store(&af_group_over, 0);
	if (num_tests > AF_MAX_TESTS)
		return real_run_group(group_name, tests, num_tests, group_setup, group_teardown);
	af_orig_tests = tests;
	for (size_t i = 0; i < num_tests; i++) {
		if (af_only_test != NULL && strcmp(tests[i].name, af_only_test) != 0)
			continue;
		wrapped[n] = tests[i];
		if (tests[i].test_func != NULL)
			wrapped[n].test_func = af_tramps[i];
		n++;
	}
	/* A filter naming no test of this group: run nothing of it. */
	if (n == 0)
		return 0;
	int rc = real_run_group(group_name, wrapped, n, group_setup, group_teardown);

	atomic_store(&af_group_over, 1);
	return rc;
}
