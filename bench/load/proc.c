/*
 * proc.c — processes the bench starts, and what /proc says of them:
 * CPU time (utime + stime of every thread), RSS and open fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bl.h"

int
bl_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
child_io(const char *log, int in_fd)
{
	if (in_fd >= 0)
		dup2(in_fd, 0);
	if (log != NULL) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
	}
}

pid_t
bl_spawn(char *const argv[], const char *log, int *in_pipe)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (in_pipe != NULL && pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		/* a server must not outlive a bench that crashed or was killed */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* its own process group, so bl_stop reaches a wrapped daemon too
		 * (SLEUTEL_BENCH_WRAP: perf or valgrind, then sleuteld) */
		setpgid(0, 0);
		child_io(log, p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (in_pipe != NULL)
		*in_pipe = p[1];
	return pid;
}

int
bl_run(char *const argv[], char **out)
{
	int p[2], st = 0;
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2); /* the CLI's progress lines; a failure is reported by the caller */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	buf = malloc(cap);
	while (buf != NULL && (n = read(p[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || buf == NULL) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
bl_stop(pid_t pid, int secs)
{
	int st;

	if (pid <= 0)
		return -1;
	/* the process group bl_spawn made: a wrapper and the daemon under it */
	if (kill(-pid, SIGTERM) != 0)
		kill(pid, SIGTERM);
	for (int i = 0; i < secs * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(50000);
	}
	if (kill(-pid, SIGKILL) != 0)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static double
cpu_of(pid_t pid, pid_t *ppid)
{
	char path[64], buf[2048], *p;
	unsigned long ut, stime;
	int parent = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command may hold spaces and parentheses: fields follow the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state(3) ppid(4) ... utime(14) stime(15): after ") " skip 10 more fields */
	if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &parent, &ut, &stime) != 3)
		return -1;
	if (ppid != NULL)
		*ppid = (pid_t)parent;
	return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The CPU seconds of pid's children: sleuteld's key holder (src/keyholder)
 * signs in its own process, and its work is the login's. */
double
bl_cpu_children(pid_t pid)
{
	double total = 0;
	DIR *d;
	struct dirent *e;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		pid_t child = (pid_t)atoi(e->d_name), parent = 0;
		double c;
		if (child <= 0 || child == pid)
			continue;
		c = cpu_of(child, &parent);
		if (c > 0 && parent == pid)
			total += c;
	}
	closedir(d);
	return total;
}

/* The CPU seconds of pid and of its children. */
double
bl_cpu(pid_t pid)
{
	double total = cpu_of(pid, NULL);

	return total < 0 ? total : total + bl_cpu_children(pid);
}

long
bl_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

long
bl_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

double
bl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long
bl_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t)want > rl.rlim_max) {
		rl.rlim_max = (rlim_t)want; /* root may raise the hard limit */
		rl.rlim_cur = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return want;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && (rlim_t)want > rl.rlim_max ? rl.rlim_max : (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	return (long)rl.rlim_cur;
}
