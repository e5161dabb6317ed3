/*
 * What the Linux programs of our own share (static, no C library): a raw
 * system call, and text and numbers to standard output.
 */
typedef unsigned long u64;

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void put(const char* s) {
    long n = 0;
    while (s[n]) ++n;
    sys3(1, 1, s, n);
}

static void put_number(long v) {
    char buf[24];
    int i = sizeof buf;
    int negative = v < 0;
    u64 u = negative ? -(u64)v : (u64)v;
    buf[--i] = 0;
    do buf[--i] = (char)('0' + u % 10), u /= 10;
    while (u);
    if (negative) buf[--i] = '-';
    put(buf + i);
}
