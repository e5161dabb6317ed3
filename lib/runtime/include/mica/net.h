// Sockets for programs: TCP and UDP over the TCP/IP server (net:,
// proto/net.h). A listening socket outlives a restart of the server: the
// next accept listens again at the same address and goes on. A connection
// does not: its calls answer kErrConnectionReset.
#pragma once

#include "mica/runtime.h"
#include "proto/net.h"

namespace mica::net {

struct Socket {
    uint64_t id = 0;
    uint32_t kind = 0;
    // What a listening socket needs to listen again.
    bool listening = false;
    uint32_t address = 0, backlog = 0;
    uint16_t port = 0;
};

// A stream (proto::net::kStream) or datagram socket.
int64_t open(Socket* s, uint32_t kind);
// Port 0: any; the port bound in *bound if not null.
int64_t bind(Socket& s, uint32_t address, uint16_t port, uint16_t* bound = nullptr);
int64_t listen(Socket& s, uint32_t backlog);
int64_t accept(Socket& s, Socket* out, uint32_t* address = nullptr, uint16_t* port = nullptr, uint32_t flags = 0);
int64_t connect(Socket& s, uint32_t address, uint16_t port, uint32_t flags = 0);
// Bytes sent (at least 1 unless non-blocking) or an error.
int64_t send(Socket& s, const void* data, uint32_t length, uint32_t flags = 0);
// All of it, or an error.
int64_t send_all(Socket& s, const void* data, size_t length);
int64_t send_to(Socket& s, const void* data, uint32_t length, uint32_t address, uint16_t port);
// Bytes received; 0: the peer has finished (a stream). `flags`: proto::net's
// (kNonBlocking, kPeek).
int64_t receive(Socket& s, void* buffer, uint32_t length, uint32_t flags = 0, uint32_t* address = nullptr,
                uint16_t* port = nullptr);
int64_t shutdown(Socket& s, uint32_t how);
int64_t close(Socket& s);
int64_t status(Socket& s, proto::net::Status::Reply* out);
// Waits for events (proto::net::Events) on up to kMaxWait sockets; the
// events that happened in out[i]; kOk with all 0 when the time ran out.
int64_t wait(Socket* const* sockets, const uint32_t* events, uint32_t count, uint64_t timeout_ns, uint32_t* out);

int64_t ping(uint32_t address, uint16_t sequence, uint16_t size, uint64_t timeout_ns, proto::net::Ping::Reply* out);
int64_t interface(uint32_t index, proto::net::Interface::Reply* out);

// "10.0.2.15" to 0x0a00020f; false for anything else.
bool parse_ipv4(const char* text, uint32_t* address);
// At least 16 bytes.
void format_ipv4(uint32_t address, char* out);

}  // namespace mica::net
