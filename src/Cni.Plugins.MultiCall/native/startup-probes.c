// Linked into cni-plugins, whose link wraps two C library calls the NativeAOT runtime makes before Main
// (-Wl,--wrap=fopen64 -Wl,--wrap=sysconf: its calls reach __wrap_X, which may call the real __real_X). A plugin lives
// for milliseconds; these are probes whose answers it does not need, or can have for less.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

FILE *__real_fopen64(const char *path, const char *mode);
long __real_sysconf(int name);

// The runtime (the GC and the CPU-quota code, each on its own) opens /proc/self/mountinfo to find the cgroup
// hierarchies and then reads the process's memory and CPU limits. The kernel formats one line per mount for that,
// and every network namespace a runtime pins (one per pod) is a mount: on a node with many pods each plugin run paid
// for reading thousands of lines, twice, and on the 2-core test VM with ~60 mounts it was already ~8 % of a bridge
// ADD's CPU time. A plugin sizes nothing by those limits, so the runtime is told what it hears on a machine without
// cgroups: the file does not exist. Every other file opens as before.
FILE *__wrap_fopen64(const char *path, const char *mode)
{
    if (path != NULL && strcmp(path, "/proc/self/mountinfo") == 0)
    {
        errno = ENOENT;
        return NULL;
    }
    return __real_fopen64(path, mode);
}

// The GC sizes its first generation by the CPU caches. It asks sysconf first, which glibc answers by executing CPUID
// (several times per cache level), and then, where that says nothing, reads the kernel's description of the caches
// in /sys/devices/system/cpu/cpu0/cache. In a virtual machine every CPUID leaves the guest: those sysconf calls were
// ~5 % of a bridge ADD's CPU time on the test VM. Cache questions get "not known" (0, as glibc itself answers where it
// cannot tell), so the GC takes the same sizes from /sys; every other sysconf is answered by glibc.
long __wrap_sysconf(int name)
{
    if (name >= _SC_LEVEL1_ICACHE_SIZE && name <= _SC_LEVEL4_CACHE_LINESIZE)
        return 0;
    return __real_sysconf(name);
}
