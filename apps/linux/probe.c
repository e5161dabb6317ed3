/*
 * linux-probe: what the Linux personality does with bad arguments. First a
 * list of calls with bad pointers, sizes and values, each of which must
 * fail with the errno Linux gives; then COUNT (default 10000) random calls
 * with random arguments, drawn from the calls that cannot end or block
 * this program. The personality must answer every one and never fail
 * itself. Static, no C library; prints `linux-probe: ...` lines and
 * "linux-probe: done, N failures".
 *
 *   linux-probe [COUNT [SEED]]
 */
#include "linux.h"

#define S sys3

static int failures;

static void expect(const char* what, long got, long want) {
    if (got == want) return;
    ++failures;
    put("linux-probe: FAILED ");
    put(what);
    put(": got ");
    put_number(got);
    put(", want ");
    put_number(want);
    put("\n");
}

enum { EPERM = 1, ENOENT = 2, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, ENOTDIR = 20,
       EINVAL = 22, EDEADLK = 35, ENOSYS = 38, ENOTSOCK = 88, ENOPROTOOPT = 92, EAFNOSUPPORT = 97 };
#define BAD ((void*)0x10)
#define KERNEL ((void*)0xffff800000001000UL)

static char buffer[4096];

static void bad_arguments(void) {
    expect("write from a bad pointer", S(1, 1, BAD, 5), -EFAULT);
    expect("write from a kernel address", S(1, 1, KERNEL, 5), -EFAULT);
    expect("read into a bad pointer", S(0, S(2, "/dev/zero", 0, 0), BAD, 5), -EFAULT);
    expect("open of a bad path", S(2, BAD, 0, 0), -EFAULT);
    expect("open of a missing file", S(2, "/no/such/file", 0, 0), -ENOENT);
    expect("stat into a bad pointer", S(4, "/", BAD, 0), -EFAULT);
    expect("fstat of a closed descriptor", S(5, 63, buffer, 0), -EBADF);
    expect("uname into a bad pointer", S(63, BAD, 0, 0), -EFAULT);
    expect("clock_gettime into a bad pointer", S(228, 0, BAD, 0), -EFAULT);
    expect("pipe into a bad pointer", S(22, BAD, 0, 0), -EFAULT);
    expect("execve of a bad path", S(59, BAD, 0, 0), -EFAULT);
    expect("wait4 with no child", S(61, -1, 0, 0), -ECHILD);
    expect("close of a bad descriptor", S(3, 1000, 0, 0), -EBADF);
    expect("mmap of 0 bytes", sys6(9, 0, 0, 3, 0x22, -1, 0), -EINVAL);
    expect("mmap of 2^62 bytes", sys6(9, 0, 1L << 62, 3, 0x22, -1, 0), -ENOMEM);
    /* Mica keeps W^X for Linux programs too (Linux would allow this). */
    expect("mmap writable and executable", sys6(9, 0, 4096, 7, 0x22, -1, 0), -EACCES);
    expect("munmap of an unaligned address", S(11, 0x1001, 4096, 0), -EINVAL);
    expect("arch_prctl with a non-canonical FS base", S(158, 0x1002, 0x0000800000000000UL, 0), -EPERM);
    expect("arch_prctl of an unknown code", S(158, 0x9999, 0, 0), -EINVAL);
    expect("lseek before the start", S(8, S(2, "/README", 0, 0), -5, 0), -EINVAL);
    expect("writev of 2000 buffers", S(20, 1, buffer, 2000), -EINVAL);
    expect("rt_sigaction of signal 0", sys6(13, 0, 0, 0, 8, 0, 0), -EINVAL);
    static const long too_many_usec[4] = {0, 0, 0, 1000000};
    expect("setitimer from a bad pointer", S(38, 0, BAD, 0), -EFAULT);
    expect("setitimer of 1,000,000 microseconds", S(38, 0, too_many_usec, 0), -EINVAL);
    expect("getitimer into a bad pointer", S(36, 0, BAD, 0), -EFAULT);
    expect("mknod of a bad path", S(133, BAD, 010600, 0), -EFAULT);
    expect("mknodat of no known type", sys6(259, -100, (long)"/tmp/probe-node", 0170600, 0, 0, 0), -EINVAL);
    expect("unknown call 1000", S(1000, 0, 0, 0), -ENOSYS);
    /* As Linux: the number is RAX's low 32 bits (2^62 is read(0, 0, 0)). */
    expect("call 2^62", S(1L << 62, 0, 0, 0), 0);
    long brk = S(12, 0, 0, 0);
    expect("brk to 2^62 leaves it", S(12, 1L << 62, 0, 0), brk);
    long zero = S(2, "/dev/zero", 0, 0);
    expect("read of 2^62 bytes past a mapping", S(0, zero, buffer, 1L << 62), -EFAULT);
    expect("bind on a file", S(49, zero, buffer, 16), -ENOTSOCK);
    S(3, zero, 0, 0);
    /* Sockets (AF_INET over net:; no other family). */
    expect("socket(AF_UNIX)", S(41, 1, 1, 0), -EAFNOSUPPORT);
    expect("socket(AF_INET6)", S(41, 10, 1, 0), -EAFNOSUPPORT);
    long sock = S(41, 2, 1, 0);
    expect("socket(AF_INET, SOCK_STREAM)", sock >= 3, 1);
    expect("bind from a bad pointer", S(49, sock, BAD, 16), -EFAULT);
    expect("bind with a short address", S(49, sock, buffer, 8), -EINVAL);
    expect("connect with an address too long", S(42, sock, buffer, 4096), -EINVAL);
    expect("getsockname with a bad length pointer", S(51, sock, buffer, BAD), -EFAULT);
    expect("getsockopt of an unknown option", sys6(55, sock, 1, 9999, (long)buffer, (long)(buffer + 64), 0), -ENOPROTOOPT);
    expect("sendto from a kernel address", sys6(44, sock, (long)KERNEL, 5, 0, 0, 0), -EFAULT);
    S(3, sock, 0, 0);
    expect("sync", S(162, 0, 0, 0), 0);
    expect("syncfs of a closed descriptor", S(306, 1000, 0, 0), -EBADF);
    expect("syncfs", S(306, 1, 0, 0), 0);
    unsigned long cpus[16] = {0};
    long got = S(204, 0, sizeof cpus, cpus);
    expect("sched_getaffinity", got > 0, 1);
    expect("sched_setaffinity to what getaffinity gave", S(203, 0, sizeof cpus, cpus), 0);
    expect("sched_setaffinity to no CPU", S(203, 0, 8, (unsigned long[]){0}), -EINVAL);
    expect("sched_setaffinity from a bad pointer", S(203, 0, 8, BAD), -EFAULT);
    expect("mremap of nothing mapped", sys6(25, 0x10000, 4096, 8192, 1, 0, 0), -EFAULT);
    expect("fchown of a closed descriptor", S(93, 1000, 0, 0), -EBADF);
}

/* Byte-range locks between two processes: conflicts, F_GETLK, a waiting
 * F_SETLKW that the holder's close lets go, and a deadlock refused. */
struct flock {
    short type, whence;
    long start, len;
    int pid;
};
enum { F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2, F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7 };

static long lock(long fd, long cmd, short type, long start, long len, struct flock* out) {
    struct flock l = {type, 0, start, len, 0};
    long r = S(72, fd, cmd, &l);
    if (out) *out = l;
    return r;
}

static void locks(void) {
    static const char path[] = "/tmp/linux-probe.lock";
    static const long tenth[2] = {0, 100000000};
    long fd = S(2, path, 0102, 0644), me = S(39, 0, 0, 0);
    int sync[2];
    expect("pipe for the lock test", S(22, sync, 0, 0), 0);
    expect("lock: a write lock of bytes 0-9", lock(fd, F_SETLK, F_WRLCK, 0, 10, 0), 0);
    expect("lock: bad type", lock(fd, F_SETLK, 7, 0, 10, 0), -EINVAL);
    expect("lock: bad struct", S(72, fd, F_SETLK, BAD), -EFAULT);
    expect("lock: a range before 0", lock(fd, F_SETLK, F_WRLCK, 5, -10, 0), -EINVAL);
    int before = failures;
    long child = S(57, 0, 0, 0);
    if (child == 0) {
        struct flock l;
        long cfd = S(2, path, 2, 0);
        expect("lock (child): a write lock over the parent's", lock(cfd, F_SETLK, F_WRLCK, 5, 1, 0), -EAGAIN);
        expect("lock (child): a read lock over the parent's", lock(cfd, F_SETLK, F_RDLCK, 9, 5, 0), -EAGAIN);
        expect("lock (child): F_GETLK", lock(cfd, F_GETLK, F_RDLCK, 5, 1, &l), 0);
        expect("lock (child): F_GETLK type", l.type, F_WRLCK);
        expect("lock (child): F_GETLK range", l.start * 100 + l.len, 10);
        expect("lock (child): F_GETLK pid", l.pid, me);
        expect("lock (child): a read lock beside it", lock(cfd, F_SETLK, F_RDLCK, 10, 10, 0), 0);
        expect("lock (child): F_GETLK where it is free", lock(cfd, F_GETLK, F_WRLCK, 100, 1, &l), 0);
        expect("lock (child): F_GETLK where it is free, type", l.type, F_UNLCK);
        expect("lock (child): a write lock of byte 100", lock(cfd, F_SETLK, F_WRLCK, 100, 1, 0), 0);
        S(1, sync[1], "x", 1);
        /* Waits for the parent's lock of bytes 0-9, which its close lets go. */
        expect("lock (child): F_SETLKW waits and gets it", lock(cfd, F_SETLKW, F_WRLCK, 0, 1, 0), 0);
        S(231, failures - before, 0, 0);
    }
    char byte;
    expect("lock: the child is ready", S(0, sync[0], &byte, 1), 1);
    S(35, tenth, 0, 0);
    /* The child waits for us; our waiting for its byte 100 would never end. */
    expect("lock: a deadlock is refused", lock(fd, F_SETLKW, F_WRLCK, 100, 1, 0), -EDEADLK);
    expect("lock: a read lock where the child reads", lock(fd, F_SETLK, F_RDLCK, 12, 2, 0), 0);
    expect("lock: a write lock where the child reads", lock(fd, F_SETLK, F_WRLCK, 12, 2, 0), -EAGAIN);
    S(3, fd, 0, 0);  /* all our locks on the file go: the child's wait ends */
    int status = -1;
    expect("lock: the child", S(61, child, &status, 0), child);
    expect("lock: the child's failures", status, 0);
    S(3, sync[0], 0, 0), S(3, sync[1], 0, 0);
    S(87, path, 0, 0);
}

static u64 state = 0x9e3779b97f4a7c15UL;
static u64 next(void) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
}

/* What random pointers point into: a mapping of its own, so that what a
 * call writes there (or past its end: nothing is mapped) cannot touch this
 * program's own variables. */
enum { kScratch = 65536 };
static char* scratch;

/* An argument: often small, sometimes a pointer into our buffer, a bad or
 * kernel pointer, or a boundary value. */
static long argument(void) {
    switch (next() % 8) {
        case 0: return (long)(next() % 64);
        case 1: return (long)(scratch + next() % kScratch);
        case 2: return (long)BAD;
        case 3: return (long)KERNEL;
        case 4: return -(long)(next() % 4);
        case 5: return (long)(1UL << (next() % 64));
        case 6: return (long)next();
        default: return 3 + (long)(next() % 61);  /* a descriptor that is not the console */
    }
}

/* Calls that neither end this program, nor block it, nor start others (no
 * accept, connect, recv or send: on a blocking socket they wait). */
static const short kCalls[] = {1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 20, 21, 22, 28, 32,
                               33, 36, 39, 63, 72, 74, 75, 77, 79, 80, 83, 84, 87, 89, 95, 96, 97, 99, 102, 104,
                               107, 108, 110, 137, 157, 158, 186, 201, 204, 217, 218, 228, 229, 257, 258,
                               262, 263, 267, 269, 273, 292, 293, 302, 318, 334, 500, 1000,
                               41, 48, 49, 50, 51, 52, 53, 54, 55};  /* sockets: calls that never wait */

static long parse(const char* s) {
    long v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return v;
}

/* The *at calls relative to a directory descriptor: every name below is
 * relative to /tmp/probe-at, held open, never to the current directory. */
static void at_calls(void) {
    enum { AT_FDCWD = -100, O_DIRECTORY = 0200000, AT_REMOVEDIR = 0x200 };
    long st[18];  /* struct stat: st_size is its seventh word */
    S(80, "/", 0, 0);
    expect("at: mkdir /tmp/probe-at", S(83, "/tmp/probe-at", 0755, 0), 0);
    long dir = sys6(257, AT_FDCWD, (long)"/tmp/probe-at", O_DIRECTORY, 0, 0, 0);
    expect("at: open the directory", dir >= 3, 1);
    long fd = sys6(257, dir, (long)"f", 0101, 0644, 0, 0);
    expect("at: openat(dir, f, O_CREAT)", fd >= 3, 1);
    expect("at: write to it", S(1, fd, "hi", 2), 2);
    S(3, fd, 0, 0);
    expect("at: stat of /tmp/probe-at/f", S(4, "/tmp/probe-at/f", st, 0), 0);
    expect("at: its size", st[6], 2);
    expect("at: no f in the current directory", S(4, "f", st, 0), -ENOENT);
    expect("at: newfstatat(dir, f)", sys6(262, dir, (long)"f", (long)st, 0, 0, 0), 0);
    expect("at: faccessat(dir, f)", sys6(269, dir, (long)"f", 0, 0, 0, 0), 0);
    expect("at: faccessat(dir, missing)", sys6(269, dir, (long)"missing", 0, 0, 0, 0), -ENOENT);
    expect("at: mkdirat(dir, d)", sys6(258, dir, (long)"d", 0755, 0, 0, 0), 0);
    expect("at: renameat(dir, f, dir, d/g)", sys6(264, dir, (long)"f", dir, (long)"d/g", 0, 0), 0);
    expect("at: stat of /tmp/probe-at/d/g", S(4, "/tmp/probe-at/d/g", st, 0), 0);
    expect("at: fchmodat(dir, d/g)", sys6(268, dir, (long)"d/g", 0600, 0, 0, 0), 0);
    expect("at: an absolute name ignores dirfd", sys6(262, 999, (long)"/tmp/probe-at/d/g", (long)st, 0, 0, 0), 0);
    fd = S(2, "/tmp/probe-at/d/g", 0, 0);
    expect("at: openat(a file's descriptor, x)", sys6(257, fd, (long)"x", 0, 0, 0, 0), -ENOTDIR);
    S(3, fd, 0, 0);
    expect("at: openat(a closed descriptor, x)", sys6(257, 999, (long)"x", 0, 0, 0, 0), -EBADF);
    expect("at: unlinkat(dir, d/g)", sys6(263, dir, (long)"d/g", 0, 0, 0, 0), 0);
    expect("at: unlinkat(dir, d, AT_REMOVEDIR)", sys6(263, dir, (long)"d", AT_REMOVEDIR, 0, 0, 0), 0);
    S(3, dir, 0, 0);
    expect("at: rmdir /tmp/probe-at", S(84, "/tmp/probe-at", 0, 0), 0);
}

void start(long* stack) {
    long argc = stack[0];
    char** argv = (char**)(stack + 1);
    long count = argc > 1 ? parse(argv[1]) : 10000;
    if (argc > 2) state = (u64)parse(argv[2]) * 2654435761UL + 1;
    bad_arguments();
    put("linux-probe: bad arguments checked\n");
    locks();
    put("linux-probe: locks checked\n");
    at_calls();
    put("linux-probe: *at calls checked\n");
    scratch = (char*)sys6(9, 0, kScratch, 3, 0x22, -1, 0);
    if ((long)scratch < 0) return put("linux-probe: no scratch memory\n"), (void)S(231, 1, 0, 0);
    static const long ignore[4] = {1, 0, 0, 0};  /* SIG_IGN: a write to a pipe nobody reads is EPIPE */
    sys6(13, 13, (long)ignore, 0, 8, 0, 0);
    S(80, "/", 0, 0);
    for (long i = 0; i < count; ++i) {
        long call = kCalls[next() % (sizeof kCalls / sizeof kCalls[0])];
        long a[6];
        for (int j = 0; j < 6; ++j) a[j] = argument();
        if (call == 1 || call == 18 || call == 20) a[0] = 3 + (long)(next() % 61);  /* never the console */
        if (call == 12) a[0] = 0;  /* brk: keep our own data where it is */
        if (call == 9 || call == 10 || call == 11) {  /* keep the program's own pages (code, data, stack) */
            u64 lo = (u64)a[0], hi = lo + (u64)a[1];
            if (lo < 0x1000000UL || hi < lo || hi > 0x7ff000000000UL) a[0] = 0x200000000000L, a[1] &= 0xffffff;
        }
        if (call == 158 && a[0] == 0x1002) a[0] = 0x1003;  /* never move our own FS base */
        if (call == 13 && a[0] == 13) a[0] = 10;  /* SIGPIPE stays ignored (SIGUSR1 is never sent) */
        /* Pipes never block a write (the program reads none of them): made
         * O_NONBLOCK, and kept so by F_SETFL. */
        if (call == 22) call = 293, a[1] = 0;
        if (call == 293) a[1] |= 04000;
        if (call == 72 && a[1] == 4) a[2] |= 04000;
        if (call == 33 || call == 292) a[1] = 3 + (long)(next() % 61);  /* dup2 onto the console would hide the output */
        if (call == 32 || call == 33 || call == 72 || call == 292) a[0] = 3 + (long)(next() % 61);  /* nor a copy of it */
        if (call == 3 && a[0] < 3) a[0] = 3;
        if (argc > 3) {  /* a third argument: say each call before making it */
            put_number(i), put(": "), put_number(call), put("\n");
        }
        sys6(call, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    put("linux-probe: ");
    put_number(count);
    put(" random calls answered\n");
    put("linux-probe: done, ");
    put_number(failures);
    put(" failures\n");
    S(231, failures ? 1 : 0, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start\n\tud2\n");
