/* A pipe round trip between two Linux processes, timed with the cycle
 * counter: the figure Mica's IPC round trip is compared with, measured in
 * the same QEMU configuration (-icount shift=0: one tick per instruction).
 * Runs as /init of an initramfs and powers the machine off when done. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kIterations = 2000 };

static inline uint64_t ticks(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

static int cmp(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    int there[2], back[2];
    static uint64_t samples[kIterations];
    char byte = 'x';
    if (pipe(there) || pipe(back)) return 1;
    pid_t child = fork();
    if (child == 0) {
        for (;;) {
            if (read(there[0], &byte, 1) != 1) _exit(0);
            write(back[1], &byte, 1);
        }
    }
    for (int i = 0; i < 10; ++i) write(there[1], &byte, 1), read(back[0], &byte, 1);  /* warm up */
    for (int i = 0; i < kIterations; ++i) {
        uint64_t t0 = ticks();
        write(there[1], &byte, 1);
        read(back[0], &byte, 1);
        samples[i] = ticks() - t0;
    }
    qsort(samples, kIterations, sizeof samples[0], cmp);
    printf("bench linux.pipe_roundtrip.median %lu ticks\n", (unsigned long)samples[kIterations / 2]);
    printf("bench linux.pipe_roundtrip.min %lu ticks\n", (unsigned long)samples[0]);
    printf("bench linux.pipe_roundtrip.max %lu ticks\n", (unsigned long)samples[kIterations - 1]);
    fflush(stdout);
    close(there[1]);
    waitpid(child, NULL, 0);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
