/*
 * linux-sockets: sockets through the Linux personality (and net:, the
 * TCP/IP server) as an unmodified static glibc program uses them, over
 * 127.0.0.1. One line per check ("linux-sockets: ok ..." or "linux-sockets:
 * FAILED ..."), then "linux-sockets: done, N checks, M failures". Runs the
 * same on Linux (test linux.sockets.host), where only AF_UNIX differs (Linux
 * has it; the personality answers EAFNOSUPPORT, as a Linux built without it
 * would), and send(MSG_OOB) (Linux sends urgent data; lwIP, under net:,
 * cannot: EOPNOTSUPP).
 *
 * The parts: TCP between a forked child and its parent (1 MiB each way
 * with a checksum, through write/recv, writev/readv and sendmsg/recvmsg;
 * shutdown and the end of the stream; getsockname, getpeername);
 * non-blocking connect with poll and SO_ERROR, accept4 with SOCK_NONBLOCK,
 * EAGAIN; select; a blocked recv ended by a signal (EINTR) or restarted
 * (SA_RESTART); UDP; the receive flags (MSG_PEEK on streams and datagrams,
 * MSG_TRUNC, MSG_WAITALL against a writer that sends in pieces, MSG_OOB's
 * errors); refused connections and ports in use; options; bad pointers
 * (EFAULT), bad lengths (EINVAL) and families.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void check(const char* part, int ok, const char* what) {
    ++checks;
    if (!ok) ++failures;
    printf("linux-sockets: %s %s: %s", ok ? "ok" : "FAILED", part, what);
    if (!ok) printf(" (errno %d: %s)", errno, strerror(errno));
    printf("\n");
}

static void pause_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&pause, &pause) && errno == EINTR) {
    }
}

static struct sockaddr_in loopback(unsigned short port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static unsigned short port_of(int fd) {
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    if (getsockname(fd, (struct sockaddr*)&a, &n)) return 0;
    return ntohs(a.sin_port);
}

/* A listening TCP socket on 127.0.0.1 and a free port. */
static int listener(int backlog) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) || listen(fd, backlog)) return -1;
    return fd;
}

static int connect_to(unsigned short port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* A port nothing listens on: bound once, then let go. */
static unsigned short free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a)) return 0;
    unsigned short port = port_of(fd);
    close(fd);
    return port;
}

/* --- TCP: 1 MiB each way between a child and its parent --- */
enum { kTotal = 1 << 20 };

/* The bytes of one direction, from a seed, and their checksum (FNV-1a). */
static unsigned char pattern(unsigned seed, long i) { return (unsigned char)((i * 2654435761u >> 7) ^ seed ^ (i >> 12)); }

static unsigned long checksum(unsigned long sum, const unsigned char* data, long n) {
    for (long i = 0; i < n; ++i) sum = (sum ^ data[i]) * 1099511628211ul;
    return sum;
}

static unsigned long expected(unsigned seed) {
    unsigned long sum = 14695981039346656037ul;
    for (long i = 0; i < kTotal; ++i) {
        unsigned char b = pattern(seed, i);
        sum = checksum(sum, &b, 1);
    }
    return sum;
}

static void fill(unsigned seed, long from, unsigned char* out, long n) {
    for (long i = 0; i < n; ++i) out[i] = pattern(seed, from + i);
}

static unsigned char big[65536];

/* The child: connects, sends 1 MiB with write (odd sizes), shuts its
   sending side, then takes the parent's 1 MiB with readv and recvmsg
   until the end; exit status 0 when all was right. */
static int tcp_child(unsigned short port) {
    int fd = connect_to(port);
    if (fd < 0) return 10;
    struct sockaddr_in peer;
    socklen_t n = sizeof peer;
    if (getpeername(fd, (struct sockaddr*)&peer, &n) || ntohs(peer.sin_port) != port ||
        peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
        return 11;
    for (long sent = 0; sent < kTotal;) {
        long chunk = 1 + (sent * 7919) % 20000;
        if (chunk > kTotal - sent) chunk = kTotal - sent;
        fill(1, sent, big, chunk);
        ssize_t w = write(fd, big, chunk);
        if (w <= 0) return 12;
        sent += w;
    }
    if (shutdown(fd, SHUT_WR)) return 13;
    unsigned long sum = 14695981039346656037ul;
    long got = 0;
    for (int turn = 0;; ++turn) {
        unsigned char a[1000], b[3000];
        struct iovec v[2] = {{a, sizeof a}, {b, sizeof b}};
        ssize_t r;
        if (turn % 2) {
            r = readv(fd, v, 2);
        } else {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_iov = v, m.msg_iovlen = 2;
            r = recvmsg(fd, &m, 0);
        }
        if (r < 0) return 14;
        if (r == 0) break;
        long first = r < (ssize_t)sizeof a ? r : (long)sizeof a;
        sum = checksum(sum, a, first);
        sum = checksum(sum, b, r - first);
        got += r;
    }
    if (got != kTotal) return 15;
    if (sum != expected(2)) return 16;
    close(fd);
    return 0;
}

static void tcp(void) {
    int l = listener(4);
    check("tcp", l >= 0, "socket, bind to 127.0.0.1 port 0, listen");
    unsigned short port = port_of(l);
    check("tcp", port != 0, "getsockname names the port bound");
    pid_t child = fork();
    if (child == 0) {
        close(l);
        _exit(tcp_child(port));
    }
    struct sockaddr_in from;
    socklen_t n = sizeof from;
    int c = accept(l, (struct sockaddr*)&from, &n);
    check("tcp", c >= 0 && n == sizeof from && from.sin_family == AF_INET &&
                     from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(from.sin_port) != port,
          "accept: the child's address");
    struct sockaddr_in local, peer;
    socklen_t ln = sizeof local, pn = sizeof peer;
    check("tcp", getsockname(c, (struct sockaddr*)&local, &ln) == 0 && ntohs(local.sin_port) == port &&
                     local.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "getsockname of the accepted socket: 127.0.0.1 and the listening port");
    check("tcp", getpeername(c, (struct sockaddr*)&peer, &pn) == 0 && peer.sin_port == from.sin_port,
          "getpeername: what accept said");
    unsigned long sum = 14695981039346656037ul;
    long got = 0;
    for (;;) {
        ssize_t r = recv(c, big, sizeof big, 0);
        if (r <= 0) {
            check("tcp", r == 0, "recv until the end of the stream (the child's shutdown)");
            break;
        }
        sum = checksum(sum, big, r);
        got += r;
    }
    check("tcp", got == kTotal && sum == expected(1), "1 MiB from the child, its checksum right");
    int sent_ok = 1;
    for (long sent = 0, turn = 0; sent < kTotal && sent_ok; ++turn) {
        static unsigned char a[5000], b[30000];
        long size = turn % 3 == 2 ? 100 : (long)(sizeof a + sizeof b);
        if (size > kTotal - sent) size = kTotal - sent;
        long first = size < (long)sizeof a ? size : (long)sizeof a;
        fill(2, sent, a, first);
        fill(2, sent + first, b, size - first);
        struct iovec v[2] = {{a, first}, {b, size - first}};
        ssize_t w;
        if (turn % 2) {
            w = writev(c, v, 2);
        } else {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_iov = v, m.msg_iovlen = 2;
            w = sendmsg(c, &m, 0);
        }
        if (w <= 0) sent_ok = 0;
        else sent += w;
    }
    check("tcp", sent_ok, "1 MiB back with writev and sendmsg (a blocking send takes all)");
    check("tcp", shutdown(c, SHUT_WR) == 0, "shutdown(SHUT_WR)");
    int status = -1;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) printf("linux-sockets: the child's status: %#x\n", status);
    check("tcp", WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child got 1 MiB with readv and recvmsg, its checksum right, then the end");
    char x;
    check("tcp", recv(c, &x, 1, 0) == 0, "recv after the peer closed: 0");
    close(c);
    close(l);
}

/* --- non-blocking: connect, poll, SO_ERROR, accept4, EAGAIN --- */
static void nonblocking(void) {
    int l = listener(4);
    unsigned short port = port_of(l);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    check("nonblocking", s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "socket(SOCK_NONBLOCK): O_NONBLOCK set");
    struct sockaddr_in a = loopback(port);
    int r = connect(s, (struct sockaddr*)&a, sizeof a);
    check("nonblocking", r == 0 || errno == EINPROGRESS, "connect: EINPROGRESS (or done at once)");
    struct pollfd p = {s, POLLOUT, 0};
    check("nonblocking", poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT) && !(p.revents & POLLERR),
          "poll: POLLOUT once connected");
    int error = -1;
    socklen_t n = sizeof error;
    check("nonblocking", getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &n) == 0 && error == 0 && n == sizeof error,
          "SO_ERROR: 0");
    int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    check("nonblocking", c >= 0 && (fcntl(c, F_GETFL) & O_NONBLOCK) && (fcntl(c, F_GETFD) & FD_CLOEXEC),
          "accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)");
    char buffer[16];
    errno = 0;
    check("nonblocking", recv(c, buffer, sizeof buffer, 0) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "recv with nothing there: EAGAIN");
    check("nonblocking", send(s, "ping", 4, 0) == 4, "send");
    p = (struct pollfd){c, POLLIN, 0};
    check("nonblocking", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: POLLIN once data came");
    check("nonblocking", read(c, buffer, sizeof buffer) == 4 && !memcmp(buffer, "ping", 4), "read it");
    int flags = fcntl(l, F_GETFL);
    check("nonblocking", fcntl(l, F_SETFL, flags | O_NONBLOCK) == 0, "fcntl(F_SETFL, O_NONBLOCK) on the listener");
    errno = 0;
    check("nonblocking", accept(l, NULL, NULL) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "accept with no connection waiting: EAGAIN");
    /* poll on the listener: a connection to accept is POLLIN. */
    int t = connect_to(port);
    p = (struct pollfd){l, POLLIN, 0};
    check("nonblocking", t >= 0 && poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: a connection to accept");
    int u = accept(l, NULL, NULL);
    check("nonblocking", u >= 0, "accept it");
    /* The peer's end is POLLIN too, and a read of 0. */
    close(t);
    p = (struct pollfd){u, POLLIN, 0};
    check("nonblocking", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN) && read(u, buffer, 1) == 0,
          "poll: the peer's end is POLLIN; read 0");
    close(u);
    close(c);
    close(s);
    /* Refused in the background: POLLERR, SO_ERROR says why (once). */
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = loopback(free_port());
    r = connect(s, (struct sockaddr*)&a, sizeof a);
    if (r == -1 && errno == EINPROGRESS) {
        p = (struct pollfd){s, POLLOUT, 0};
        check("nonblocking", poll(&p, 1, 5000) == 1 && (p.revents & (POLLERR | POLLHUP)),
              "poll on a refused connect: POLLERR");
        n = sizeof error;
        check("nonblocking", getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &n) == 0 && error == ECONNREFUSED,
              "SO_ERROR: ECONNREFUSED");
        check("nonblocking", getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &n) == 0 && error == 0,
              "SO_ERROR again: 0 (read once)");
    } else {
        check("nonblocking", r == -1 && errno == ECONNREFUSED, "a refused non-blocking connect");
    }
    close(s);
    close(l);
}

/* --- select on sockets, and a signal in a blocked recv --- */
static volatile int g_signals;
static void on_usr1(int signal) { (void)signal, ++g_signals; }

static void waits(void) {
    int l = listener(2);
    unsigned short port = port_of(l);
    int s = connect_to(port);
    int c = accept(l, NULL, NULL);
    check("waits", s >= 0 && c >= 0, "a connection");
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        pause_ms(100);
        if (write(s, "a", 1) != 1) _exit(1);
        pause_ms(200);
        kill(parent, SIGUSR1);  /* into a recv: EINTR */
        pause_ms(200);
        kill(parent, SIGUSR1);  /* into a recv with SA_RESTART: it goes on */
        pause_ms(200);
        if (write(s, "b", 1) != 1) _exit(1);
        _exit(0);
    }
    fd_set set;
    FD_ZERO(&set);
    FD_SET(c, &set);
    struct timeval tv = {5, 0};
    check("waits", select(c + 1, &set, NULL, NULL, &tv) == 1 && FD_ISSET(c, &set), "select: woken by the data");
    char x = 0;
    check("waits", recv(c, &x, 1, 0) == 1 && x == 'a', "recv it");
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    errno = 0;
    ssize_t r = recv(c, &x, 1, 0);
    check("waits", r == -1 && errno == EINTR && g_signals == 1, "a blocked recv ended by a signal: EINTR");
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, NULL);
    r = recv(c, &x, 1, 0);
    check("waits", r == 1 && x == 'b' && g_signals == 2, "with SA_RESTART it goes on, and gets the data");
    waitpid(child, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
    close(c);
    close(s);
    close(l);
}

/* --- UDP --- */
static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    struct sockaddr_in any = loopback(0);
    check("udp", a >= 0 && b >= 0 && bind(a, (struct sockaddr*)&any, sizeof any) == 0 &&
                     bind(b, (struct sockaddr*)&any, sizeof any) == 0,
          "two datagram sockets bound");
    int type = 0;
    socklen_t n = sizeof type;
    check("udp", getsockopt(a, SOL_SOCKET, SO_TYPE, &type, &n) == 0 && type == SOCK_DGRAM, "SO_TYPE: SOCK_DGRAM");
    struct sockaddr_in to = loopback(port_of(b)), from;
    check("udp", sendto(a, "datagram one", 12, 0, (struct sockaddr*)&to, sizeof to) == 12, "sendto");
    char buffer[64] = {0};
    socklen_t fn = sizeof from;
    ssize_t r = recvfrom(b, buffer, sizeof buffer, 0, (struct sockaddr*)&from, &fn);
    check("udp", r == 12 && !memcmp(buffer, "datagram one", 12) && fn == sizeof from &&
                     ntohs(from.sin_port) == port_of(a) && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "recvfrom: the datagram and who sent it");
    errno = 0;
    check("udp", send(a, "x", 1, 0) == -1 && errno == EDESTADDRREQ, "send with nowhere to go: EDESTADDRREQ");
    check("udp", connect(a, (struct sockaddr*)&to, sizeof to) == 0, "connect sets where sends go");
    check("udp", send(a, "two", 3, 0) == 3 && recv(b, buffer, sizeof buffer, 0) == 3 && !memcmp(buffer, "two", 3),
          "send after connect");
    struct pollfd p = {b, POLLIN, 0};
    errno = 0;
    check("udp", poll(&p, 1, 0) == 0 && recv(b, buffer, sizeof buffer, MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "nothing waits: poll 0, MSG_DONTWAIT's EAGAIN");
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in same = loopback(port_of(b));
    errno = 0;
    check("udp", bind(c, (struct sockaddr*)&same, sizeof same) == -1 && errno == EADDRINUSE,
          "a port bound already: EADDRINUSE");
    close(a);
    close(b);
    close(c);
}

/* --- MSG_PEEK: what is peeked at stays queued --- */
static int waiting(int fd) {
    int n = -1;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

static int readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void peek(void) {
    int l = listener(2);
    int s = connect_to(port_of(l));
    int c = accept(l, NULL, NULL);
    check("peek", s >= 0 && c >= 0, "a connection");
    char buffer[64] = {0};
    errno = 0;
    check("peek", recv(c, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "a peek with nothing there: EAGAIN");
    check("peek", send(s, "hello world", 11, 0) == 11, "send 11 bytes");
    struct pollfd p = {c, POLLIN, 0};
    check("peek", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: POLLIN");
    check("peek", recv(c, buffer, 5, MSG_PEEK) == 5 && !memcmp(buffer, "hello", 5), "peek at 5");
    memset(buffer, 0, sizeof buffer);
    check("peek", recv(c, buffer, 5, MSG_PEEK) == 5 && !memcmp(buffer, "hello", 5), "peek again: the same 5");
    check("peek", readable(c) && waiting(c) == 11, "still POLLIN, and FIONREAD says 11");
    struct iovec v[2] = {{buffer, 3}, {buffer + 3, 20}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = v, m.msg_iovlen = 2;
    memset(buffer, 0, sizeof buffer);
    check("peek", recvmsg(c, &m, MSG_PEEK) == 11 && !memcmp(buffer, "hello world", 11) && m.msg_flags == 0,
          "recvmsg(MSG_PEEK) into two iovecs: all 11");
    check("peek", recv(c, NULL, 3, MSG_PEEK | MSG_TRUNC) == 3, "MSG_PEEK | MSG_TRUNC: 3, nothing copied");
    memset(buffer, 0, sizeof buffer);
    check("peek", read(c, buffer, sizeof buffer) == 11 && !memcmp(buffer, "hello world", 11),
          "then read takes them: all 11 from the start");
    errno = 0;
    check("peek", !readable(c) && recv(c, buffer, sizeof buffer, MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "and they are gone: no POLLIN, EAGAIN");
    check("peek", send(s, "abcdef", 6, 0) == 6 && poll(&p, 1, 5000) == 1, "6 more");
    check("peek", recv(c, NULL, 2, MSG_TRUNC) == 2, "recv(MSG_TRUNC) on a stream: 2 discarded");
    memset(buffer, 0, sizeof buffer);
    check("peek", recv(c, buffer, sizeof buffer, 0) == 4 && !memcmp(buffer, "cdef", 4), "the rest: cdef");

    /* A peek with MSG_WAITALL waits until that much has come, and takes none. */
    pid_t child = fork();
    if (child == 0) {
        if (send(s, "abc", 3, 0) != 3) _exit(1);
        pause_ms(100);
        if (send(s, "defgh", 5, 0) != 5) _exit(1);
        _exit(0);
    }
    memset(buffer, 0, sizeof buffer);
    check("peek", recv(c, buffer, 8, MSG_PEEK | MSG_WAITALL) == 8 && !memcmp(buffer, "abcdefgh", 8),
          "MSG_PEEK | MSG_WAITALL: all 8, sent in two pieces");
    memset(buffer, 0, sizeof buffer);
    check("peek", recv(c, buffer, 8, MSG_WAITALL) == 8 && !memcmp(buffer, "abcdefgh", 8), "and a receive takes them");
    waitpid(child, NULL, 0);
    check("peek", send(s, "xy", 2, 0) == 2 && shutdown(s, SHUT_WR) == 0, "2 more, then the end");
    check("peek", recv(c, buffer, 10, MSG_PEEK | MSG_WAITALL) == 2,
          "MSG_PEEK | MSG_WAITALL before the end: what there is, 2");
    check("peek", recv(c, buffer, 10, 0) == 2 && recv(c, buffer, 10, MSG_PEEK) == 0, "taken; then a peek: the end, 0");
    close(c);
    close(s);
    close(l);

    /* Datagrams: the head one, cut to the buffer, stays queued. */
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = loopback(0);
    check("peek", a >= 0 && b >= 0 && bind(a, (struct sockaddr*)&any, sizeof any) == 0 &&
                      bind(b, (struct sockaddr*)&any, sizeof any) == 0,
          "two datagram sockets");
    struct sockaddr_in to = loopback(port_of(b)), from;
    check("peek", sendto(a, "hello world", 11, 0, (struct sockaddr*)&to, sizeof to) == 11 &&
                      sendto(a, "second", 6, 0, (struct sockaddr*)&to, sizeof to) == 6,
          "two datagrams sent");
    p = (struct pollfd){b, POLLIN, 0};
    check("peek", poll(&p, 1, 5000) == 1, "poll: the first came");
    memset(buffer, 0, sizeof buffer);
    socklen_t fn = sizeof from;
    check("peek", recvfrom(b, buffer, 4, MSG_PEEK, (struct sockaddr*)&from, &fn) == 4 && !memcmp(buffer, "hell", 5) &&
                      fn == sizeof from && ntohs(from.sin_port) == port_of(a),
          "recvfrom(MSG_PEEK) into 4 bytes: hell, and the sender");
    check("peek", recv(b, buffer, 4, MSG_PEEK | MSG_TRUNC) == 11, "MSG_PEEK | MSG_TRUNC: the datagram's size, 11");
    struct iovec one = {buffer, 4};
    memset(&m, 0, sizeof m);
    m.msg_iov = &one, m.msg_iovlen = 1;
    check("peek", recvmsg(b, &m, MSG_PEEK) == 4 && (m.msg_flags & MSG_TRUNC), "recvmsg(MSG_PEEK): 4, and MSG_TRUNC");
    check("peek", readable(b) && waiting(b) == 11, "still POLLIN, and FIONREAD: the head datagram's 11");
    memset(buffer, 0, sizeof buffer);
    check("peek", recv(b, buffer, sizeof buffer, 0) == 11 && !memcmp(buffer, "hello world", 11),
          "recv: the whole first datagram");
    memset(&m, 0, sizeof m);
    m.msg_iov = &one, m.msg_iovlen = 1;
    check("peek", recvmsg(b, &m, 0) == 4 && !memcmp(buffer, "seco", 4) && (m.msg_flags & MSG_TRUNC),
          "recvmsg into 4 bytes: the second, cut, with MSG_TRUNC");
    errno = 0;
    check("peek", recv(b, buffer, sizeof buffer, MSG_DONTWAIT) == -1 && errno == EAGAIN, "its rest is lost: EAGAIN");
    check("peek", sendto(a, "", 0, 0, (struct sockaddr*)&to, sizeof to) == 0 && poll(&p, 1, 5000) == 1,
          "an empty datagram comes");
    check("peek", recv(b, buffer, sizeof buffer, MSG_PEEK) == 0 && readable(b), "a peek: 0, and it stays");
    errno = 0;
    check("peek", recv(b, buffer, sizeof buffer, 0) == 0 && recv(b, buffer, sizeof buffer, MSG_DONTWAIT) == -1 &&
                      errno == EAGAIN,
          "recv takes it: 0, then EAGAIN");
    close(a);
    close(b);
}

/* --- MSG_WAITALL: a writer that sends in pieces --- */
enum { kPieces = 10, kPiece = 7001 };  /* 70,010 bytes: more than one 32 KiB chunk of net: */
static unsigned char whole[kPieces * kPiece];

static void waitall(void) {
    int l = listener(2);
    int s = connect_to(port_of(l));
    int c = accept(l, NULL, NULL);
    check("waitall", s >= 0 && c >= 0, "a connection");
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    int before = g_signals;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < kPieces; ++i) {
            fill(3, (long)i * kPiece, big, kPiece);
            if (send(s, big, kPiece, 0) != kPiece) _exit(1);
            pause_ms(20);
        }
        pause_ms(100);
        if (send(s, "abc", 3, 0) != 3) _exit(1);  /* a part, then a signal */
        pause_ms(200);
        kill(parent, SIGUSR1);
        pause_ms(100);
        if (send(s, "0123456789", 10, 0) != 10) _exit(1);  /* then 10 and the end */
        _exit(0);
    }
    close(s);  /* the child's end alone: its exit is the end of the stream */
    ssize_t r = recv(c, whole, sizeof whole, MSG_WAITALL);
    unsigned char* expect = malloc(sizeof whole);
    if (expect) fill(3, 0, expect, sizeof whole);
    check("waitall", r == (ssize_t)sizeof whole && expect && !memcmp(whole, expect, sizeof whole),
          "recv(MSG_WAITALL) of 70,010 bytes sent in 10 pieces: all of them, in order");
    free(expect);
    char buffer[64] = {0};
    r = recv(c, buffer, 20, MSG_WAITALL);
    check("waitall", r == 3 && !memcmp(buffer, "abc", 3) && g_signals == before + 1,
          "a signal in recv(MSG_WAITALL): what had come, 3");
    signal(SIGUSR1, SIG_DFL);
    r = recv(c, buffer, 20, MSG_WAITALL);
    check("waitall", r == 10 && !memcmp(buffer, "0123456789", 10), "the end of the stream: what had come, 10");
    check("waitall", recv(c, buffer, 20, MSG_WAITALL) == 0, "then 0");
    waitpid(child, NULL, 0);
    close(c);

    /* Not blocking: what there is. */
    s = connect_to(port_of(l));
    c = accept(l, NULL, NULL);
    errno = 0;
    check("waitall", recv(c, buffer, 8, MSG_WAITALL | MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "with MSG_DONTWAIT and nothing there: EAGAIN");
    struct pollfd p = {c, POLLIN, 0};
    check("waitall", send(s, "ab", 2, 0) == 2 && poll(&p, 1, 5000) == 1 &&
                         recv(c, buffer, 8, MSG_WAITALL | MSG_DONTWAIT) == 2,
          "with MSG_DONTWAIT: the 2 there are");
    close(c);
    close(s);
    close(l);

    /* A datagram socket ignores it: one datagram. */
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = loopback(0);
    bind(b, (struct sockaddr*)&any, sizeof any);
    struct sockaddr_in to = loopback(port_of(b));
    check("waitall", sendto(a, "short", 5, 0, (struct sockaddr*)&to, sizeof to) == 5 &&
                         recv(b, buffer, sizeof buffer, MSG_WAITALL) == 5,
          "a datagram socket ignores it: 5 of 64");
    close(a);
    close(b);
}

/* --- MSG_OOB: no urgent data to read --- */
static void oob(void) {
    int l = listener(2);
    int s = connect_to(port_of(l));
    int c = accept(l, NULL, NULL);
    check("oob", s >= 0 && c >= 0, "a connection");
    char buffer[8];
    errno = 0;
    check("oob", recv(c, buffer, sizeof buffer, MSG_OOB) == -1 && errno == EINVAL,
          "recv(MSG_OOB) with no urgent data: EINVAL");
    errno = 0;
    check("oob", recv(c, buffer, sizeof buffer, MSG_OOB | MSG_PEEK) == -1 && errno == EINVAL,
          "recv(MSG_OOB | MSG_PEEK): EINVAL");
    errno = 0;
    check("oob", recv(l, buffer, sizeof buffer, MSG_OOB) == -1 && errno == ENOTCONN,
          "recv(MSG_OOB) on a listening socket: ENOTCONN");
    check("oob", send(s, "in", 2, 0) == 2 && recv(c, buffer, sizeof buffer, 0) == 2, "the stream goes on");
    errno = 0;
    ssize_t r = send(s, "u", 1, MSG_OOB);
    if (r == 1)
        printf("linux-sockets: send(MSG_OOB): urgent data sent, as Linux can\n");
    else
        check("oob", r == -1 && errno == EOPNOTSUPP, "send(MSG_OOB): EOPNOTSUPP (no urgent data to send)");
    close(c);
    close(s);
    close(l);
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = loopback(0);
    bind(b, (struct sockaddr*)&any, sizeof any);
    struct sockaddr_in to = loopback(port_of(b));
    errno = 0;
    check("oob", sendto(a, "x", 1, MSG_OOB, (struct sockaddr*)&to, sizeof to) == -1 && errno == EOPNOTSUPP,
          "sendto(MSG_OOB) on a datagram socket: EOPNOTSUPP");
    struct pollfd p = {b, POLLIN, 0};
    check("oob", sendto(a, "dgram", 5, 0, (struct sockaddr*)&to, sizeof to) == 5 && poll(&p, 1, 5000) == 1 &&
                     recv(b, buffer, sizeof buffer, MSG_OOB) == 5,
          "recv(MSG_OOB) on a datagram socket: the flag ignored, the datagram");
    close(a);
    close(b);
}

/* --- errors: refused, in use, options, pointers, lengths, families --- */
static void errors(void) {
    struct sockaddr_in a = loopback(free_port());
    int s = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    check("errors", connect(s, (struct sockaddr*)&a, sizeof a) == -1 && errno == ECONNREFUSED,
          "connect to a port nobody listens on: ECONNREFUSED");
    close(s);

    int l = listener(1);
    struct sockaddr_in taken = loopback(port_of(l));
    s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    check("errors", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "SO_REUSEADDR");
    errno = 0;
    check("errors", bind(s, (struct sockaddr*)&taken, sizeof taken) == -1 && errno == EADDRINUSE,
          "bind where a socket listens: EADDRINUSE");
    int value = 0;
    socklen_t n = sizeof value;
    check("errors", getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &value, &n) == 0 && value == 1, "SO_REUSEADDR reads back");
    check("errors", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
                     getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &value, &n) == 0 && value == 1,
          "TCP_NODELAY");
    check("errors", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0, "SO_KEEPALIVE");
    int size = 65536;
    check("errors", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0 &&
                     setsockopt(s, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0 &&
                     getsockopt(s, SOL_SOCKET, SO_RCVBUF, &value, &n) == 0 && value >= size,
          "SO_RCVBUF, SO_SNDBUF");
    errno = 0;
    check("errors", setsockopt(s, SOL_SOCKET, 9999, &one, sizeof one) == -1 && errno == ENOPROTOOPT,
          "an option nobody knows: ENOPROTOOPT");
    errno = 0;
    check("errors", listen(socket(AF_INET, SOCK_DGRAM, 0), 1) == -1 && errno == EOPNOTSUPP,
          "listen on a datagram socket: EOPNOTSUPP");
    errno = 0;
    check("errors", recv(s, &value, 1, 0) == -1 && errno == ENOTCONN, "recv without a connection: ENOTCONN");
    errno = 0;
    check("errors", recv(0, &value, 1, MSG_DONTWAIT) == -1 && errno == ENOTSOCK, "recv on a non-socket: ENOTSOCK");

    struct sockaddr_in any = loopback(0);
    /* Bad pointers: EFAULT, and nothing lost. */
    void* bad = (void*)16;
    errno = 0;
    check("errors", bind(s, bad, sizeof a) == -1 && errno == EFAULT, "bind from a bad pointer: EFAULT");
    errno = 0;
    check("errors", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, bad, sizeof one) == -1 && errno == EFAULT,
          "setsockopt from a bad pointer: EFAULT");
    errno = 0;
    check("errors", getsockopt(s, SOL_SOCKET, SO_TYPE, &value, bad) == -1 && errno == EFAULT,
          "getsockopt with a bad length pointer: EFAULT");
    errno = 0;
    check("errors", getsockname(s, (struct sockaddr*)&a, bad) == -1 && errno == EFAULT,
          "getsockname with a bad length pointer: EFAULT");
    close(s);
    s = connect_to(port_of(l));
    int c = accept(l, NULL, NULL);
    errno = 0;
    check("errors", s >= 0 && c >= 0 && send(s, bad, 10, 0) == -1 && errno == EFAULT, "send from a bad pointer: EFAULT");
    check("errors", send(s, "kept", 4, 0) == 4, "send");
    pause_ms(50);
    errno = 0;
    check("errors", recv(c, bad, 4, 0) == -1 && errno == EFAULT, "recv into a bad pointer: EFAULT");
    char buffer[8] = {0};
    check("errors", recv(c, buffer, sizeof buffer, 0) == 4 && !memcmp(buffer, "kept", 4), "the data is still there");
    struct sockaddr_in sender;
    socklen_t sn = sizeof sender;
    check("errors", send(s, "more", 4, 0) == 4 && recvfrom(c, buffer, sizeof buffer, 0, (struct sockaddr*)&sender, &sn) == 4 &&
                        sn == 0,
          "recvfrom on a stream names no sender (length 0)");
    check("errors", sendto(s, "to", 2, 0, (struct sockaddr*)&any, 4) == 2 && recv(c, buffer, sizeof buffer, 0) == 2,
          "sendto on a stream goes where it is connected (the address only read)");

    /* Bad lengths: EINVAL. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    check("errors", bind(t, (struct sockaddr*)&any, 4) == -1 && errno == EINVAL, "bind with a short address: EINVAL");
    errno = 0;
    check("errors", connect(t, (struct sockaddr*)&any, 200) == -1 && errno == EINVAL,
          "connect with an address too long: EINVAL");
    errno = 0;
    check("errors", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 2) == -1 && errno == EINVAL,
          "setsockopt with a short value: EINVAL");
    socklen_t negative = (socklen_t)-1;
    errno = 0;
    check("errors", getsockname(t, (struct sockaddr*)&a, &negative) == -1 && errno == EINVAL,
          "getsockname with a negative length: EINVAL");
    struct sockaddr_in six = any;
    six.sin_family = AF_INET6;
    errno = 0;
    check("errors", bind(t, (struct sockaddr*)&six, sizeof six) == -1 && errno == EAFNOSUPPORT,
          "bind to an address of another family: EAFNOSUPPORT");
    errno = 0;
    check("errors", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP) == -1 && errno == EPROTONOSUPPORT,
          "TCP with UDP's protocol: EPROTONOSUPPORT");
    errno = 0;
    check("errors", accept(t, NULL, NULL) == -1 && errno == EINVAL, "accept on a socket that does not listen: EINVAL");
    close(t);

    /* Families: AF_UNIX is Linux's own, not the personality's. */
    errno = 0;
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    if (u >= 0) {
        printf("linux-sockets: AF_UNIX: a family this system has\n");
        close(u);
    } else {
        check("errors", errno == EAFNOSUPPORT, "socket(AF_UNIX): EAFNOSUPPORT");
    }
    close(c);
    close(s);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    tcp();
    nonblocking();
    waits();
    udp();
    peek();
    waitall();
    oob();
    errors();
    printf("linux-sockets: done, %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
