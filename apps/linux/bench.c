/*
 * linux-bench: the Linux personality's figures, measured from inside a
 * static Linux program (built here with the host's gcc, no C library: raw
 * system calls). Under -icount the time-stamp counter counts instructions
 * executed by the whole machine, so each figure is the full path: the
 * program, the kernel, the personality server and any other server it uses.
 * Prints `bench <metric> <value> ticks` lines, then linux-bench-done.
 */
#include "linux.h"

enum { READ = 0, WRITE = 1, OPEN = 2, CLOSE = 3, PIPE = 22, GETPID = 39, FORK = 57, EXECVE = 59, EXIT = 60,
       WAIT4 = 61, UNLINK = 87 };

static u64 ticks(void) {
    unsigned lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}

static u64 median(u64* v, int n) {
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && v[j - 1] > v[j]; --j) {
            u64 t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    return v[n / 2];
}

static void report(const char* metric, u64* samples, int n) {
    put("bench ");
    put(metric);
    put(".median ");
    put_number((long)median(samples, n));
    put(" ticks\n");
}

static u64 samples[201];

static void getpid_figure(void) {
    for (int i = 0; i < 201; ++i) {
        u64 t = ticks();
        sys3(GETPID, 0, 0, 0);
        samples[i] = ticks() - t;
    }
    report("linux.getpid", samples, 201);
}

/* One byte there and back between two processes through two pipes. */
static void pipe_figure(void) {
    int there[2], back[2];
    char c = 'x';
    if (sys3(PIPE, there, 0, 0) || sys3(PIPE, back, 0, 0)) return put("linux-bench: pipe failed\n");
    long child = sys3(FORK, 0, 0, 0);
    if (child == 0) {
        sys3(CLOSE, there[1], 0, 0), sys3(CLOSE, back[0], 0, 0);
        while (sys3(READ, there[0], &c, 1) == 1) sys3(WRITE, back[1], &c, 1);
        sys3(EXIT, 0, 0, 0);
    }
    sys3(CLOSE, there[0], 0, 0), sys3(CLOSE, back[1], 0, 0);
    for (int i = 0; i < 101; ++i) {
        u64 t = ticks();
        sys3(WRITE, there[1], &c, 1);
        sys3(READ, back[0], &c, 1);
        samples[i] = ticks() - t;
    }
    sys3(CLOSE, there[1], 0, 0);  /* the child reads end of file and exits */
    sys3(WAIT4, child, 0, 0);
    sys3(CLOSE, back[0], 0, 0);
    report("linux.pipe_1b", samples, 101);
}

static void fork_figure(void) {
    for (int i = 0; i < 21; ++i) {
        u64 t = ticks();
        long child = sys3(FORK, 0, 0, 0);
        if (child == 0) sys3(EXIT, 0, 0, 0);
        sys3(WAIT4, child, 0, 0);
        samples[i] = ticks() - t;
    }
    report("linux.fork_exit_wait", samples, 21);
}

static void spawn_figure(void) {
    static const char* argv[] = {"true", 0};
    static const char* envp[] = {0};
    for (int i = 0; i < 11; ++i) {
        u64 t = ticks();
        long child = sys3(FORK, 0, 0, 0);
        if (child == 0) {
            sys3(EXECVE, "/bin/true", argv, envp);
            sys3(EXIT, 127, 0, 0);
        }
        int status = 0;
        sys3(WAIT4, child, &status, 0);
        samples[i] = ticks() - t;
        if (status) put("linux-bench: /bin/true failed\n");
    }
    report("linux.spawn_wait", samples, 11);
}

static char page[4096];

static void open_read_close_figure(void) {
    const char* name = "/linux-bench-4k";
    long fd = sys3(OPEN, name, 01 | 0100 | 01000, 0644);  /* O_WRONLY|O_CREAT|O_TRUNC */
    if (fd < 0 || sys3(WRITE, fd, page, sizeof page) != sizeof page) return put("linux-bench: cannot write\n");
    sys3(CLOSE, fd, 0, 0);
    for (int i = 0; i < 51; ++i) {
        u64 t = ticks();
        fd = sys3(OPEN, name, 0, 0);
        long got = sys3(READ, fd, page, sizeof page);
        sys3(CLOSE, fd, 0, 0);
        samples[i] = ticks() - t;
        if (got != sizeof page) put("linux-bench: short read\n");
    }
    sys3(UNLINK, name, 0, 0);
    report("linux.open_read_close_4k", samples, 51);
}

void _start(void) {
    getpid_figure();
    pipe_figure();
    fork_figure();
    spawn_figure();
    open_read_close_figure();
    put("linux-bench-done\n");
    sys3(EXIT, 0, 0, 0);
    for (;;) {}
}
