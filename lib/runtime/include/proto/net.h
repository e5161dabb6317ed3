// The network protocol (net:): sockets over the TCP/IP server.
//
// A socket is named by the number Socket answered; it belongs to the badge
// that made it, and no other client can use it. Its upper 32 bits are the
// server's incarnation: after a restart of the server every old socket
// answers kErrConnectionReset (the client library makes a listening socket
// again, and its caller sees nothing; a connection is gone).
//
// Calls that cannot finish at once (Accept, Connect, Receive, Send with the
// send buffer full, Wait) are answered when they can, unless the request
// says kNonBlocking: then kErrWouldBlock (kErrInProgress for Connect).
// A client that must never wait in net: (the Linux personality, whose one
// thread serves many programs) calls with kNonBlocking always, and learns
// when to try again from Watch and a notification it gave with Notify.
// Addresses are IPv4, in host byte order (10.0.2.15 is 0x0a00020f).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::net {

constexpr uint32_t kChunk = 32768;  // data per Send or Receive
constexpr uint32_t kMaxWait = 16;   // sockets per Wait
enum Kind : uint32_t { kStream = 1, kDatagram = 2 };
// kPeek (Receive): the bytes stay queued, a datagram at the head of its
// queue, for the next Receive to take.
enum Flags : uint32_t { kNonBlocking = 1, kPeek = 2 };
// Wait's and Watch's events.
enum Events : uint32_t { kReadable = 1, kWritable = 2, kFailed = 4 };

struct Socket {
    static constexpr uint64_t kLabel = 0xb01;
    struct Request { uint32_t kind; uint32_t unused; };
    struct Reply { uint64_t socket; };
};

// Port 0: any free port (the reply says which).
struct Bind {
    static constexpr uint64_t kLabel = 0xb02;
    struct Request { uint64_t socket; uint32_t address; uint16_t port; uint16_t unused; };
    struct Reply { uint16_t port; uint16_t unused; };
};

struct Listen {
    static constexpr uint64_t kLabel = 0xb03;
    struct Request { uint64_t socket; uint32_t backlog; uint32_t unused; };
    struct Reply { uint32_t unused; };
};

// A new socket for the next connection that came to a listening one.
struct Accept {
    static constexpr uint64_t kLabel = 0xb04;
    struct Request { uint64_t socket; uint32_t flags; uint32_t unused; };
    struct Reply { uint64_t socket; uint32_t address; uint16_t port; uint16_t unused; };
};

// A stream socket connects; a datagram socket only sets where Send goes.
struct Connect {
    static constexpr uint64_t kLabel = 0xb05;
    struct Request { uint64_t socket; uint32_t address; uint16_t port; uint16_t unused; uint32_t flags; uint32_t unused2; };
    struct Reply { uint32_t address; uint16_t port; uint16_t unused; };  // the local end
};

// At least one byte is taken (a datagram: all or nothing); `address` and
// `port` are a datagram's destination (0: where Connect said).
struct Send {
    static constexpr uint64_t kLabel = 0xb06;
    struct Request {
        uint64_t socket;
        uint32_t flags, length;
        uint32_t address;
        uint16_t port, unused;
        uint8_t data[kChunk];
    };
    static constexpr uint32_t kMinRequest = offsetof(Request, data);
    struct Reply { uint32_t sent; };
};

// Size 0 from a stream: the peer will send nothing more. A datagram longer
// than `length` is cut (and, unless peeked, the rest lost); `whole` says
// how long it was.
struct Receive {
    static constexpr uint64_t kLabel = 0xb07;
    struct Request { uint64_t socket; uint32_t flags, length; };
    struct Reply {
        uint32_t size;
        uint32_t address;  // whence a datagram came
        uint16_t port;
        uint16_t end;      // a stream: nothing will come after these bytes (the peer's end, or an error)
        uint32_t whole;    // a datagram's size; a stream's: `size`
        uint8_t data[kChunk];
    };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

struct Close {
    static constexpr uint64_t kLabel = 0xb08;
    struct Request { uint64_t socket; };
    struct Reply { uint32_t unused; };
};

// `how`: 1 no more receiving, 2 no more sending, 3 both.
struct Shutdown {
    static constexpr uint64_t kLabel = 0xb09;
    struct Request { uint64_t socket; uint32_t how; uint32_t unused; };
    struct Reply { uint32_t unused; };
};

// Waits until one of the sockets has one of the events asked for, or
// `timeout_ns` passes (0: do not wait; ~0: no limit). The reply has each
// socket's events (0 for all: the time ran out). `count` is 1 to kMaxWait.
struct Wait {
    static constexpr uint64_t kLabel = 0xb0a;
    struct Request {
        uint32_t count, unused;
        uint64_t timeout_ns;
        uint64_t sockets[kMaxWait];
        uint32_t events[kMaxWait];
    };
    struct Reply { uint32_t events[kMaxWait]; };
};

enum State : uint32_t { kFresh = 0, kBound, kListening, kConnecting, kConnected, kClosing, kReset };
struct Status {
    static constexpr uint64_t kLabel = 0xb0b;
    struct Request { uint64_t socket; };
    struct Reply {
        uint32_t kind, state;
        uint32_t local_address, peer_address;
        uint16_t local_port, peer_port;
        uint32_t readable;  // bytes waiting to be received
        uint32_t writable;  // bytes Send would take now
        int32_t error;      // why the connection ended (kErrConnectionRefused, ...); 0 while it has not
    };
};

// The `index`-th network interface (kErrNotFound past the last).
struct Interface {
    static constexpr uint64_t kLabel = 0xb0c;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t index; uint32_t unused; };
    struct Reply {
        char name[8];
        uint8_t mac[6];
        uint8_t up, link_up;
        uint32_t address, netmask, gateway;
        uint32_t mtu;
        uint32_t dhcp;  // the address came from DHCP
        uint64_t received, transmitted;  // frames (for the loopback: packets)
        uint64_t received_bytes, transmitted_bytes;
        uint64_t dropped;
        char driver[24];
    };
};

// An ICMP echo request to `address`; the answer comes with the echo reply
// or kErrTimedOut.
struct Ping {
    static constexpr uint64_t kLabel = 0xb0d;
    struct Request { uint32_t address; uint16_t sequence; uint16_t size; uint64_t timeout_ns; };
    struct Reply { uint64_t rtt_ns; uint32_t ttl; uint32_t size; };
};

// The notification (with the request: signal right) that Watch signals
// for the calling badge, replacing one given before. The server keeps a
// few (kErrLimit beyond); a new incarnation of it knows none, and answers
// Watch with kErrBadState until the client gives one again.
struct Notify {
    static constexpr uint64_t kLabel = 0xb0e;
    struct Request { uint64_t bits; };  // what to signal
    struct Reply { uint32_t unused; };
};

// The socket's `events` (and kFailed) it has now; if none, 0, and a watch
// is armed: the next time the socket has one of them, the caller's
// notification is signalled, once (a client that wants to hear again
// watches again). Watches of one socket add up; closing it drops them.
// A stream is kReadable here only with more than `beyond` bytes waiting
// (or at its end): a client that peeked at some waits for more.
struct Watch {
    static constexpr uint64_t kLabel = 0xb0f;
    struct Request { uint64_t socket; uint32_t events; uint32_t beyond; };
    struct Reply { uint32_t events; uint32_t unused; };
};

// Closes every socket of the calling badge: a client that restarted (the
// Linux personality) forgets what its earlier incarnation held, so that
// its ports are free again. The reply says how many were closed.
struct Forget {
    static constexpr uint64_t kLabel = 0xb10;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t closed; };
};

}  // namespace proto::net
