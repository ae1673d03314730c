/* LD_PRELOAD for profiling under valgrind: execv("/proc/self/exe") means the
 * real sleuteld (SHIM_EXE), not valgrind's tool binary. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int
execv(const char *path, char *const argv[])
{
	int (*real)(const char *, char *const[]) = (int (*)(const char *, char *const[]))dlsym(RTLD_NEXT, "execv");
	const char *e = getenv("SHIM_EXE");
	if (e != NULL && strcmp(path, "/proc/self/exe") == 0)
		path = e;
	return real(path, argv);
}
