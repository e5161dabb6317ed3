// The socket table and its lwIP side: callbacks record what happened on a
// connection (data, the peer's end, an error, a new connection), and the
// operations waiting on it are looked at again (settle, calls.cpp).
#include "sockets.h"

#include "mica/clients.h"
#include "mica/rpc.h"
#include "mica/runtime.h"

extern "C" {
#include "lwip/tcp.h"
#include "lwip/udp.h"
}

using namespace mica;

namespace net {
namespace {

Socket g_sockets[kMaxSockets];
uint32_t g_incarnation;

uint32_t index_of(const Socket& s) { return static_cast<uint32_t>(&s - g_sockets); }

int64_t error_of(err_t e) {
    switch (e) {
        case ERR_OK: return kOk;
        case ERR_MEM:
        case ERR_BUF: return kErrNoMemory;
        case ERR_TIMEOUT: return kErrTimedOut;
        case ERR_RTE: return kErrUnreachable;
        case ERR_INPROGRESS: return kErrInProgress;
        case ERR_USE: return kErrAddressInUse;
        case ERR_ALREADY:
        case ERR_ISCONN: return kErrBadState;
        case ERR_CONN: return kErrNotConnected;
        case ERR_VAL:
        case ERR_ARG: return kErrInvalidArgument;
        case ERR_ABRT:
        case ERR_RST:
        case ERR_CLSD: return kErrConnectionReset;
        default: return kErrIo;
    }
}

ip_addr_t to_ip(uint32_t address) {
    ip_addr_t a;
    ip_addr_set_ip4_u32_val(a, lwip_htonl(address));
    return a;
}
uint32_t from_ip(const ip_addr_t* a) { return a ? lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(a))) : 0; }

// Whether a socket listens at the port on an address that overlaps
// `address` (0: any). lwIP lets two pcbs with SOF_REUSEADDR bind one port
// and refuses only the second listen; Linux refuses such a bind at once.
bool listened(uint32_t address, uint16_t port) {
    for (const Socket& s : g_sockets) {
        if (!s.used || s.state != proto::net::kListening || !s.tcp || s.tcp->local_port != port) continue;
        uint32_t at = from_ip(&s.tcp->local_ip);
        if (!at || !address || at == address) return true;
    }
    return false;
}

void forget_received(Socket& s) {
    for (uint32_t i = 0; i < s.chain_count; ++i) pbuf_free(s.chains[i]);
    s.chain_count = 0;
    for (; s.count; --s.count, s.first = (s.first + 1) % kMaxDatagrams) pbuf_free(s.datagrams[s.first].data);
}

// --- TCP callbacks (arg: the socket's index + 1; 0 for none) ---------------------------

Socket* of(void* arg) {
    uintptr_t i = reinterpret_cast<uintptr_t>(arg);
    return i && i <= kMaxSockets && g_sockets[i - 1].used ? &g_sockets[i - 1] : nullptr;
}
void* arg_of(const Socket& s) { return reinterpret_cast<void*>(uintptr_t{index_of(s)} + 1); }

err_t on_received(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
    Socket* s = of(arg);
    if (!s) {  // closed by its owner: what still comes is dropped
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        s->peer_done = true;
    } else if (s->chain_count && s->chains[s->chain_count - 1]->tot_len + uint32_t{p->tot_len} <= 0xffff) {
        pbuf_cat(s->chains[s->chain_count - 1], p);
    } else if (s->chain_count < kMaxChains) {
        s->chains[s->chain_count++] = p;
    } else {
        return ERR_MEM;  // lwIP keeps it and offers it again
    }
    settle();
    return ERR_OK;
}

err_t on_sent(void* arg, tcp_pcb*, u16_t) {
    if (of(arg)) settle();
    return ERR_OK;
}

// lwIP has freed the connection already.
void on_error(void* arg, err_t e) {
    Socket* s = of(arg);
    if (!s) return;
    s->tcp = nullptr;
    s->error = e == ERR_RST && s->state == proto::net::kConnecting ? kErrConnectionRefused : error_of(e);
    if (s->error == kOk) s->error = kErrConnectionReset;
    s->state = proto::net::kReset;
    settle();
}

err_t on_connected(void* arg, tcp_pcb*, err_t) {
    if (Socket* s = of(arg)) {
        s->state = proto::net::kConnected;
        settle();
    }
    return ERR_OK;
}

void watch(Socket& s) {
    tcp_arg(s.tcp, arg_of(s));
    tcp_recv(s.tcp, on_received);
    tcp_sent(s.tcp, on_sent);
    tcp_err(s.tcp, on_error);
}

err_t on_accepted(void* arg, tcp_pcb* pcb, err_t e) {
    Socket* listener = of(arg);
    if (e != ERR_OK || !pcb) return ERR_VAL;
    int64_t error;
    Socket* s = listener && listener->waiting_count < listener->backlog &&
                        listener->waiting_count < sizeof listener->waiting / sizeof listener->waiting[0]
                    ? make(listener->badge, proto::net::kStream, &error)
                    : nullptr;
    if (!s) {
        tcp_abort(pcb);  // over the backlog, or out of sockets: the peer sees a reset
        return ERR_ABRT;
    }
    s->tcp = pcb;
    s->state = proto::net::kConnected;
    s->handed_out = false;
    watch(*s);
    tcp_nagle_disable(pcb);
    tcp_backlog_delayed(pcb);  // counts against the listener's backlog until accepted
    listener->waiting[listener->waiting_count++] = index_of(*s);
    settle();
    return ERR_OK;
}

// --- UDP ---------------------------------------------------------------------------

void on_datagram(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* from, u16_t port) {
    Socket* s = of(arg);
    if (!s || s->count == kMaxDatagrams) {
        pbuf_free(p);
        return;
    }
    s->datagrams[(s->first + s->count++) % kMaxDatagrams] = Datagram{p, from_ip(from), port};
    settle();
}

}  // namespace

// A program's sockets outlive it unless someone notices it has ended: ns
// knows (the shell releases a program's delegation when it ends), so once a
// second each delegated badge that holds sockets is looked up there, and
// the sockets of one no longer in force are closed (a listening port is
// free again). A service's badge (the Linux personality's) is its own
// business. A bind that finds its port taken sweeps at once (`now`), so a
// port held only by an ended program is never reported as in use.
void sweep(bool now) {
    static uint64_t next;
    uint64_t clock = static_cast<uint64_t>(sys::clock_monotonic());
    if (clock < next && !now) return;
    next = clock + 1'000'000'000;
    for (uint32_t i = 0; i < kMaxSockets; ++i) {
        uint64_t badge = g_sockets[i].badge;
        bool first = g_sockets[i].used && is_delegated(badge);
        for (uint32_t j = 0; first && j < i; ++j) first = !(g_sockets[j].used && g_sockets[j].badge == badge);
        if (first && program_ended(badge)) forget_client(badge);
    }
}

uint32_t forget_client(uint64_t badge) {
    uint32_t closed = 0;
    for (Socket& s : g_sockets) {
        if (!s.used || s.badge != badge) continue;
        close(s);
        ++closed;
    }
    return closed;
}

void start_sockets() {
    // A different number each incarnation, so sockets of the last are known.
    g_incarnation = static_cast<uint32_t>(sys::clock_monotonic() >> 10) | 1;
}

uint64_t id_of(const Socket& s) {
    return uint64_t{g_incarnation} << 32 | uint64_t{s.generation} << 16 | index_of(s);
}

Socket* find(uint64_t id, uint64_t badge, int64_t* error) {
    uint32_t index = id & 0xffff;
    if (id >> 32 != g_incarnation) {
        *error = id >> 32 ? kErrConnectionReset : kErrNotFound;
        return nullptr;
    }
    Socket* s = index < kMaxSockets ? &g_sockets[index] : nullptr;
    if (!s || !s->used || s->generation != ((id >> 16) & 0xffff) || s->badge != badge || !s->handed_out) {
        *error = kErrNotFound;
        return nullptr;
    }
    return s;
}

Socket* make(uint64_t badge, uint32_t kind, int64_t* error) {
    uint32_t mine = 0;
    Socket* free = nullptr;
    for (Socket& s : g_sockets) {
        if (s.used) mine += s.badge == badge;
        else if (!free) free = &s;
    }
    if (!free || mine >= kMaxPerClient) {
        *error = kErrLimit;
        return nullptr;
    }
    uint16_t generation = static_cast<uint16_t>(free->generation + 1);
    *free = Socket{};
    free->used = true;
    free->generation = generation;
    free->badge = badge;
    free->kind = kind;
    if (kind == proto::net::kDatagram) {
        free->udp = udp_new();
        if (!free->udp) {
            free->used = false;
            *error = kErrNoMemory;
            return nullptr;
        }
        udp_recv(free->udp, on_datagram, arg_of(*free));
    }
    return free;
}

void close(Socket& s) {
    if (s.tcp) {
        tcp_arg(s.tcp, nullptr);
        if (s.state == proto::net::kListening) {
            tcp_accept(s.tcp, nullptr);  // a listening pcb has no other callbacks (lwIP asserts)
        } else {
            tcp_recv(s.tcp, nullptr);  // lwIP's default takes what still comes
            tcp_sent(s.tcp, nullptr);
            tcp_err(s.tcp, nullptr);
        }
        if (!s.handed_out) tcp_backlog_accepted(s.tcp);
        // Data not taken is lost: the peer learns it from a reset, as on Linux.
        if (s.chain_count || tcp_close(s.tcp) != ERR_OK) tcp_abort(s.tcp);
    }
    if (s.udp) udp_remove(s.udp);
    s.tcp = nullptr, s.udp = nullptr;
    forget_received(s);
    for (uint32_t i = 0; i < s.waiting_count; ++i) close(g_sockets[s.waiting[i]]);
    s.waiting_count = 0;
    s.used = false;
}

int64_t bind(Socket& s, uint32_t address, uint16_t port, uint16_t* bound) {
    ip_addr_t a = to_ip(address);
    if (s.kind == proto::net::kDatagram) {
        err_t e = udp_bind(s.udp, &a, port);
        if (e == ERR_USE) sweep(true), e = udp_bind(s.udp, &a, port);
        if (e) return error_of(e);
        *bound = s.udp->local_port;
        return kOk;
    }
    if (s.state != proto::net::kFresh) return kErrBadState;
    if (port && listened(address, port)) sweep(true);
    if (port && listened(address, port)) return kErrAddressInUse;
    if (!s.tcp && !(s.tcp = tcp_new())) return kErrNoMemory;
    watch(s);
    ip_set_option(s.tcp, SOF_REUSEADDR);  // a restarted server binds its port at once
    if (err_t e = tcp_bind(s.tcp, &a, port)) return error_of(e);
    s.state = proto::net::kBound;
    *bound = s.tcp->local_port;
    return kOk;
}

int64_t listen(Socket& s, uint32_t backlog) {
    if (s.kind != proto::net::kStream) return kErrUnsupported;
    if (s.state == proto::net::kFresh) {
        uint16_t port;
        if (int64_t e = bind(s, 0, 0, &port)) return e;
    }
    if (s.state != proto::net::kBound) return kErrBadState;
    s.backlog = backlog == 0 ? 1 : backlog > 16 ? 16 : backlog;
    err_t e = ERR_OK;
    tcp_pcb* l = tcp_listen_with_backlog_and_err(s.tcp, static_cast<u8_t>(s.backlog), &e);
    if (!l) return error_of(e);
    s.tcp = l;  // the listening pcb replaces the one bound (which lwIP freed)
    tcp_arg(l, arg_of(s));
    tcp_accept(l, on_accepted);
    s.state = proto::net::kListening;
    return kOk;
}

int64_t connect(Socket& s, uint32_t address, uint16_t port) {
    ip_addr_t a = to_ip(address);
    if (s.kind == proto::net::kDatagram) {
        if (err_t e = udp_connect(s.udp, &a, port)) return error_of(e);
        s.default_address = address, s.default_port = port;
        return kOk;
    }
    if (s.state == proto::net::kConnecting) return kErrInProgress;
    if (s.state != proto::net::kFresh && s.state != proto::net::kBound) return kErrBadState;
    if (!s.tcp && !(s.tcp = tcp_new())) return kErrNoMemory;
    watch(s);
    tcp_nagle_disable(s.tcp);
    if (err_t e = tcp_connect(s.tcp, &a, port, on_connected)) return error_of(e);
    s.state = proto::net::kConnecting;
    return kOk;
}

Socket* take_accepted(Socket& s) {
    if (!s.waiting_count) return nullptr;
    Socket& c = g_sockets[s.waiting[0]];
    --s.waiting_count;
    for (uint32_t i = 0; i < s.waiting_count; ++i) s.waiting[i] = s.waiting[i + 1];
    c.handed_out = true;
    if (c.tcp) tcp_backlog_accepted(c.tcp);
    return &c;
}

uint32_t readable(const Socket& s) {
    if (s.kind == proto::net::kDatagram) return s.count ? s.datagrams[s.first].data->tot_len : 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s.chain_count; ++i) n += s.chains[i]->tot_len;
    return n;
}

uint32_t receive(Socket& s, uint8_t* out, uint32_t length, bool peek, uint32_t* whole, uint32_t* address,
                 uint16_t* port) {
    if (s.kind == proto::net::kDatagram) {
        *whole = 0;
        if (!s.count) return 0;
        Datagram& d = s.datagrams[s.first];
        uint32_t n = pbuf_copy_partial(d.data, out, static_cast<u16_t>(length < 0xffff ? length : 0xffff), 0);
        *whole = d.data->tot_len, *address = d.address, *port = d.port;
        if (peek) return n;
        pbuf_free(d.data);  // the rest of a datagram too long for the buffer is lost, as on Linux
        s.first = (s.first + 1) % kMaxDatagrams, --s.count;
        return n;
    }
    uint32_t done = 0;
    for (uint32_t i = 0; peek && i < s.chain_count && done < length; ++i) {
        uint32_t n = length - done < s.chains[i]->tot_len ? length - done : s.chains[i]->tot_len;
        done += pbuf_copy_partial(s.chains[i], out + done, static_cast<u16_t>(n), 0);
    }
    while (!peek && s.chain_count && done < length) {
        uint32_t n = length - done < s.chains[0]->tot_len ? length - done : s.chains[0]->tot_len;
        done += pbuf_copy_partial(s.chains[0], out + done, static_cast<u16_t>(n), 0);
        if (!(s.chains[0] = pbuf_free_header(s.chains[0], static_cast<u16_t>(n)))) {
            --s.chain_count;
            for (uint32_t i = 0; i < s.chain_count; ++i) s.chains[i] = s.chains[i + 1];
        }
    }
    *whole = done, *address = 0, *port = 0;
    if (s.tcp && !peek) {
        for (uint32_t left = done; left;) {  // open the window again by what was taken
            u16_t n = static_cast<u16_t>(left > 0xffff ? 0xffff : left);
            tcp_recved(s.tcp, n);
            left -= n;
        }
    }
    return done;
}

uint32_t writable(const Socket& s) {
    if (s.kind == proto::net::kDatagram) return proto::net::kChunk;
    return s.tcp && s.state == proto::net::kConnected ? tcp_sndbuf(s.tcp) : 0;
}

int64_t send(Socket& s, const uint8_t* data, uint32_t length, uint32_t address, uint16_t port, uint32_t* sent) {
    *sent = 0;
    if (s.kind == proto::net::kDatagram) {
        if (!address && !port) address = s.default_address, port = s.default_port;
        if (!port) return kErrNotConnected;
        if (length > 65507) return kErrInvalidArgument;
        pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(length), PBUF_RAM);
        if (!p) return kErrNoMemory;
        pbuf_take(p, data, static_cast<u16_t>(length));
        ip_addr_t a = to_ip(address);
        err_t e = udp_sendto(s.udp, p, &a, port);
        pbuf_free(p);
        if (e != ERR_OK) return error_of(e);
        *sent = length;
        return kOk;
    }
    if (s.error) return s.error;
    if (s.state != proto::net::kConnected || !s.tcp) return kErrNotConnected;
    uint32_t room = tcp_sndbuf(s.tcp);
    uint32_t n = length < room ? length : room;
    if (!n) return kOk;
    if (err_t e = tcp_write(s.tcp, data, static_cast<u16_t>(n), TCP_WRITE_FLAG_COPY)) {
        return e == ERR_MEM ? kOk : error_of(e);  // no segments free now: later
    }
    tcp_output(s.tcp);
    *sent = n;
    return kOk;
}

int64_t shutdown(Socket& s, uint32_t how) {
    if (s.kind != proto::net::kStream || how < 1 || how > 3) return kErrInvalidArgument;
    if (!s.tcp || s.state != proto::net::kConnected) return kErrNotConnected;
    if (how & 1) forget_received(s);
    if (err_t e = tcp_shutdown(s.tcp, how & 1, (how & 2) != 0)) return error_of(e);
    if ((how & 3) == 3) s.tcp = nullptr;  // lwIP closed and will free it
    return kOk;
}

uint32_t events(const Socket& s, uint32_t beyond) {
    using namespace proto::net;
    uint32_t e = 0;
    bool data = s.kind == kDatagram ? s.count != 0 : readable(s) > beyond;  // an empty datagram is one too
    if (s.error) e |= kFailed | kReadable | kWritable;
    if (data || s.peer_done || s.waiting_count) e |= kReadable;
    if (writable(s)) e |= kWritable;
    return e;
}

void fire_watches(void (*signal)(uint64_t badge)) {
    for (Socket& s : g_sockets) {
        if (!s.used || !s.watched || !(events(s, s.beyond) & (s.watched | proto::net::kFailed))) continue;
        s.watched = 0;
        signal(s.badge);
    }
}

void local_end(const Socket& s, uint32_t* address, uint16_t* port) {
    *address = 0, *port = 0;
    if (s.tcp) *address = from_ip(&s.tcp->local_ip), *port = s.tcp->local_port;
    if (s.udp) *address = from_ip(&s.udp->local_ip), *port = s.udp->local_port;
}

void peer_end(const Socket& s, uint32_t* address, uint16_t* port) {
    *address = 0, *port = 0;
    if (s.tcp && s.state != proto::net::kListening) *address = from_ip(&s.tcp->remote_ip), *port = s.tcp->remote_port;
    if (s.udp) *address = from_ip(&s.udp->remote_ip), *port = s.udp->remote_port;
}

}  // namespace net
