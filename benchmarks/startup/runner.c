// Start-up benchmark driver: execs each plugin N times, interleaved round-robin, with the same
// environment and stdin (a file), stdout read through a pipe as a container runtime does, and reports
// per-binary wall time (fork to reap), CPU time, peak RSS and minor page faults from wait4().
//
//   runner N INPUT_FILE BINARY...     (CNI_* variables come from the environment)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct { double wall_ms, cpu_ms; long rss_kb, minflt; } sample;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_once(const char *bin, const char *input, sample *out, char *buf, size_t cap, size_t *len) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    int in = open(input, O_RDONLY | O_CLOEXEC);
    if (in < 0) { perror(input); return -1; }
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in, 0);
        dup2(p[1], 1);
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    close(in);
    *len = 0;
    for (;;) {
        ssize_t n = read(p[0], buf + *len, cap - *len - 1);
        if (n > 0) { *len += (size_t)n; if (*len >= cap - 1) *len = 0; continue; }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    buf[*len] = 0;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return -1;
    double t1 = now_ms();
    close(p[0]);
    out->wall_ms = t1 - t0;
    out->cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    out->rss_kb = ru.ru_maxrss;
    out->minflt = ru.ru_minflt;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
    qsort(v, n, sizeof *v, cmp);
    double idx = p * (n - 1);
    int lo = (int)idx;
    return lo + 1 < n ? v[lo] + (v[lo + 1] - v[lo]) * (idx - lo) : v[lo];
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s N INPUT BINARY...\n", argv[0]); return 2; }
    int n = atoi(argv[1]), k = argc - 3;
    const char *input = argv[2];
    sample *s = calloc((size_t)n * k, sizeof *s);
    static char buf[1 << 16], first[1 << 16];
    size_t len, first_len = 0;
    // warm-up (page cache, dynamic loader cache) and output check: every binary must print the same bytes
    for (int b = 0; b < k; b++) {
        sample tmp;
        int rc = run_once(argv[3 + b], input, &tmp, buf, sizeof buf, &len);
        if (rc != 0) { fprintf(stderr, "%s exited %d:\n%s\n", argv[3 + b], rc, buf); return 1; }
        if (b == 0) { memcpy(first, buf, len + 1); first_len = len; }
        else if (len != first_len || memcmp(buf, first, len) != 0)
            fprintf(stderr, "warning: %s prints different output than %s\n", argv[3 + b], argv[3]);
        for (int w = 0; w < 4; w++) run_once(argv[3 + b], input, &tmp, buf, sizeof buf, &len);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            int b = (i & 1) ? k - 1 - j : j; // alternate the order so neither binary always runs first
            if (run_once(argv[3 + b], input, &s[(size_t)b * n + i], buf, sizeof buf, &len) != 0) {
                fprintf(stderr, "%s failed:\n%s\n", argv[3 + b], buf);
                return 1;
            }
        }
    double *v = malloc(sizeof(double) * n);
    printf("%-28s %9s %9s %9s %9s %9s %9s\n", "binary", "wall p50", "wall p10", "wall p90", "cpu p50", "maxRSS", "minflt");
    for (int b = 0; b < k; b++) {
        double w50, w10, w90, c50, r50, f50;
        for (int i = 0; i < n; i++) v[i] = s[(size_t)b * n + i].wall_ms;
        w50 = pct(v, n, .5); w10 = pct(v, n, .1); w90 = pct(v, n, .9);
        for (int i = 0; i < n; i++) v[i] = s[(size_t)b * n + i].cpu_ms;
        c50 = pct(v, n, .5);
        for (int i = 0; i < n; i++) v[i] = (double)s[(size_t)b * n + i].rss_kb;
        r50 = pct(v, n, .5);
        for (int i = 0; i < n; i++) v[i] = (double)s[(size_t)b * n + i].minflt;
        f50 = pct(v, n, .5);
        printf("%-28s %7.3fms %7.3fms %7.3fms %7.3fms %7.0fkB %9.0f\n", argv[3 + b], w50, w10, w90, c50, r50, f50);
        // machine-readable line for the script
        fprintf(stderr, "RESULT %s %.4f %.4f %.0f %.0f\n", argv[3 + b], w50, c50, r50, f50);
    }
    return 0;
}
