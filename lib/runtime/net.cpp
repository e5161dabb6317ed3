// The socket library over net: (mica/net.h).
#include "mica/net.h"

#include "format.h"
#include "mica/files.h"
#include "mica/rpc.h"
#include "mica/strings.h"

namespace mica::net {
namespace pn = proto::net;

namespace {

Handle server() { return files::scheme_endpoint("net"); }

template <class Op>
int64_t call(const typename Op::Request& q, typename Op::Reply* r, uint32_t size = sizeof(typename Op::Request)) {
    Handle h = server();
    if (h == kNoHandle) return kErrNotFound;
    return rpc::call<Op>(h, q, r, {}, size);
}

// A listening socket the server forgot in a restart: made again.
int64_t listen_again(Socket& s) {
    Socket fresh;
    if (int64_t e = open(&fresh, pn::kStream)) return e;
    pn::Bind::Request bq{fresh.id, s.address, s.port, 0};
    pn::Bind::Reply br;
    int64_t e = call<pn::Bind>(bq, &br);
    pn::Listen::Request lq{fresh.id, s.backlog, 0};
    pn::Listen::Reply lr;
    if (e >= 0) e = call<pn::Listen>(lq, &lr);
    if (e < 0) {
        close(fresh);
        return e;
    }
    s.id = fresh.id;
    return kOk;
}

}  // namespace

int64_t open(Socket* s, uint32_t kind) {
    pn::Socket::Request q{kind, 0};
    pn::Socket::Reply r;
    int64_t e = call<pn::Socket>(q, &r);
    if (e < 0) return e;
    *s = Socket{};
    s->id = r.socket, s->kind = kind;
    return kOk;
}

int64_t bind(Socket& s, uint32_t address, uint16_t port, uint16_t* bound) {
    pn::Bind::Request q{s.id, address, port, 0};
    pn::Bind::Reply r;
    int64_t e = call<pn::Bind>(q, &r);
    if (e < 0) return e;
    s.address = address, s.port = r.port;
    if (bound) *bound = r.port;
    return kOk;
}

int64_t listen(Socket& s, uint32_t backlog) {
    pn::Listen::Request q{s.id, backlog, 0};
    pn::Listen::Reply r;
    int64_t e = call<pn::Listen>(q, &r);
    if (e < 0) return e;
    s.listening = true, s.backlog = backlog;
    if (!s.port) {  // listen bound it: learn the port, to bind it again after a restart
        pn::Status::Reply st;
        if (status(s, &st) == kOk) s.port = st.local_port;
    }
    return kOk;
}

int64_t accept(Socket& s, Socket* out, uint32_t* address, uint16_t* port, uint32_t flags) {
    for (int attempt = 0;; ++attempt) {
        pn::Accept::Request q{s.id, flags, 0};
        pn::Accept::Reply r;
        int64_t e = call<pn::Accept>(q, &r);
        if (e >= 0) {
            *out = Socket{};
            out->id = r.socket, out->kind = pn::kStream;
            if (address) *address = r.address;
            if (port) *port = r.port;
            return kOk;
        }
        // The server restarted (under this call, or since the last).
        if (!s.listening || attempt >= 3 || (e != kErrConnectionReset && e != kErrPeerClosed)) return e;
        if (int64_t again = listen_again(s); again < 0) return again;
    }
}

int64_t connect(Socket& s, uint32_t address, uint16_t port, uint32_t flags) {
    pn::Connect::Request q{};
    q.socket = s.id, q.address = address, q.port = port, q.flags = flags;
    pn::Connect::Reply r;
    return call<pn::Connect>(q, &r);
}

namespace {
pn::Send::Request g_send;      // large messages, not on the stack
pn::Receive::Reply g_receive;

int64_t send_chunk(Socket& s, const void* data, uint32_t length, uint32_t flags, uint32_t address, uint16_t port) {
    if (length > pn::kChunk) length = pn::kChunk;
    g_send.socket = s.id, g_send.flags = flags, g_send.length = length;
    g_send.address = address, g_send.port = port;
    memcpy(g_send.data, data, length);
    pn::Send::Reply r;
    int64_t e = call<pn::Send>(g_send, &r, pn::Send::kMinRequest + length);
    return e < 0 ? e : r.sent;
}
}  // namespace

int64_t send_to(Socket& s, const void* data, uint32_t length, uint32_t address, uint16_t port) {
    return send_chunk(s, data, length, 0, address, port);
}

int64_t send(Socket& s, const void* data, uint32_t length, uint32_t flags) {
    return send_chunk(s, data, length, flags, 0, 0);
}

int64_t send_all(Socket& s, const void* data, size_t length) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (length) {
        int64_t n = send(s, p, length < pn::kChunk ? static_cast<uint32_t>(length) : pn::kChunk);
        if (n < 0) return n;
        p += n, length -= static_cast<size_t>(n);
    }
    return kOk;
}

int64_t receive(Socket& s, void* buffer, uint32_t length, uint32_t flags, uint32_t* address, uint16_t* port) {
    pn::Receive::Request q{s.id, flags, length < pn::kChunk ? length : pn::kChunk};
    int64_t e = call<pn::Receive>(q, &g_receive);
    if (e < 0) return e;
    uint32_t n = g_receive.size <= q.length ? g_receive.size : q.length;
    memcpy(buffer, g_receive.data, n);
    if (address) *address = g_receive.address;
    if (port) *port = g_receive.port;
    return n;
}

int64_t shutdown(Socket& s, uint32_t how) {
    pn::Shutdown::Request q{s.id, how, 0};
    pn::Shutdown::Reply r;
    return call<pn::Shutdown>(q, &r);
}

int64_t close(Socket& s) {
    pn::Close::Request q{s.id};
    pn::Close::Reply r;
    int64_t e = call<pn::Close>(q, &r);
    s = Socket{};
    return e == kErrConnectionReset ? kOk : e;  // the server forgot it already
}

int64_t status(Socket& s, pn::Status::Reply* out) {
    pn::Status::Request q{s.id};
    return call<pn::Status>(q, out);
}

int64_t wait(Socket* const* sockets, const uint32_t* events, uint32_t count, uint64_t timeout_ns, uint32_t* out) {
    if (count > pn::kMaxWait) return kErrInvalidArgument;
    pn::Wait::Request q{};
    q.count = count, q.timeout_ns = timeout_ns;
    for (uint32_t i = 0; i < count; ++i) q.sockets[i] = sockets[i]->id, q.events[i] = events[i];
    pn::Wait::Reply r;
    int64_t e = call<pn::Wait>(q, &r);
    if (e < 0) return e;
    for (uint32_t i = 0; i < count; ++i) out[i] = r.events[i];
    return kOk;
}

int64_t ping(uint32_t address, uint16_t sequence, uint16_t size, uint64_t timeout_ns, pn::Ping::Reply* out) {
    pn::Ping::Request q{address, sequence, size, timeout_ns};
    return call<pn::Ping>(q, out);
}

int64_t interface(uint32_t index, pn::Interface::Reply* out) {
    pn::Interface::Request q{index, 0};
    return call<pn::Interface>(q, out);
}

bool parse_ipv4(const char* text, uint32_t* address) {
    uint32_t value = 0;
    for (int part = 0; part < 4; ++part) {
        if (*text < '0' || *text > '9') return false;
        uint32_t n = 0;
        for (int digits = 0; *text >= '0' && *text <= '9'; ++text) {
            n = n * 10 + static_cast<uint32_t>(*text - '0');
            if (++digits > 3 || n > 255) return false;
        }
        value = value << 8 | n;
        if (part < 3 && *text++ != '.') return false;
    }
    if (*text) return false;
    *address = value;
    return true;
}

void format_ipv4(uint32_t a, char* out) {
    format_to(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

}  // namespace mica::net
