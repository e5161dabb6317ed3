/*
 * linux-files: open files as Linux keeps them, through the Linux
 * personality, as an unmodified static glibc program sees them. One line per
 * check ("linux-files: ok ..." or "linux-files: FAILED ..."), then
 * "linux-files: done, N checks, M failures". The same binary passes on Linux.
 *
 * The parts: a file unlinked while open (read, written, truncated, stat'd
 * with no name, kept for a forked child, freed at the last close: the free
 * inode count comes back), a file renamed while open, two descriptors of
 * one unlinked file, the temporary-file pattern (mkstemp, unlink, use),
 * utimensat/futimens (times given, UTIME_NOW, UTIME_OMIT, errors), and a
 * position and status flags shared by the descriptors dup and fork make (one
 * open file description: `cmd > file` where cmd and the shell both write),
 * owners (chown, fchown, lchown, fchownat), and named
 * pipes (mkfifo: an open waits for the other end, O_NONBLOCK's ENXIO, a
 * signal ending a waiting open with no reader left behind, O_RDWR), and
 * 150 files unlinked while open, then closed: every inode comes back; and
 * reads right after an open (whole files of several sizes, a short read
 * and the rest, pread, a seek first, a write in between that must be seen).
 *
 * "linux-files hold DIR" instead opens, unlinks and writes a file in DIR,
 * says "holding", waits 4 seconds (time for the file server to be killed
 * and come back) and then checks the file is still there through its
 * descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void check(const char* part, int ok, const char* what) {
    ++checks;
    if (!ok) ++failures;
    printf("linux-files: %s %s: %s", ok ? "ok" : "FAILED", part, what);
    if (!ok) printf(" (errno %d: %s)", errno, strerror(errno));
    printf("\n");
    fflush(stdout);
}

static char g_data[65536];

static void fill(unsigned seed) {
    for (size_t i = 0; i < sizeof g_data; ++i) g_data[i] = (char)((i * 31 + seed) >> 3);
}

static int write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static int read_matches(int fd, off_t at, const char* want, size_t n) {
    static char got[65536];
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, got + done, n - done, at + (off_t)done);
        if (r <= 0) return 0;
        done += (size_t)r;
    }
    return memcmp(got, want, n) == 0;
}

static unsigned long free_inodes(const char* dir) {
    struct statvfs s;
    return statvfs(dir, &s) == 0 ? s.f_ffree : 0;
}

static void unlinked(const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/unlinked", dir);
    unsigned long before = free_inodes(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    check("unlinked", fd >= 0, "open O_CREAT|O_EXCL");
    fill(1);
    check("unlinked", write_all(fd, g_data, sizeof g_data) == 0, "64 KiB written");
    check("unlinked", unlink(path) == 0, "unlink while open");
    struct stat st;
    check("unlinked", stat(path, &st) < 0 && errno == ENOENT, "the name is gone: ENOENT");
    check("unlinked", fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 65536,
          "fstat: no links, 65536 bytes");
    check("unlinked", read_matches(fd, 0, g_data, sizeof g_data), "the data reads back");
    check("unlinked", lseek(fd, 0, SEEK_END) == 65536 && write_all(fd, "tail", 4) == 0, "written at the end");
    check("unlinked", fstat(fd, &st) == 0 && st.st_size == 65540, "fstat: 65540 bytes");
    check("unlinked", ftruncate(fd, 1000) == 0 && fstat(fd, &st) == 0 && st.st_size == 1000, "ftruncate to 1000");
    check("unlinked", read_matches(fd, 0, g_data, 1000), "what is left reads back");

    // A child holds it too: the parent's close leaves it to the child.
    pid_t child = fork();
    if (child == 0) {
        sleep(1);
        int ok = read_matches(fd, 0, g_data, 1000);
        close(fd);
        _exit(ok ? 0 : 1);
    }
    check("unlinked", close(fd) == 0, "the parent closes it");
    int status = -1;
    waitpid(child, &status, 0);
    check("unlinked", WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child still reads it after");
    check("unlinked", free_inodes(dir) == before, "freed at the last close: free inodes as before");
}

static void renamed(const char* dir) {
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/before", dir);
    snprintf(b, sizeof b, "%s/after", dir);
    int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0644);
    fill(2);
    check("renamed", fd >= 0 && write_all(fd, g_data, 5000) == 0, "5000 bytes written");
    check("renamed", rename(a, b) == 0, "renamed while open");
    check("renamed", write_all(fd, g_data + 5000, 5000) == 0, "5000 more through the descriptor");
    int again = open(b, O_RDONLY);
    check("renamed", again >= 0 && read_matches(again, 0, g_data, 10000), "the new name has all 10000");
    close(again);
    close(fd);

    // Two descriptors of one file: one closes after the unlink, the other reads on.
    int one = open(b, O_RDONLY), two = open(b, O_RDWR);
    check("renamed", one >= 0 && two >= 0 && unlink(b) == 0, "opened twice, then unlinked");
    check("renamed", close(one) == 0 && read_matches(two, 0, g_data, 10000), "the second reads after the first closes");
    close(two);
}

static void temporary(const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/tmpXXXXXX", dir);
    int fd = mkstemp(path);
    check("temporary", fd >= 0 && unlink(path) == 0, "mkstemp, then unlink");
    fill(3);
    for (int i = 0; i < 8; ++i) write_all(fd, g_data, sizeof g_data);
    struct stat st;
    check("temporary", fstat(fd, &st) == 0 && st.st_size == 8 * 65536, "512 KiB in it");
    check("temporary", read_matches(fd, 7 * 65536, g_data, sizeof g_data), "its last 64 KiB read back");
    close(fd);
}

static void times(const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/timed", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    close(fd);
    struct timespec t[2] = {{1000000000, 0}, {1234567890, 0}};
    struct stat st;
    check("times", utimensat(AT_FDCWD, path, t, 0) == 0, "utimensat");
    check("times", stat(path, &st) == 0 && st.st_atime == 1000000000 && st.st_mtime == 1234567890,
          "stat shows the times given");
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1500000000, 0}};
    check("times", utimensat(AT_FDCWD, path, omit, 0) == 0 && stat(path, &st) == 0 &&
                       st.st_atime == 1000000000 && st.st_mtime == 1500000000,
          "UTIME_OMIT keeps the access time");
    fd = open(path, O_RDONLY);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    time_t before = time(NULL);
    check("times", futimens(fd, now) == 0 && fstat(fd, &st) == 0 && st.st_mtime >= before - 1,
          "futimens with UTIME_NOW");
    close(fd);
    check("times", utimensat(AT_FDCWD, path, NULL, 0) == 0, "utimensat with no times");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    check("times", utimensat(AT_FDCWD, path, bad, 0) < 0 && errno == EINVAL, "a bad nanosecond count: EINVAL");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-file", dir);
    check("times", utimensat(AT_FDCWD, missing, NULL, 0) < 0 && errno == ENOENT, "no such file: ENOENT");
    struct timespec* volatile wild = (struct timespec*)8;  /* volatile: the compiler sees no bad read */
    check("times", utimensat(AT_FDCWD, path, wild, 0) < 0 && errno == EFAULT, "a bad pointer: EFAULT");
    check("times", futimens(999, now) < 0 && errno == EBADF, "a bad descriptor: EBADF");
    unlink(path);
}

static void shared(const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/shared", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check("shared", fd >= 0 && write_all(fd, "ab", 2) == 0, "opened, 2 bytes written");
    pid_t child = fork();
    if (child == 0) _exit(write_all(fd, "cde", 3) == 0 && lseek(fd, 0, SEEK_CUR) == 5 ? 0 : 1);
    int status = -1;
    waitpid(child, &status, 0);
    check("shared", WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child writes 3 more after them");
    check("shared", lseek(fd, 0, SEEK_CUR) == 5, "the parent's position moved with the child's write: 5");
    int copy = dup(fd);
    check("shared", copy >= 0 && write_all(copy, "f", 1) == 0 && lseek(fd, 0, SEEK_CUR) == 6,
          "a write through a dup moves the original's position: 6");
    check("shared", lseek(copy, 1, SEEK_SET) == 1 && lseek(fd, 0, SEEK_CUR) == 1, "and so does a seek");
    check("shared", read_matches(fd, 0, "abcdef", 6), "the file holds all six bytes in order");
    /* The status flags are the open file description's too. */
    const int both = O_APPEND | O_NONBLOCK;
    check("shared", fcntl(copy, F_SETFL, fcntl(copy, F_GETFL) | both) == 0 && (fcntl(fd, F_GETFL) & both) == both,
          "F_SETFL through a dup sets the original's O_APPEND and O_NONBLOCK");
    int other = open(path, O_RDONLY);
    check("shared", other >= 0 && !(fcntl(other, F_GETFL) & both), "another open of the file has flags of its own");
    close(other);
    child = fork();
    if (child == 0) _exit(fcntl(fd, F_SETFL, 0) == 0 ? 0 : 1);
    waitpid(child, &status, 0);
    check("shared", WIFEXITED(status) && WEXITSTATUS(status) == 0 && !(fcntl(copy, F_GETFL) & both),
          "a forked child's F_SETFL clears them for the parent's descriptors");
    int ends[2];
    char c;
    check("shared", pipe(ends) == 0, "pipe");
    int reader = dup(ends[0]);
    check("shared", fcntl(reader, F_SETFL, O_NONBLOCK) == 0 && read(ends[0], &c, 1) == -1 && errno == EAGAIN,
          "O_NONBLOCK set through a dup of a pipe's end: a read through the end itself says EAGAIN");
    check("shared", !(fcntl(ends[1], F_GETFL) & O_NONBLOCK), "the pipe's other end keeps its own");
    close(reader), close(ends[0]), close(ends[1]);
    close(copy);
    close(fd);
    unlink(path);
}

/* Reads right after an open (the personality has the first 4 KiB come with
 * the open): files shorter and longer than that, exactly that long, empty;
 * a short first read and the rest; pread at 0; a seek first; and a write
 * through another descriptor between the open and the read, which the read
 * must see. */
static int file_of(const char* path, size_t size, unsigned seed) {
    fill(seed);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && write_all(fd, g_data, size) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static void first(const char* dir) {
    char path[256];
    static char got[16384];
    snprintf(path, sizeof path, "%s/first", dir);
    static const size_t sizes[] = {0, 10, 4095, 4096, 4097, 5000, 12000};
    int right = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        size_t n = sizes[i];
        int fd = file_of(path, n, (unsigned)i) ? open(path, O_RDONLY) : -1;
        ssize_t r = fd >= 0 ? read(fd, got, sizeof got) : -1;
        ssize_t after = fd >= 0 ? read(fd, got + (r > 0 ? r : 0), 16) : -1;
        right += r == (ssize_t)n && after == 0 && !memcmp(got, g_data, n);
        if (fd >= 0) close(fd);
    }
    check("first", right == 7, "files of 0, 10, 4095, 4096, 4097, 5000, 12000 bytes read whole, then end of file");
    file_of(path, 9000, 7);
    int fd = open(path, O_RDONLY);
    ssize_t a = read(fd, got, 100), b = read(fd, got + 100, 8900);
    check("first", a == 100 && b == 8900 && !memcmp(got, g_data, 9000), "100 bytes, then the rest");
    close(fd);
    fd = open(path, O_RDONLY);
    check("first", pread(fd, got, 50, 0) == 50 && !memcmp(got, g_data, 50) && read(fd, got, 10) == 10 &&
                       !memcmp(got, g_data, 10), "pread at 0 first (the position stays)");
    close(fd);
    fd = open(path, O_RDONLY);
    check("first", lseek(fd, 4000, SEEK_SET) == 4000 && read(fd, got, 200) == 200 && !memcmp(got, g_data + 4000, 200),
          "a seek first: bytes 4000-4199");
    close(fd);
    fd = open(path, O_RDONLY);
    int other = open(path, O_WRONLY);
    int wrote = other >= 0 && write(other, "CHANGED", 7) == 7;
    close(other);
    check("first", wrote && read(fd, got, 20) == 20 && !memcmp(got, "CHANGED", 7) && !memcmp(got + 7, g_data + 7, 13),
          "a write between the open and the read is seen");
    close(fd);
    unlink(path);
}

/* Many files open at once, unlinked, then closed: every inode comes back
 * (the personality sends last closes to file: in batches). */
static void many(const char* dir) {
    enum { kFiles = 150 };
    static int fds[kFiles];
    char path[256];
    unsigned long before = free_inodes(dir);
    int opened = 0;
    for (int i = 0; i < kFiles; ++i) {
        snprintf(path, sizeof path, "%s/many-%d", dir, i);
        fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fds[i] >= 0 && write(fds[i], "x", 1) == 1 && unlink(path) == 0) ++opened;
    }
    check("many", opened == kFiles, "150 files made, written and unlinked while open");
    check("many", free_inodes(dir) == before - kFiles, "their inodes are held");
    int closed = 0;
    for (int i = 0; i < kFiles; ++i) closed += close(fds[i]) == 0;
    check("many", closed == kFiles && free_inodes(dir) == before, "all closed: every inode is free again");
}

/* chown, fchown, lchown, fchownat: owner and group kept, -1 leaving one,
 * the set-user-ID bit taken, a link's own owner, errors. */
static void owners(const char* dir) {
    char path[256], link[256];
    snprintf(path, sizeof path, "%s/owned", dir);
    snprintf(link, sizeof link, "%s/owned-link", dir);
    unlink(path);
    unlink(link);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct stat st;
    check("owner", fd >= 0 && chmod(path, 04755) == 0 && chown(path, 1000, 2000) == 0 && stat(path, &st) == 0 &&
                       st.st_uid == 1000 && st.st_gid == 2000, "chown: owner 1000, group 2000");
    check("owner", (st.st_mode & 07777) == 0755, "and the set-user-ID bit is gone");
    check("owner", fchown(fd, -1, 3000) == 0 && fstat(fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 3000,
          "fchown with -1: the group alone");
    check("owner", fchownat(fd, "", 70000, -1, AT_EMPTY_PATH) == 0 && stat(path, &st) == 0 && st.st_uid == 70000,
          "fchownat(AT_EMPTY_PATH): an owner above 65535");
    check("owner", symlink("owned", link) == 0 && lchown(link, 5, 6) == 0 && lstat(link, &st) == 0 &&
                       st.st_uid == 5 && st.st_gid == 6 && stat(path, &st) == 0 && st.st_uid == 70000,
          "lchown: the link's own, not its target's");
    check("owner", fchownat(AT_FDCWD, link, 7, 8, 0) == 0 && stat(path, &st) == 0 && st.st_uid == 7 && st.st_gid == 8,
          "fchownat follows the link");
    check("owner", chown("/no/such/file", 0, 0) == -1 && errno == ENOENT, "no such file: ENOENT");
    check("owner", fchownat(AT_FDCWD, path, 0, 0, 0x4000) == -1 && errno == EINVAL, "an unknown flag: EINVAL");
    close(fd);
    unlink(link);
    unlink(path);
}

static void on_alarm(int signal) { (void)signal; }

static void fifos(const char* dir) {
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    snprintf(other, sizeof other, "%s/fifo-file", dir);
    unlink(path);
    unlink(other);
    check("fifo", mkfifo(path, 0640) == 0, "mkfifo");
    check("fifo", mkfifo(path, 0640) == -1 && errno == EEXIST, "again: EEXIST");
    struct stat st;
    check("fifo", stat(path, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == (0640 & ~umask(022)) &&
                      st.st_size == 0, "stat: a FIFO, its mode less the umask, empty");
    check("fifo", mknod(other, S_IFREG | 0600, 0) == 0 && stat(other, &st) == 0 && S_ISREG(st.st_mode),
          "mknod S_IFREG: an empty file");
    unlink(other);
    check("fifo", open(path, O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO, "O_WRONLY|O_NONBLOCK, no reader: ENXIO");
    int reader = open(path, O_RDONLY | O_NONBLOCK);
    char buf[64];
    check("fifo", reader >= 0 && read(reader, buf, sizeof buf) == 0, "O_RDONLY|O_NONBLOCK opens; no writer: end of file");
    struct pollfd pf = {reader, POLLIN, 0};
    check("fifo", poll(&pf, 1, 0) == 0, "poll: no writer came yet, so no POLLHUP");
    int writer = open(path, O_WRONLY | O_NONBLOCK);
    check("fifo", writer >= 0 && write(writer, "one", 3) == 3 && read(reader, buf, sizeof buf) == 3 &&
                      !memcmp(buf, "one", 3), "with a reader, O_WRONLY|O_NONBLOCK opens; bytes go through");
    int second = open(path, O_RDONLY | O_NONBLOCK); /* opened while the writer is there */
    close(writer);
    check("fifo", poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "poll after that writer closed: POLLHUP");
    struct pollfd ps = {second, POLLIN, 0};
    check("fifo", second >= 0 && poll(&ps, 1, 0) == 1 && (ps.revents & POLLHUP),
          "and for a reader opened while it was there");
    close(second);
    close(reader);

    // A child opens to write and waits for this reader; the bytes and the end of file come through.
    pid_t child = fork();
    if (child == 0) {
        int w = open(path, O_WRONLY);
        _exit(w >= 0 && write_all(w, "hello, fifo", 11) == 0 ? 0 : 1);
    }
    usleep(200000);  // the child waits in its open
    reader = open(path, O_RDONLY);
    ssize_t n = 0, got;
    while (reader >= 0 && (got = read(reader, buf + n, sizeof buf - (size_t)n)) > 0) n += got;
    int status = -1;
    waitpid(child, &status, 0);
    check("fifo", n == 11 && !memcmp(buf, "hello, fifo", 11) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a writer's open waits for the reader; its bytes, then end of file");
    close(reader);

    // A reader's open that waits, ended by a signal: EINTR, and no reader stays behind.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    check("fifo", open(path, O_RDONLY) == -1 && errno == EINTR, "a waiting open ended by SIGALRM: EINTR");
    check("fifo", open(path, O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO, "and it left no reader: ENXIO");
    int both = open(path, O_RDWR);
    check("fifo", both >= 0 && write(both, "x", 1) == 1 && read(both, buf, 1) == 1 && buf[0] == 'x',
          "O_RDWR opens at once, reads what it wrote");
    close(both);
    check("fifo", unlink(path) == 0, "unlinked");
}

static void hold(const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/held", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fill(4);
    check("hold", fd >= 0 && write_all(fd, g_data, sizeof g_data) == 0 && unlink(path) == 0,
          "written and unlinked");
    printf("linux-files: holding\n");
    fflush(stdout);
    sleep(4);
    struct stat st;
    check("hold", fstat(fd, &st) == 0 && st.st_size == 65536, "fstat after the wait: 65536 bytes");
    check("hold", read_matches(fd, 0, g_data, sizeof g_data), "its data reads back after the wait");
    check("hold", write_all(fd, "more", 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 65540, "and takes more");
    close(fd);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "hold")) {
        hold(argv[2]);
    } else {
        const char* dir = argc > 1 ? argv[1] : "/tmp";
        unlinked(dir);
        renamed(dir);
        temporary(dir);
        times(dir);
        shared(dir);
        owners(dir);
        fifos(dir);
        many(dir);
        first(dir);
    }
    printf("linux-files: done, %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
