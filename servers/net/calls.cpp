// The operations of net: (proto/net.h). One that cannot finish now is kept
// with its saved reply (at most kMaxPending) and tried again whenever
// something changes (settle): data or a connection arrived, room to send,
// an error, or a deadline. A client that must not wait here arms a Watch
// instead, and is signalled (its Notify notification) at such a change.
#include "calls.h"

#include "mica/runtime.h"
#include "mica/strings.h"
#include "sockets.h"

using namespace mica;
namespace pn = proto::net;

namespace net {
namespace {

constexpr uint32_t kMaxPending = 64;

struct Pending {
    uint64_t label = 0;  // 0: a free entry
    uint64_t badge = 0;
    Handle saved = kNoHandle;
    uint64_t deadline = 0;  // 0: none
    union {
        pn::Accept::Request accept;
        pn::Connect::Request connect;
        pn::Receive::Request receive;
        pn::Wait::Request wait;
        struct {
            uint64_t socket;
            uint32_t length;
            uint8_t* data;  // from the heap
        } send;
        struct {
            uint32_t address;
            uint16_t sequence;
            uint64_t sent_at;
        } ping;
    };
    Pending() : accept{} {}
};
Pending g_pending[kMaxPending];
pn::Receive::Reply g_receive;  // a large reply, built in one place

// The notifications of clients that watch (Notify): one per badge.
constexpr uint32_t kMaxNotified = 8;
struct Notified {
    uint64_t badge = 0;
    Handle notification = kNoHandle;  // kNoHandle: a free entry
    uint64_t bits = 0;
};
Notified g_notified[kMaxNotified];

Notified* notified(uint64_t badge) {
    for (Notified& n : g_notified)
        if (n.notification != kNoHandle && n.badge == badge) return &n;
    return nullptr;
}

void signal_watcher(uint64_t badge) {
    if (Notified* n = notified(badge)) sys::notification_signal(n->notification, n->bits);
}

// Keeps `c` to be answered later; kErrLimit when too many wait.
int64_t keep(uint64_t label, const rpc::Call& c, Pending** out, uint64_t deadline = 0) {
    for (Pending& p : g_pending) {
        if (p.label) continue;
        auto saved = const_cast<rpc::Call&>(c).defer();
        if (!saved.ok()) return saved.error();
        p.label = label, p.badge = c.badge, p.saved = saved.value(), p.deadline = deadline;
        *out = &p;
        return kOk;
    }
    return kErrLimit;
}

// keep, with a copy of the request in `field`, for settle() to try again.
template <class Request>
int64_t keep_request(Request Pending::*field, uint64_t label, const Request& q, const rpc::Call& c,
                     uint64_t deadline = 0) {
    Pending* p = nullptr;
    if (int64_t e = keep(label, c, &p, deadline)) return e;
    p->*field = q;
    return kOk;
}

template <class Op>
void answer(Pending& p, int64_t status, const typename Op::Reply& r, uint32_t size = sizeof(typename Op::Reply)) {
    rpc::reply_later<Op>(p.saved, status, r, size);
    sys::handle_close(p.saved);
    if (p.label == pn::Send::kLabel) free(p.send.data);
    p.label = 0;
}

// Each returns true when the request is done (*status and the reply set).
bool try_accept(const pn::Accept::Request& q, uint64_t badge, int64_t* status, pn::Accept::Reply& r) {
    Socket* s = find(q.socket, badge, status);
    if (!s) return true;
    if (s->state != pn::kListening) return *status = kErrInvalidArgument, true;
    Socket* c = take_accepted(*s);
    if (!c) return false;
    r.socket = id_of(*c);
    peer_end(*c, &r.address, &r.port);
    *status = kOk;
    return true;
}

bool try_connect(const pn::Connect::Request& q, uint64_t badge, int64_t* status, pn::Connect::Reply& r) {
    Socket* s = find(q.socket, badge, status);
    if (!s) return true;
    if (s->state == pn::kConnecting) return false;
    *status = s->error ? s->error : s->state == pn::kConnected ? kOk : kErrNotConnected;
    local_end(*s, &r.address, &r.port);
    return true;
}

bool try_receive(const pn::Receive::Request& q, uint64_t badge, int64_t* status, pn::Receive::Reply& r) {
    Socket* s = find(q.socket, badge, status);
    if (!s) return true;
    uint32_t length = q.length < pn::kChunk ? q.length : pn::kChunk;
    bool peek = (q.flags & pn::kPeek) != 0;
    bool datagram = s->kind == pn::kDatagram;
    bool waiting = datagram ? s->count != 0 : readable(*s) != 0;  // an empty datagram is one too
    r.size = receive(*s, r.data, length, peek, &r.whole, &r.address, &r.port);
    r.end = 0;
    if (!datagram && (s->peer_done || s->error)) r.end = readable(*s) == (peek ? r.size : 0);
    if (waiting || length == 0) return *status = kOk, true;
    if (!datagram) {
        if (s->peer_done) return *status = kOk, true;  // the end: size 0
        if (s->error) return *status = s->error, true;
        if (s->state != pn::kConnected && s->state != pn::kConnecting) return *status = kErrNotConnected, true;
    }
    return false;
}

bool try_send(Pending& p, int64_t* status, pn::Send::Reply& r) {
    Socket* s = find(p.send.socket, p.badge, status);
    if (!s) return true;
    if ((*status = send(*s, p.send.data, p.send.length, 0, 0, &r.sent)) < 0) return true;
    return r.sent > 0;
}

bool try_wait(const pn::Wait::Request& q, uint64_t badge, pn::Wait::Reply& r) {
    bool any = false;
    for (uint32_t i = 0; i < q.count && i < pn::kMaxWait; ++i) {
        int64_t error;
        Socket* s = find(q.sockets[i], badge, &error);
        r.events[i] = (s ? events(*s) : pn::kFailed) & (q.events[i] | pn::kFailed);
        any |= r.events[i] != 0;
    }
    return any;
}

uint64_t deadline_after(uint64_t timeout_ns) {
    if (timeout_ns == ~0ull) return 0;
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    return timeout_ns > ~0ull - now ? 0 : now + (timeout_ns ? timeout_ns : 1);
}

}  // namespace

void settle() {
    static bool settling = false;  // lwIP calls back from inside what we call: once is enough
    if (settling) return;
    settling = true;
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    for (Pending& p : g_pending) {
        int64_t status = kOk;
        switch (p.label) {
            case pn::Accept::kLabel: {
                pn::Accept::Reply r{};
                if (try_accept(p.accept, p.badge, &status, r)) answer<pn::Accept>(p, status, r);
                break;
            }
            case pn::Connect::kLabel: {
                pn::Connect::Reply r{};
                if (try_connect(p.connect, p.badge, &status, r)) answer<pn::Connect>(p, status, r);
                break;
            }
            case pn::Receive::kLabel:
                if (try_receive(p.receive, p.badge, &status, g_receive))
                    answer<pn::Receive>(p, status, g_receive, pn::Receive::kMinReply + (status < 0 ? 0 : g_receive.size));
                break;
            case pn::Send::kLabel: {
                pn::Send::Reply r{};
                if (try_send(p, &status, r)) answer<pn::Send>(p, status, r);
                break;
            }
            case pn::Wait::kLabel: {
                pn::Wait::Reply r{};
                if (try_wait(p.wait, p.badge, r) || (p.deadline && p.deadline <= now)) answer<pn::Wait>(p, kOk, r);
                break;
            }
            case pn::Ping::kLabel:
                if (p.deadline <= now) {
                    pn::Ping::Reply r{};
                    answer<pn::Ping>(p, kErrTimedOut, r);
                }
                break;
        }
    }
    fire_watches(signal_watcher);
    settling = false;
}

// --- the operations ------------------------------------------------------------------

int64_t op_socket(const pn::Socket::Request& q, pn::Socket::Reply& r, rpc::Call& c) {
    if (q.kind != pn::kStream && q.kind != pn::kDatagram) return kErrInvalidArgument;
    int64_t error;
    Socket* s = make(c.badge, q.kind, &error);
    if (!s) return error;
    r.socket = id_of(*s);
    return kOk;
}

int64_t op_bind(const pn::Bind::Request& q, pn::Bind::Reply& r, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    return s ? bind(*s, q.address, q.port, &r.port) : error;
}

int64_t op_listen(const pn::Listen::Request& q, pn::Listen::Reply&, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    return s ? listen(*s, q.backlog) : error;
}

int64_t op_accept(const pn::Accept::Request& q, pn::Accept::Reply& r, rpc::Call& c) {
    int64_t status;
    if (try_accept(q, c.badge, &status, r)) return status;
    if (q.flags & pn::kNonBlocking) return kErrWouldBlock;
    return keep_request(&Pending::accept, pn::Accept::kLabel, q, c);
}

int64_t op_connect(const pn::Connect::Request& q, pn::Connect::Reply& r, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    if (!s) return error;
    if (int64_t e = connect(*s, q.address, q.port); e < 0 && e != kErrInProgress) return e;
    if (s->kind == pn::kDatagram) {
        local_end(*s, &r.address, &r.port);
        return kOk;
    }
    int64_t status;
    if (try_connect(q, c.badge, &status, r)) return status;
    if (q.flags & pn::kNonBlocking) return kErrInProgress;
    return keep_request(&Pending::connect, pn::Connect::kLabel, q, c);
}

int64_t op_send(const pn::Send::Request& q, pn::Send::Reply& r, rpc::Call& c) {
    if (q.length > pn::kChunk || c.request_size < pn::Send::kMinRequest + q.length) return kErrInvalidArgument;
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    if (!s) return error;
    if (int64_t e = send(*s, q.data, q.length, q.address, q.port, &r.sent); e < 0 || r.sent || !q.length) return e;
    if (q.flags & pn::kNonBlocking) return kErrWouldBlock;
    auto* copy = static_cast<uint8_t*>(malloc(q.length));
    if (!copy) return kErrNoMemory;
    Pending* p = nullptr;
    if (int64_t e = keep(pn::Send::kLabel, c, &p)) {
        free(copy);
        return e;
    }
    memcpy(copy, q.data, q.length);
    p->send.socket = q.socket, p->send.length = q.length, p->send.data = copy;
    return kOk;
}

int64_t op_receive(const pn::Receive::Request& q, pn::Receive::Reply& r, rpc::Call& c) {
    int64_t status;
    if (try_receive(q, c.badge, &status, r)) {
        c.reply_size = pn::Receive::kMinReply + (status < 0 ? 0 : r.size);
        return status;
    }
    if (q.flags & pn::kNonBlocking) return kErrWouldBlock;
    return keep_request(&Pending::receive, pn::Receive::kLabel, q, c);
}

int64_t op_close(const pn::Close::Request& q, pn::Close::Reply&, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    if (!s) return error;
    close(*s);
    settle();  // requests waiting on it end with kErrNotFound
    return kOk;
}

int64_t op_forget(const pn::Forget::Request&, pn::Forget::Reply& r, rpc::Call& c) {
    r.closed = forget_client(c.badge);
    settle();  // requests waiting on them end
    return kOk;
}

int64_t op_shutdown(const pn::Shutdown::Request& q, pn::Shutdown::Reply&, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    return s ? shutdown(*s, q.how) : error;
}

int64_t op_wait(const pn::Wait::Request& q, pn::Wait::Reply& r, rpc::Call& c) {
    if (q.count == 0 || q.count > pn::kMaxWait) return kErrInvalidArgument;  // on nothing it would be a sleep
    if (try_wait(q, c.badge, r) || q.timeout_ns == 0) return kOk;
    return keep_request(&Pending::wait, pn::Wait::kLabel, q, c, deadline_after(q.timeout_ns));
}

int64_t op_status(const pn::Status::Request& q, pn::Status::Reply& r, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    if (!s) return error;
    r.kind = s->kind, r.state = s->state;
    local_end(*s, &r.local_address, &r.local_port);
    peer_end(*s, &r.peer_address, &r.peer_port);
    r.readable = readable(*s);
    r.writable = writable(*s);
    r.error = static_cast<int32_t>(s->error);
    return kOk;
}

int64_t op_notify(const pn::Notify::Request& q, pn::Notify::Reply&, rpc::Call& c) {
    HandleInfo info{};
    if (!q.bits || sys::handle_info(c.received_handle, &info) != kOk || info.type != ObjectType::notification ||
        !(info.rights & kRightSignal))
        return kErrInvalidArgument;
    Notified* n = notified(c.badge);
    for (Notified& free : g_notified)
        if (!n && free.notification == kNoHandle) n = &free;
    if (!n) return kErrLimit;
    if (n->notification != kNoHandle) sys::handle_close(n->notification);
    *n = Notified{c.badge, c.take_handle(), q.bits};
    return kOk;
}

int64_t op_watch(const pn::Watch::Request& q, pn::Watch::Reply& r, rpc::Call& c) {
    int64_t error;
    Socket* s = find(q.socket, c.badge, &error);
    if (!s) return error;
    if ((r.events = events(*s, q.beyond) & (q.events | pn::kFailed))) return kOk;
    if (!notified(c.badge)) return kErrBadState;  // nobody to tell: Notify first
    if (q.events & pn::kReadable)  // watches add up: the first to be readable fires
        s->beyond = s->watched & pn::kReadable && s->beyond < q.beyond ? s->beyond : q.beyond;
    s->watched |= q.events | pn::kFailed;
    return kOk;
}

// A ping waits as a Pending with its deadline; the echo reply finishes it.
int64_t keep_ping(const rpc::Call& c, uint64_t timeout_ns, uint16_t sequence, uint32_t address) {
    Pending* p = nullptr;
    if (int64_t e = keep(pn::Ping::kLabel, c, &p, deadline_after(timeout_ns ? timeout_ns : 1'000'000'000))) return e;
    p->ping.address = address, p->ping.sequence = sequence;
    p->ping.sent_at = static_cast<uint64_t>(sys::clock_monotonic());
    return kOk;
}

void ping_answered(uint32_t address, uint16_t sequence, uint32_t ttl, uint32_t size) {
    for (Pending& p : g_pending) {
        if (p.label != pn::Ping::kLabel || p.ping.address != address || p.ping.sequence != sequence) continue;
        pn::Ping::Reply r{static_cast<uint64_t>(sys::clock_monotonic()) - p.ping.sent_at, ttl, size};
        answer<pn::Ping>(p, kOk, r);
        return;
    }
}

uint64_t next_deadline() {
    uint64_t next = 0;
    for (const Pending& p : g_pending)
        if (p.label && p.deadline && (!next || p.deadline < next)) next = p.deadline;
    return next;
}

}  // namespace net
