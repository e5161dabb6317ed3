// Sockets: what programs hold in net: (proto/net.h), each over an lwIP
// protocol control block, owned by the badge that made it.
#pragma once

#include <stdint.h>

#include "mica/types.h"
#include "proto/net.h"

struct pbuf;
struct tcp_pcb;
struct udp_pcb;

namespace net {

constexpr uint32_t kMaxSockets = 128;
constexpr uint32_t kMaxPerClient = 64;
constexpr uint32_t kMaxDatagrams = 32;  // queued per datagram socket; more are dropped
constexpr uint32_t kMaxChains = 8;      // a stream's receive window fits in 4

struct Datagram {
    pbuf* data;
    uint32_t address;
    uint16_t port;
};

struct Socket {
    bool used = false;
    uint16_t generation = 0;
    uint64_t badge = 0;
    uint32_t kind = 0;
    uint32_t state = proto::net::kFresh;
    tcp_pcb* tcp = nullptr;
    udp_pcb* udp = nullptr;
    // A stream's received bytes not yet taken: pbuf chains in order (a
    // chain holds less than 64 KiB, lwIP's limit), and the peer's end.
    pbuf* chains[kMaxChains] = {};
    uint32_t chain_count = 0;
    bool peer_done = false;
    int64_t error = 0;  // why the connection ended (kErrConnectionReset, ...)
    // A datagram socket's queue, and where Send goes by default.
    Datagram datagrams[kMaxDatagrams];
    uint32_t first = 0, count = 0;
    uint32_t default_address = 0;
    uint16_t default_port = 0;
    // A listening socket: connections not yet accepted (socket indexes).
    uint32_t backlog = 0;
    uint32_t waiting[16];
    uint32_t waiting_count = 0;
    bool handed_out = true;  // false while it waits in its listener's queue
    uint32_t watched = 0;    // events a Watch waits for (its owner is signalled once one comes)
    uint32_t beyond = 0;     // a stream is readable for it with more than this waiting (Watch)
};

// The socket `id` names if `badge` owns it: nullptr and *error otherwise
// (kErrConnectionReset for a socket of an earlier incarnation).
Socket* find(uint64_t id, uint64_t badge, int64_t* error);
uint64_t id_of(const Socket& s);
Socket* make(uint64_t badge, uint32_t kind, int64_t* error);
void close(Socket& s);

// TCP and UDP through lwIP, for the operations (calls.cpp).
int64_t bind(Socket& s, uint32_t address, uint16_t port, uint16_t* bound);
int64_t listen(Socket& s, uint32_t backlog);
int64_t connect(Socket& s, uint32_t address, uint16_t port);
// An accepted connection waiting in `s`'s queue, handed out; or nullptr.
Socket* take_accepted(Socket& s);
// Bytes taken from the stream (0 when none wait); datagrams: one, cut to
// `length` (*whole: its size). A peek copies them and leaves them queued.
uint32_t receive(Socket& s, uint8_t* out, uint32_t length, bool peek, uint32_t* whole, uint32_t* address,
                 uint16_t* port);
uint32_t readable(const Socket& s);
uint32_t writable(const Socket& s);
int64_t send(Socket& s, const uint8_t* data, uint32_t length, uint32_t address, uint16_t port, uint32_t* sent);
int64_t shutdown(Socket& s, uint32_t how);
// Its events; a stream is kReadable with more than `beyond` bytes waiting,
// a datagram socket with a datagram.
uint32_t events(const Socket& s, uint32_t beyond = 0);
void local_end(const Socket& s, uint32_t* address, uint16_t* port);
void peer_end(const Socket& s, uint32_t* address, uint16_t* port);

// Disarms each watch whose socket has one of its events, and tells
// `signal` whose it was.
void fire_watches(void (*signal)(uint64_t badge));

// Something changed: the operations waiting may finish (calls.cpp).
void settle();
void start_sockets();
// Closes the sockets of programs that have ended (at most once a second,
// unless `now`).
void sweep(bool now = false);
// Closes every socket of `badge`; how many.
uint32_t forget_client(uint64_t badge);

}  // namespace net
