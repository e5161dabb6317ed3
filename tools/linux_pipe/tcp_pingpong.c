/* A 1-byte TCP round trip over Linux's loopback between two processes,
 * timed with the cycle counter: the figure Mica's `net.tcp.rr` is compared
 * with, in the same QEMU configuration (-icount shift=0). Runs as /init of
 * an initramfs (where it brings `lo` up itself) and powers off when done. */
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
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

static void loopback_up(void) {
    struct ifreq r;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    ioctl(fd, SIOCGIFFLAGS, &r);
    r.ifr_flags |= IFF_UP;
    ioctl(fd, SIOCSIFFLAGS, &r);
    close(fd);
}

int main(void) {
    static uint64_t samples[kIterations];
    char byte = 'x';
    int one = 1;
    loopback_up();
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5001), .sin_addr.s_addr = htonl(0x7f000001)};
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr*)&a, sizeof a) || listen(listener, 1)) return 1;
    pid_t child = fork();
    if (child == 0) {
        int c = accept(listener, NULL, NULL);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (read(c, &byte, 1) == 1) write(c, &byte, 1);
        _exit(0);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr*)&a, sizeof a)) return 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < 10; ++i) write(s, &byte, 1), read(s, &byte, 1);  /* warm up */
    for (int i = 0; i < kIterations; ++i) {
        uint64_t t0 = ticks();
        write(s, &byte, 1);
        read(s, &byte, 1);
        samples[i] = ticks() - t0;
    }
    qsort(samples, kIterations, sizeof samples[0], cmp);
    printf("bench linux.tcp_rr.median %lu ticks\n", (unsigned long)samples[kIterations / 2]);
    printf("bench linux.tcp_rr.min %lu ticks\n", (unsigned long)samples[0]);
    printf("bench linux.tcp_rr.max %lu ticks\n", (unsigned long)samples[kIterations - 1]);
    fflush(stdout);
    close(s);
    waitpid(child, NULL, 0);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
