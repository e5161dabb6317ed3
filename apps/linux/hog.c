/*
 * linux-hog: takes memory until it is refused, to show that one Linux
 * program cannot starve the others (each may hold a share of the
 * personality's memory). Allocates 1 MiB at a time with malloc and touches
 * every page, then prints "linux-hog: refused after N MiB", holds it all for
 * two seconds (while other programs show they still run), and, to prove the
 * refusal was clean, frees it and allocates 1 MiB again.
 *
 *   linux-hog [MIB]   stop at MIB even if not refused (default: no limit)
 *   linux-hog stack   the stack instead: a read into a 512 KiB buffer on it
 *                     not yet touched, a recursion 768 KiB deep, and a
 *                     child that recurses without end gets SIGSEGV (at
 *                     RLIMIT_STACK); one line each, "linux-hog: stack ..."
 *   linux-hog touch   maps 1 GiB (granted: its memory comes as it is
 *                     touched), says "linux-hog: mapped 1 GiB", and touches
 *                     every page of it; past its share it is killed
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* 64 KiB a level, touched, and kept from being optimised away. */
static long deep(long levels) {
    volatile char frame[64 << 10];
    frame[0] = (char)levels;
    frame[sizeof frame - 1] = 1;
    return levels ? deep(levels - 1) + frame[0] : frame[sizeof frame - 1];
}

static __attribute__((noinline)) int read_onto_stack(void) {
    char buffer[512 << 10];  /* its low end is far below anything touched yet */
    int fd = open("/dev/zero", O_RDONLY);
    memset(buffer + sizeof buffer - 64, 1, 64);
    size_t got = 0;  /* from its low end up */
    for (ssize_t n = 1; n > 0 && got < sizeof buffer; got += n > 0 ? (size_t)n : 0) n = read(fd, buffer + got, sizeof buffer - got);
    close(fd);
    int ok = got == sizeof buffer && buffer[0] == 0 && buffer[sizeof buffer - 1] == 0;
    printf("linux-hog: stack: a read into 512 KiB of it: %s\n", ok ? "ok" : "FAILED");
    fflush(stdout);
    return ok;
}

static int stack(void) {
    int ok = read_onto_stack();
    long sum = deep(12);  /* 768 KiB */
    printf("linux-hog: stack: 768 KiB deep: %s\n", sum == 12 * 13 / 2 + 1 ? "ok" : "FAILED");
    ok = ok && sum == 12 * 13 / 2 + 1;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) _exit((int)deep(1 << 20));  /* 64 GiB: never */
    int status = 0;
    waitpid(child, &status, 0);
    int segv = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
    printf("linux-hog: stack: past its limit: %s\n", segv ? "SIGSEGV" : "FAILED");
    return ok && segv ? 0 : 1;
}

static int touch(void) {
    char* m = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("linux-hog: FAILED to map 1 GiB\n");
        return 1;
    }
    printf("linux-hog: mapped 1 GiB\n");
    fflush(stdout);
    for (size_t i = 0; i < 1UL << 30; i += 4096) m[i] = 1;
    printf("linux-hog: touched all of 1 GiB\n");
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "stack")) return stack();
    if (argc > 1 && !strcmp(argv[1], "touch")) return touch();
    long limit = argc > 1 ? atol(argv[1]) : -1;
    static void* blocks[65536];
    long got = 0;
    while (got < 65536 && (limit < 0 || got < limit)) {
        char* b = malloc(1 << 20);
        if (!b) break;
        memset(b, 0x5a, 1 << 20);
        blocks[got++] = b;
    }
    printf("linux-hog: refused after %ld MiB\n", got);
    sleep(2);
    for (long i = 0; i < got; ++i) free(blocks[i]);
    char* again = malloc(1 << 20);
    if (again) memset(again, 1, 1 << 20);
    printf("linux-hog: %s\n", again ? "allocated again after freeing" : "FAILED to allocate after freeing");
    return again ? 0 : 1;
}
