// The operations of net: (proto/net.h), as rpc::Server handlers.
#pragma once

#include "mica/rpc.h"
#include "proto/net.h"

namespace net {

namespace pn = proto::net;

int64_t op_socket(const pn::Socket::Request& q, pn::Socket::Reply& r, mica::rpc::Call& c);
int64_t op_bind(const pn::Bind::Request& q, pn::Bind::Reply& r, mica::rpc::Call& c);
int64_t op_listen(const pn::Listen::Request& q, pn::Listen::Reply& r, mica::rpc::Call& c);
int64_t op_accept(const pn::Accept::Request& q, pn::Accept::Reply& r, mica::rpc::Call& c);
int64_t op_connect(const pn::Connect::Request& q, pn::Connect::Reply& r, mica::rpc::Call& c);
int64_t op_send(const pn::Send::Request& q, pn::Send::Reply& r, mica::rpc::Call& c);
int64_t op_receive(const pn::Receive::Request& q, pn::Receive::Reply& r, mica::rpc::Call& c);
int64_t op_close(const pn::Close::Request& q, pn::Close::Reply& r, mica::rpc::Call& c);
int64_t op_forget(const pn::Forget::Request& q, pn::Forget::Reply& r, mica::rpc::Call& c);
int64_t op_shutdown(const pn::Shutdown::Request& q, pn::Shutdown::Reply& r, mica::rpc::Call& c);
int64_t op_wait(const pn::Wait::Request& q, pn::Wait::Reply& r, mica::rpc::Call& c);
int64_t op_status(const pn::Status::Request& q, pn::Status::Reply& r, mica::rpc::Call& c);
int64_t op_notify(const pn::Notify::Request& q, pn::Notify::Reply& r, mica::rpc::Call& c);
int64_t op_watch(const pn::Watch::Request& q, pn::Watch::Reply& r, mica::rpc::Call& c);

// Ping's wait (ping.cpp sends, calls.cpp keeps the caller).
int64_t keep_ping(const mica::rpc::Call& c, uint64_t timeout_ns, uint16_t sequence, uint32_t address);
void ping_answered(uint32_t address, uint16_t sequence, uint32_t ttl, uint32_t size);
// The earliest deadline of a waiting request (0: none).
uint64_t next_deadline();

}  // namespace net

namespace net {
void start_ping();
int64_t op_ping(const pn::Ping::Request& q, pn::Ping::Reply& r, mica::rpc::Call& c);
}  // namespace net
