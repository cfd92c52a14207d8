// Linked into cni-plugins with -Wl,--wrap=fopen64: every fopen64 (fopen with 64-bit offsets, which is what the
// NativeAOT runtime calls) goes through here.
//
// Before Main, the runtime (the GC and the CPU-quota code, each on its own) opens /proc/self/mountinfo to find the
// cgroup hierarchies and then reads the process's memory and CPU limits. The kernel formats one line per mount for
// that, and every network namespace a runtime pins (one per pod) is a mount: on a node with many pods each plugin run
// paid for reading thousands of lines, twice, and on the 2-core test VM with ~60 mounts it was already ~8 % of a
// bridge ADD's CPU time. A plugin lives for milliseconds and sizes nothing by those limits, so the runtime is told
// what it hears on a machine without cgroups: the file does not exist. Every other file opens as before.
#include <errno.h>
#include <stdio.h>
#include <string.h>

FILE *__real_fopen64(const char *path, const char *mode);

FILE *__wrap_fopen64(const char *path, const char *mode)
{
    if (path != NULL && strcmp(path, "/proc/self/mountinfo") == 0)
    {
        errno = ENOENT;
        return NULL;
    }
    return __real_fopen64(path, mode);
}
