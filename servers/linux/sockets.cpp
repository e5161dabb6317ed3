// Sockets of Linux programs, over the TCP/IP server (net:, proto/net.h):
// AF_INET stream and datagram sockets, each a socket of net: that the
// descriptors holding it share (dup, fork) and that is closed there at the
// last close. No other family: AF_UNIX, AF_INET6 and the rest are
// EAFNOSUPPORT, as Linux answers for a family it was built without.
//
// The personality's main thread serves every program, so it never waits in
// net: — every call says kNonBlocking. A call on a blocking descriptor that
// cannot go on waits with its saved reply (Task::socket, a Waiter that a
// signal takes back as it takes a pipe's), and a Watch is armed on its
// socket; net: signals our notification (given with Notify) at the
// socket's next change, a waker thread turns that into a Wake message, and
// the main thread tries the waiting calls again (socket_wake), arming again
// those that still cannot go on. poll and select arm watches the same way
// (socket_ready). A restart of net: loses its watches: while one is out,
// the waker wakes the main thread each second too, and what waits on an
// old socket hears ECONNRESET. A blocking send sends all it was given, as
// Linux's does.
//
// net: keeps few options: its ports can always be bound again, streams are
// sent without delay, and its buffers are its own; so SO_REUSEADDR,
// SO_KEEPALIVE, TCP_NODELAY, SO_RCVBUF and SO_SNDBUF are kept here only to
// be read back. MSG_PEEK is net:'s (kPeek): what is peeked at stays there,
// the one queue that receives, poll and FIONREAD all look at. MSG_WAITALL,
// MSG_TRUNC as Linux has them (receive()). No urgent data: lwIP sends none
// and takes a peer's in line, so a send with MSG_OOB is EOPNOTSUPP and a
// stream's receive with it EINVAL, as on Linux with SO_OOBINLINE. Not yet:
// control messages, datagrams over 32 KiB, a peek past the first 32 KiB.
#include <new>

#include "linux_abi.h"
#include "mica/files.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "process.h"
#include "proto/net.h"

using namespace mica;
namespace pn = proto::net;

namespace personality {

struct Socket {
    uint64_t id = 0;    // net:'s number
    uint32_t refs = 0;  // descriptors that hold it
    uint32_t type = 0;  // SOCK_STREAM or SOCK_DGRAM
    bool listening = false, connecting = false, connected = false;
    bool read_shut = false, write_shut = false;
    int64_t error = 0;     // SO_ERROR (an errno): how a connect ended, until asked
    uint32_t options = 0;  // the flags of kFlagOptions set, a bit each
    int32_t buffers[2] = {212992, 212992};  // SO_RCVBUF, SO_SNDBUF (doubled when set, as Linux does)
};

namespace {

constexpr uint64_t kAfInet = 2;
constexpr uint64_t kSockStream = 1, kSockDgram = 2, kSockNonblock = lx::kONonblock, kSockCloexec = lx::kOCloexec;
constexpr uint64_t kSolSocket = 1, kIpprotoTcp = 6, kIpprotoUdp = 17;
constexpr uint64_t kSoReuseaddr = 2, kSoType = 3, kSoError = 4, kSoSndbuf = 7, kSoRcvbuf = 8, kSoKeepalive = 9,
                   kTcpNodelay = 1;
constexpr uint64_t kMsgOob = 1, kMsgPeek = 2, kMsgTrunc = 0x20, kMsgDontwait = 0x40, kMsgWaitall = 0x100,
                   kMsgNosignal = 0x4000;
constexpr int kSigpipe = 13;
constexpr int32_t kMaxAddress = 128;       // sizeof(struct sockaddr_storage)
constexpr uint64_t kMaxIovecs = 1024;      // UIO_MAXIOV
constexpr uint64_t kLaterNs = 10'000'000;  // see later()
constexpr uint64_t kRecheckNs = 1'000'000'000;

struct Option {
    uint64_t level, name;
};
constexpr Option kFlagOptions[] = {{kSolSocket, kSoReuseaddr}, {kSolSocket, kSoKeepalive}, {kIpprotoTcp, kTcpNodelay}};

struct SockaddrIn {  // in network byte order
    uint16_t family, port;
    uint32_t address;
    uint8_t zero[8];
};

struct Msghdr {
    uint64_t name;
    uint32_t namelen, pad;
    uint64_t iov, iovlen, control, controllen;
    int32_t flags, pad2;
};
static_assert(sizeof(Msghdr) == 56);

Handle g_net = kNoHandle;           // net:, found at the first socket
Handle g_notification = kNoHandle;  // what net: signals (Notify), and the waker waits on
bool g_later = false;               // the waker waits kLaterNs before it wakes the main thread
bool g_armed = false;               // a watch may be out: the waker wakes the main thread each second
pn::Send::Request g_send;           // large messages, not on the stack
pn::Receive::Reply g_receive;

int64_t err(int64_t mica_error) { return -lx::errno_of(mica_error); }

template <class Op>
int64_t net_call(const typename Op::Request& q, typename Op::Reply* r, uint32_t size = sizeof(typename Op::Request)) {
    return rpc::call<Op>(g_net, q, r, {}, size);
}

// At the personality's priority, above its programs: it only passes net:'s
// signal on, as a Wake message to the main thread, which touches programs.
void waker(void*) {
    for (;;) {
        if (sys::notification_wait(g_notification, kRecheckNs) == kErrTimedOut) {
            if (!__atomic_exchange_n(&g_armed, false, __ATOMIC_SEQ_CST)) continue;  // the calls re-arm it
        } else if (__atomic_exchange_n(&g_later, false, __ATOMIC_SEQ_CST)) {
            sys::thread_sleep(kLaterNs);
        }
        wake_main();
    }
}

// Gives net: our notification again (a copy: a handle sent is gone even
// when the call meets a restarting server).
int64_t notify() {
    auto copy = sys::handle_duplicate(g_notification, kRightSignal | kRightTransfer);
    if (!copy.ok()) return copy.error();
    pn::Notify::Request q{1};
    pn::Notify::Reply r;
    return rpc::call<pn::Notify>(g_net, q, &r, rpc::Extras{.send_handle = copy.value(), .send_rights = kRightSignal});
}

// net:, the notification and the waker, the first time a program makes a
// socket; false when there is no TCP/IP server.
bool reach_net() {
    if (g_notification != kNoHandle) return true;
    g_net = files::scheme_endpoint("net");
    if (g_net == kNoHandle) return false;
    auto n = sys::notification_create();
    if (!n.ok()) return false;
    g_notification = n.value();
    int64_t t = start_thread(waker, nullptr, 16, 16 * 1024);
    if (t < 0) {
        sys::handle_close(g_notification);
        g_notification = kNoHandle;
        return false;
    }
    sys::handle_close(static_cast<Handle>(t));
    notify();  // if it fails, the first Watch gives it again
    // Sockets an earlier incarnation of ours left (its programs are gone).
    pn::Forget::Request fq{};
    pn::Forget::Reply fr;
    if (rpc::call<pn::Forget>(g_net, fq, &fr) == kOk && fr.closed)
        logf("linux: net: %u sockets of an earlier incarnation closed", fr.closed);
    return true;
}

int64_t status(const Socket& k, pn::Status::Reply* st) {
    pn::Status::Request q{k.id};
    return net_call<pn::Status>(q, st);
}

// The socket's `events` it has now (and kFailed); none: a watch is armed
// and net: signals us at its next change. A stream is readable here with
// more than `beyond` bytes waiting (a peek that waits for more).
uint32_t watch(const Socket& k, uint32_t events, uint32_t beyond = 0) {
    pn::Watch::Request q{k.id, events, beyond};
    pn::Watch::Reply r{};
    int64_t e = net_call<pn::Watch>(q, &r);
    if (e == kErrBadState && notify() == kOk) e = net_call<pn::Watch>(q, &r);  // a new net: knows us not
    if (e < 0) return pn::kFailed;
    if (!r.events) __atomic_store_n(&g_armed, true, __ATOMIC_SEQ_CST);
    return r.events;
}

// The watch said ready, and the call still cannot go on (net: is short of
// segments, say): it is tried again in a while rather than at once.
void later() {
    __atomic_store_n(&g_later, true, __ATOMIC_SEQ_CST);
    sys::notification_signal(g_notification, 1);
}

// A connect under way, looked at: done (connected, or its error kept for
// SO_ERROR), or still going.
void settle_connect(Socket& k) {
    if (!k.connecting) return;
    pn::Status::Reply st{};
    int64_t e = status(k, &st);
    if (e >= 0 && st.state == pn::kConnecting) return;
    k.connecting = false;
    k.connected = e >= 0 && st.state == pn::kConnected;
    if (!k.connected) k.error = lx::errno_of(e < 0 ? e : st.error ? int64_t{st.error} : int64_t{kErrConnectionReset});
}

// --- addresses ---------------------------------------------------------------------

// An address as Linux takes any (at most 128 bytes, all readable) before
// the protocol looks at it: its size, or -errno.
int64_t copy_address(Process& p, uint64_t from, uint64_t length, SockaddrIn* sa) {
    int32_t n = static_cast<int32_t>(length);
    if (n < 0 || n > kMaxAddress) return -lx::kEINVAL;
    uint8_t raw[kMaxAddress] = {};
    if (copy_in(p, from, raw, static_cast<size_t>(n))) return -lx::kEFAULT;
    memcpy(sa, raw, sizeof *sa);
    return n;
}

// A sockaddr_in from the program, in host order; 0 or -errno.
int64_t get_address(Process& p, uint64_t from, uint64_t length, uint32_t* address, uint16_t* port) {
    SockaddrIn sa;
    int64_t n = copy_address(p, from, length, &sa);
    if (n < 0) return n;
    if (n < static_cast<int64_t>(sizeof sa)) return -lx::kEINVAL;
    if (sa.family != kAfInet) return -lx::kEAFNOSUPPORT;
    *address = __builtin_bswap32(sa.address), *port = __builtin_bswap16(sa.port);
    return 0;
}

// Where an address goes, checked before the call acts (a connection
// accepted, data received, must not be lost to a bad pointer): the room
// `*length_at` says there is, and that `to` can take it (unless `none`
// will go there: a stream's receive names no sender).
int64_t address_room(Process& p, uint64_t to, uint64_t length_at, int32_t* room, bool none = false) {
    if (copy_in(p, length_at, room, sizeof *room)) return -lx::kEFAULT;
    if (*room < 0) return -lx::kEINVAL;
    size_t n = *room < static_cast<int32_t>(sizeof(SockaddrIn)) ? static_cast<size_t>(*room) : sizeof(SockaddrIn);
    return check_out(p, to, none ? 0 : n) || check_out(p, length_at, sizeof *room) ? -lx::kEFAULT : 0;
}

// Writes the address (as much as `room` takes) and its whole size; with
// `none`, a size of 0 (a stream's receive names no sender).
int64_t put_address(Process& p, uint64_t to, int32_t room, uint64_t length_at, uint32_t address, uint16_t port,
                    bool none = false) {
    SockaddrIn sa{static_cast<uint16_t>(kAfInet), __builtin_bswap16(port), __builtin_bswap32(address), {}};
    uint32_t size = none ? 0 : sizeof sa;
    size_t n = static_cast<uint32_t>(room) < size ? static_cast<size_t>(room) : size;
    return copy_out(p, to, &sa, n) || copy_out(p, length_at, &size, sizeof size) ? -lx::kEFAULT : 0;
}

// --- the program's buffers ---------------------------------------------------------

// The buffers of one call: one (read, write, sendto, recvfrom), or an
// array of iovecs (readv, writev, sendmsg, recvmsg).
struct Buffers {
    uint64_t base = 0, count = 0;  // the buffer and its size, or the array and its length
    bool vector = false;
};

// fn(address, at, n) for each piece of the `size` bytes from `skip` on
// (`at` counts from skip); stops at fn's first error.
template <class Fn>
int64_t each(Process& p, const Buffers& b, uint64_t skip, uint64_t size, Fn fn) {
    uint64_t at = 0;
    for (uint64_t i = 0; at < size && i < (b.vector ? b.count : 1); ++i) {
        lx::Iovec v{b.base, b.count};
        if (b.vector && copy_in(p, b.base + i * sizeof v, &v, sizeof v)) return -lx::kEFAULT;
        if (skip >= v.len) {
            skip -= v.len;
            continue;
        }
        uint64_t n = v.len - skip < size - at ? v.len - skip : size - at;
        if (int64_t e = fn(v.base + skip, at, n)) return e;
        skip = 0, at += n;
    }
    return 0;
}

// Their whole size (for iovecs, checked as Linux does: at most 1,024, and
// a sum that a ssize_t holds), or -errno.
int64_t total(Process& p, const Buffers& b) {
    constexpr uint64_t kMost = 1ULL << 62;
    if (!b.vector) return static_cast<int64_t>(b.count < kMost ? b.count : kMost);
    if (b.count > kMaxIovecs) return -lx::kEINVAL;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < b.count; ++i) {
        lx::Iovec v;
        if (copy_in(p, b.base + i * sizeof v, &v, sizeof v)) return -lx::kEFAULT;
        if (v.len > kMost - sum) return -lx::kEINVAL;
        sum += v.len;
    }
    return static_cast<int64_t>(sum);
}

int64_t gather(Process& p, const Buffers& b, uint64_t skip, uint8_t* out, uint64_t size) {
    return each(p, b, skip, size, [&](uint64_t address, uint64_t at, uint64_t n) -> int64_t {
        return copy_in(p, address, out + at, n) ? -lx::kEFAULT : 0;
    });
}

// Into the buffers from `skip` on; with data null, only sees that they can
// take `size` bytes.
int64_t scatter(Process& p, const Buffers& b, uint64_t skip, const uint8_t* data, uint64_t size) {
    return each(p, b, skip, size, [&](uint64_t address, uint64_t at, uint64_t n) -> int64_t {
        return (data ? copy_out(p, address, data + at, n) : check_out(p, address, n)) ? -lx::kEFAULT : 0;
    });
}

// A transfer, as the call that asks for it says it.
struct Transfer {
    Buffers data;
    uint64_t flags = 0;        // MSG_*
    uint64_t name = 0;         // the peer's address: where it is (a send) or goes (a receive); 0: none
    uint64_t name_length = 0;  // a send: its size
    uint64_t length_at = 0;    // a receive: where its size is (the room on the way in)
    uint64_t msghdr = 0;       // recvmsg's, whose flags and control size are written back
};

int64_t decode(Process& p, uint64_t number, const uint64_t* a, Transfer* t) {
    switch (number) {
        case lx::kRead:
        case lx::kWrite: t->data = {a[1], a[2], false}; return 0;
        case lx::kReadv:
        case lx::kWritev: t->data = {a[1], a[2], true}; return 0;
        case lx::kSendto:
        case lx::kRecvfrom:
            t->data = {a[1], a[2], false};
            t->flags = a[3], t->name = a[4];
            if (number == lx::kSendto) t->name_length = a[5];
            else t->length_at = a[5];
            return 0;
        default: {  // sendmsg, recvmsg
            Msghdr m;
            if (copy_in(p, a[1], &m, sizeof m)) return -lx::kEFAULT;
            t->data = {m.iov, m.iovlen, true};
            t->flags = a[2], t->name = m.name;
            if (number == lx::kSendmsg) t->name_length = m.namelen;
            else t->length_at = a[1] + offsetof(Msghdr, namelen), t->msghdr = a[1];
            return 0;
        }
    }
}

// --- the calls ---------------------------------------------------------------------

// One try of a call (the first, or again after a wait).
struct Attempt {
    Process& p;
    uint64_t done = 0;         // a stream's send: bytes sent in earlier tries; a receive: bytes
                               // in the program's buffer (MSG_WAITALL)
    bool retry = false;
    bool nonblocking = false;  // the descriptor's O_NONBLOCK, or MSG_DONTWAIT
    Socket* socket = nullptr;  // the socket it is about
    uint32_t wait_for = 0;     // a blocking call that cannot go on: the events it waits for
    uint32_t beyond = 0;       // and, readable, more than this many bytes (a peek's)
    bool sigpipe = false;      // it wrote to a connection that is gone: SIGPIPE once answered
};

// A call that would block: EAGAIN, or (blocking) a wait for `events`.
int64_t would_block(Attempt& at, uint32_t events, uint32_t beyond = 0) {
    if (at.nonblocking) return -lx::kEAGAIN;
    at.wait_for = events, at.beyond = beyond;
    return 0;
}

// Descriptor fd holds socket k (its first), with socket()'s or accept4()'s flags.
int64_t install(Process& p, int64_t fd, Socket* k, uint64_t flags) {
    k->refs = 1;
    p.fds[fd] = Fd{Fd::kSocket, (flags & kSockCloexec) != 0, new_description(), lx::kORdWr | (flags & kSockNonblock)};
    p.fds[fd].socket = k;
    return fd;
}

int64_t make(Process& p, uint64_t domain, uint64_t type, uint64_t protocol) {
    uint64_t kind = type & ~(kSockNonblock | kSockCloexec);
    if (static_cast<uint32_t>(domain) != kAfInet) return -lx::kEAFNOSUPPORT;
    if (kind != kSockStream && kind != kSockDgram) return -lx::kESOCKTNOSUPPORT;
    if (protocol && protocol != (kind == kSockStream ? kIpprotoTcp : kIpprotoUdp)) return -lx::kEPROTONOSUPPORT;
    int64_t fd = free_fd(p);
    if (fd < 0) return fd;
    if (!reach_net()) return -lx::kEAFNOSUPPORT;  // no TCP/IP: no AF_INET either
    auto* k = new (std::nothrow) Socket{};
    if (!k) return -lx::kENOMEM;
    pn::Socket::Request q{kind == kSockStream ? pn::kStream : pn::kDatagram, 0};
    pn::Socket::Reply r;
    if (int64_t e = net_call<pn::Socket>(q, &r); e < 0) {
        delete k;
        return e == kErrLimit ? -lx::kEMFILE : err(e);
    }
    k->id = r.socket, k->type = static_cast<uint32_t>(kind);
    return install(p, fd, k, type);
}

int64_t bind(Process& p, Socket& k, uint64_t from, uint64_t length) {
    uint32_t address;
    uint16_t port;
    if (int64_t e = get_address(p, from, length, &address, &port)) return e;
    pn::Bind::Request q{k.id, address, port, 0};
    pn::Bind::Reply r;
    int64_t e = net_call<pn::Bind>(q, &r);
    return e == kErrBadState ? -lx::kEINVAL : e < 0 ? err(e) : 0;  // bound already: EINVAL
}

int64_t listen(Socket& k, uint64_t backlog) {
    if (k.type != kSockStream) return -lx::kEOPNOTSUPP;
    if (k.listening) return 0;
    if (k.connected || k.connecting) return -lx::kEINVAL;
    int32_t wanted = static_cast<int32_t>(backlog);
    pn::Listen::Request q{k.id, wanted < 0 || wanted > 16 ? 16u : static_cast<uint32_t>(wanted), 0};  // net:'s most
    pn::Listen::Reply r;
    int64_t e = net_call<pn::Listen>(q, &r);
    if (e < 0) return e == kErrBadState ? -lx::kEINVAL : err(e);
    k.listening = true;
    return 0;
}

int64_t accept(Attempt& at, Socket& k, uint64_t to, uint64_t length_at, uint64_t flags) {
    Process& p = at.p;
    if (flags & ~(kSockNonblock | kSockCloexec)) return -lx::kEINVAL;
    if (k.type != kSockStream) return -lx::kEOPNOTSUPP;
    if (!k.listening) return -lx::kEINVAL;
    int32_t room = 0;
    if (to)
        if (int64_t e = address_room(p, to, length_at, &room)) return e;
    int64_t fd = free_fd(p);
    if (fd < 0) return fd;
    auto* made = new (std::nothrow) Socket{};
    if (!made) return -lx::kENOMEM;
    pn::Accept::Request q{k.id, pn::kNonBlocking, 0};
    pn::Accept::Reply r;
    int64_t e = net_call<pn::Accept>(q, &r);
    if (e < 0) {
        delete made;
        return e == kErrWouldBlock ? would_block(at, pn::kReadable) : err(e);
    }
    made->id = r.socket, made->type = kSockStream, made->connected = true;
    if (to) put_address(p, to, room, length_at, r.address, r.port);  // checked above
    return install(p, fd, made, flags);
}

int64_t connect(Attempt& at, Socket& k, uint64_t from, uint64_t length) {
    if (!at.retry && !k.connecting) {
        uint32_t address;
        uint16_t port;
        if (int64_t e = get_address(at.p, from, length, &address, &port)) return e;
        if (k.type == kSockStream && (k.connected || k.listening)) return -lx::kEISCONN;
        pn::Connect::Request q{};
        q.socket = k.id, q.address = address, q.port = port, q.flags = pn::kNonBlocking;
        pn::Connect::Reply r;
        int64_t e = net_call<pn::Connect>(q, &r);
        if (e >= 0) {  // a datagram socket: where its sends go
            k.connected = true;
            return 0;
        }
        if (e != kErrInProgress) return e == kErrBadState ? -lx::kEISCONN : err(e);
        k.connecting = true;
        if (at.nonblocking) return -lx::kEINPROGRESS;
    }
    settle_connect(k);
    if (k.connecting) return at.nonblocking ? -lx::kEALREADY : would_block(at, pn::kWritable);
    if (k.connected) return 0;
    int64_t e = k.error ? k.error : lx::kECONNRESET;
    k.error = 0;
    return -e;
}

int64_t shutdown(Socket& k, uint64_t how) {
    if (how > 2) return -lx::kEINVAL;
    if (!k.connected) return -lx::kENOTCONN;
    if (k.type == kSockStream) {
        pn::Shutdown::Request q{k.id, static_cast<uint32_t>(how + 1), 0};  // SHUT_RD 0 is net:'s 1, ...
        pn::Shutdown::Reply r;
        if (int64_t e = net_call<pn::Shutdown>(q, &r); e < 0) return err(e);
    }
    k.read_shut |= how != 1;
    k.write_shut |= how != 0;
    return 0;
}

// getsockname, getpeername.
int64_t name_of(Process& p, Socket& k, uint64_t to, uint64_t length_at, bool peer) {
    int32_t room;
    if (int64_t e = address_room(p, to, length_at, &room)) return e;
    settle_connect(k);
    pn::Status::Reply st{};
    if (int64_t e = status(k, &st); e < 0) return err(e);
    if (peer && (k.type == kSockStream ? st.state != pn::kConnected : !st.peer_port)) return -lx::kENOTCONN;
    return put_address(p, to, room, length_at, peer ? st.peer_address : st.local_address,
                       static_cast<uint16_t>(peer ? st.peer_port : st.local_port));
}

int flag_index(uint64_t level, uint64_t name) {
    for (int i = 0; i < static_cast<int>(sizeof kFlagOptions / sizeof kFlagOptions[0]); ++i)
        if (kFlagOptions[i].level == level && kFlagOptions[i].name == name) return i;
    return -1;
}

// SO_RCVBUF's and SO_SNDBUF's index in Socket::buffers, or -1.
int buffer_index(uint64_t level, uint64_t name) {
    if (level != kSolSocket) return -1;
    return name == kSoRcvbuf ? 0 : name == kSoSndbuf ? 1 : -1;
}

int64_t set_option(Process& p, Socket& k, uint64_t level, uint64_t name, uint64_t value, uint64_t length) {
    int flag = flag_index(level, name), buffer = buffer_index(level, name);
    if ((flag < 0 && buffer < 0) || (level == kIpprotoTcp && k.type != kSockStream)) return -lx::kENOPROTOOPT;
    int32_t v;
    if (static_cast<uint32_t>(length) < sizeof v) return -lx::kEINVAL;
    if (copy_in(p, value, &v, sizeof v)) return -lx::kEFAULT;
    if (buffer >= 0) k.buffers[buffer] = v < 2304 / 2 ? 2304 : v > 0x3fffffff ? 0x7fffffff : v * 2;
    else if (v) k.options |= 1u << flag;
    else k.options &= ~(1u << flag);
    return 0;
}

int64_t get_option(Process& p, Socket& k, uint64_t level, uint64_t name, uint64_t value, uint64_t length_at) {
    int32_t length;
    if (copy_in(p, length_at, &length, sizeof length)) return -lx::kEFAULT;
    if (length < 0) return -lx::kEINVAL;
    uint32_t n = length < 4 ? static_cast<uint32_t>(length) : 4;
    if (check_out(p, value, n)) return -lx::kEFAULT;
    int flag = flag_index(level, name), buffer = buffer_index(level, name);
    int32_t v;
    if (level == kSolSocket && name == kSoError) {
        settle_connect(k);
        v = static_cast<int32_t>(k.error);
        k.error = 0;  // read once, as on Linux
    } else if (level == kSolSocket && name == kSoType) {
        v = static_cast<int32_t>(k.type);
    } else if (buffer >= 0) {
        v = k.buffers[buffer];
    } else if (flag >= 0 && (level != kIpprotoTcp || k.type == kSockStream)) {
        v = (k.options >> flag) & 1;
    } else {
        return -lx::kENOPROTOOPT;
    }
    return copy_out(p, value, &v, n) || copy_out(p, length_at, &n, sizeof n) ? -lx::kEFAULT : 0;
}

// A send to a connection that cannot take it: EPIPE, and SIGPIPE unless
// MSG_NOSIGNAL.
int64_t broken_pipe(Attempt& at, uint64_t flags) {
    at.sigpipe = !(flags & kMsgNosignal);
    return -lx::kEPIPE;
}

int64_t send(Attempt& at, Socket& k, const Transfer& t) {
    Process& p = at.p;
    int64_t size = total(p, t.data);
    if (size < 0) return size;
    bool stream = k.type == kSockStream;
    if (t.flags & kMsgOob) return -lx::kEOPNOTSUPP;  // lwIP sends no urgent data; Linux's UDP has none
    if (k.write_shut) return broken_pipe(at, t.flags);
    uint32_t address = 0;
    uint16_t port = 0;
    SockaddrIn ignored;
    int64_t named = 0;
    if (t.name && stream) named = copy_address(p, t.name, t.name_length, &ignored);  // it goes where it is connected
    else if (t.name) named = get_address(p, t.name, t.name_length, &address, &port);
    if (named < 0) return named;
    if (!stream && size > pn::kChunk) return -lx::kEMSGSIZE;
    auto sent = [&](int64_t e) { return at.done ? static_cast<int64_t>(at.done) : e; };
    do {
        uint64_t left = static_cast<uint64_t>(size) - at.done;
        uint32_t n = left < pn::kChunk ? static_cast<uint32_t>(left) : pn::kChunk;
        if (int64_t e = gather(p, t.data, at.done, g_send.data, n)) return sent(e);
        g_send.socket = k.id, g_send.flags = pn::kNonBlocking, g_send.length = n;
        g_send.address = address, g_send.port = port;
        pn::Send::Reply r{};
        int64_t e = net_call<pn::Send>(g_send, &r, pn::Send::kMinRequest + n);
        if (e == kErrWouldBlock) return at.nonblocking ? sent(-lx::kEAGAIN) : would_block(at, pn::kWritable);
        if (e == kErrNotConnected && !stream) return sent(-lx::kEDESTADDRREQ);
        if (e == kErrNotConnected && k.connected) return sent(broken_pipe(at, t.flags));  // its end is gone
        if (e < 0) return sent(err(e));
        at.done += r.sent;
    } while (stream && at.done < static_cast<uint64_t>(size));
    return static_cast<int64_t>(at.done);
}

// A receive. MSG_PEEK leaves what it returns in net: (kPeek), so poll,
// FIONREAD and the next receive see it as before. MSG_WAITALL (streams)
// goes on until the buffers are full, the stream ends or fails, or a
// signal comes (at.done: what the program has, which the signal returns);
// with MSG_PEEK it waits until that many bytes wait in net:. MSG_TRUNC
// returns a datagram's whole size, and discards a stream's bytes.
int64_t receive(Attempt& at, Socket& k, const Transfer& t) {
    Process& p = at.p;
    bool stream = k.type == kSockStream;
    // lwIP takes a peer's urgent byte in line, as Linux with SO_OOBINLINE
    // does, which then has none apart: EINVAL (ENOTCONN from a listening
    // socket, which Linux checks first). Linux's UDP ignores the flag.
    if (stream && (t.flags & kMsgOob)) return k.listening ? -lx::kENOTCONN : -lx::kEINVAL;
    int64_t size = total(p, t.data);
    if (size < 0) return size;
    int32_t room = 0;
    if (t.name)
        if (int64_t e = address_room(p, t.name, t.length_at, &room, stream)) return e;
    if (stream && k.read_shut) return static_cast<int64_t>(at.done);
    bool peek = (t.flags & kMsgPeek) != 0, all = stream && (t.flags & kMsgWaitall);
    bool discard = stream && (t.flags & kMsgTrunc);  // the program's buffers are not touched
    uint64_t want = static_cast<uint64_t>(size);
    if (peek && want > pn::kChunk) want = pn::kChunk;  // a peek sees the first kChunk bytes
    for (;;) {
        uint64_t from = peek ? 0 : at.done;  // a peek looks from the start again
        if (peek) at.done = 0;
        uint32_t n = want - from < pn::kChunk ? static_cast<uint32_t>(want - from) : pn::kChunk;
        if (!discard)
            if (int64_t e = scatter(p, t.data, from, nullptr, n)) return e;  // what net: gives us is not given back
        pn::Receive::Request q{k.id, pn::kNonBlocking | (peek ? pn::kPeek : 0u), n};
        int64_t e = net_call<pn::Receive>(q, &g_receive);
        if (e == kErrWouldBlock) {
            if (at.done && at.nonblocking) return static_cast<int64_t>(at.done);
            return would_block(at, pn::kReadable);
        }
        if (e < 0) return at.done ? static_cast<int64_t>(at.done) : err(e);  // the error stays for the next call
        uint32_t got = g_receive.size < n ? g_receive.size : n;
        if (!discard)
            if (int64_t failed = scatter(p, t.data, from, g_receive.data, got))
                return at.done ? static_cast<int64_t>(at.done) : failed;
        if (t.name && put_address(p, t.name, room, t.length_at, g_receive.address, g_receive.port, stream))
            return -lx::kEFAULT;
        bool cut = !stream && g_receive.whole > got;
        if (t.msghdr) {
            const uint64_t back[2] = {0, cut ? kMsgTrunc : 0};  // controllen (no control messages) and flags
            if (copy_out(p, t.msghdr + offsetof(Msghdr, controllen), back, sizeof back)) return -lx::kEFAULT;
        }
        at.done = from + got;
        if (!stream) return (t.flags & kMsgTrunc) ? g_receive.whole : got;
        if (!all || !got || at.done >= want || g_receive.end) return static_cast<int64_t>(at.done);
        if (peek) {  // all there is, seen: wait for more to come
            if (at.nonblocking) return static_cast<int64_t>(at.done);
            return would_block(at, pn::kReadable, static_cast<uint32_t>(at.done));
        }
    }
}

// One try of socket call `number`; when a blocking one cannot go on, it
// says so in at.wait_for.
int64_t run(Attempt& at, uint64_t number, const uint64_t* a) {
    Process& p = at.p;
    Fd* f = fd_of(p, static_cast<uint32_t>(a[0]));
    if (!f) return -lx::kEBADF;
    if (!f->socket) return -lx::kENOTSOCK;
    Socket& k = *f->socket;
    at.socket = &k;
    at.nonblocking = (f->flags & lx::kONonblock) != 0;
    switch (number) {
        case lx::kBind: return bind(p, k, a[1], a[2]);
        case lx::kListen: return listen(k, a[1]);
        case lx::kAccept: return accept(at, k, a[1], a[2], 0);
        case lx::kAccept4: return accept(at, k, a[1], a[2], a[3]);
        case lx::kConnect: return connect(at, k, a[1], a[2]);
        case lx::kShutdown: return shutdown(k, static_cast<uint32_t>(a[1]));
        case lx::kGetsockname: return name_of(p, k, a[1], a[2], false);
        case lx::kGetpeername: return name_of(p, k, a[1], a[2], true);
        case lx::kSetsockopt: return set_option(p, k, a[1], a[2], a[3], a[4]);
        case lx::kGetsockopt: return get_option(p, k, a[1], a[2], a[3], a[4]);
        default: {
            Transfer t;
            if (int64_t e = decode(p, number, a, &t)) return e;
            if (t.flags & kMsgDontwait) at.nonblocking = true;
            settle_connect(k);
            bool out = number == lx::kWrite || number == lx::kWritev || number == lx::kSendto || number == lx::kSendmsg;
            return out ? send(at, k, t) : receive(at, k, t);
        }
    }
}

// Runs the call; one that must wait has its watch armed when it returns.
int64_t attempt(Attempt& at, uint64_t number, const uint64_t* a) {
    for (int tries = 0;; ++tries) {
        at.wait_for = 0, at.beyond = 0;
        int64_t r = run(at, number, a);
        if (!at.wait_for || !watch(*at.socket, at.wait_for, at.beyond)) return r;
        if (tries == 2) {
            later();
            return r;
        }
        at.retry = true;  // it became ready meanwhile
    }
}

}  // namespace

bool serve_socket_call(Process& p, uint64_t number, const uint64_t* a, CallState& s) {
    switch (number) {
        case lx::kSocket: s.result = make(p, a[0], a[1], a[2]); return true;
        case lx::kSocketpair:  // AF_UNIX's; AF_INET has none
            s.result = static_cast<uint32_t>(a[0]) == kAfInet ? -lx::kEOPNOTSUPP : -lx::kEAFNOSUPPORT;
            return true;
        case lx::kRead:
        case lx::kWrite:
        case lx::kReadv:
        case lx::kWritev:
        case lx::kPread64:
        case lx::kPwrite64: {
            Fd* f = fd_of(p, a[0]);
            if (!f || !f->socket) return false;  // the file calls'
            if (number == lx::kPread64 || number == lx::kPwrite64) {
                s.result = -lx::kESPIPE;
                return true;
            }
            break;
        }
        case lx::kBind: case lx::kListen: case lx::kAccept: case lx::kAccept4: case lx::kConnect:
        case lx::kShutdown: case lx::kGetsockname: case lx::kGetpeername: case lx::kSetsockopt:
        case lx::kGetsockopt: case lx::kSendto: case lx::kRecvfrom: case lx::kSendmsg: case lx::kRecvmsg:
            break;
        default: return false;
    }
    Attempt at{p};
    s.result = attempt(at, number, a);
    if (at.wait_for) {
        Task& t = p.task();
        if (wait_here(p, t.socket, 0, 0)) {
            t.socket.done = at.done;
            t.socket_number = number;
            memcpy(t.socket_args, a, sizeof t.socket_args);
            s.later = true;
            return true;
        }
        s.result = at.done ? static_cast<int64_t>(at.done) : -lx::kENOMEM;
    }
    if (at.sigpipe) raise_signal(p, kSigpipe);  // by default it ends the writer, when the call returns
    return true;
}

void socket_wake() {
    for (Process& p : g_processes) {
        for (uint32_t i = 0; i < kMaxThreads && p.used && !p.zombie; ++i) {
            Task& t = p.tasks[i];
            if (t.socket.saved == kNoHandle) continue;
            p.current = i;
            Attempt at{p};
            at.done = t.socket.done, at.retry = true;
            int64_t r = attempt(at, t.socket_number, t.socket_args);
            if (at.wait_for) {
                t.socket.done = at.done;
                continue;
            }
            answer(t.socket, r);
            if (at.sigpipe) raise_signal(p, kSigpipe);
        }
    }
}

int16_t socket_ready(const Fd& f, int16_t wanted) {
    Socket& k = *f.socket;
    if (k.type == kSockStream && !k.listening && !k.connecting && !k.connected)
        return lx::kPollOut | lx::kPollHup;  // as Linux: a stream with no connection has nothing to wait for
    uint32_t events = 0;
    if (wanted & (lx::kPollIn | lx::kPollRdnorm)) events |= pn::kReadable;
    if (wanted & (lx::kPollOut | lx::kPollWrnorm)) events |= pn::kWritable;
    uint32_t e = k.read_shut && (events & pn::kReadable) ? pn::kReadable : watch(k, events);
    int16_t bits = 0;
    if (e & pn::kReadable) bits |= lx::kPollIn | lx::kPollRdnorm;
    if (e & pn::kWritable) bits |= lx::kPollOut | lx::kPollWrnorm;
    if (e & pn::kFailed) bits |= lx::kPollErr | lx::kPollHup;
    return bits;
}

void socket_attach(Fd& f) { ++f.socket->refs; }

void socket_detach(Fd& f) {
    Socket* k = f.socket;
    if (--k->refs) return;
    pn::Close::Request q{k->id};
    pn::Close::Reply r;
    net_call<pn::Close>(q, &r);  // a restarted net: has forgotten it already
    delete k;
}

int64_t socket_ioctl(Process& p, Fd& f, uint64_t request, uint64_t arg) {
    if (request == lx::kFionbio) {
        int32_t on;
        if (copy_in(p, arg, &on, sizeof on)) return -lx::kEFAULT;
        set_status_flags(f, on ? f.flags | lx::kONonblock : f.flags & ~lx::kONonblock);
        return 0;
    }
    if (request != lx::kFionread) return -lx::kENOTTY;
    pn::Status::Reply st{};
    if (int64_t e = status(*f.socket, &st); e < 0) return err(e);
    int32_t n = static_cast<int32_t>(st.readable);
    return copy_out(p, arg, &n, sizeof n) ? -lx::kEFAULT : 0;
}

uint64_t socket_number(const Fd& f) { return f.socket->id & 0xffff'ffff; }

}  // namespace personality
