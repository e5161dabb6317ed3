// User-space entry points for the IPC calls, whose results come back in
// registers: RAX the status, RSI the label, RDX/R10/R8 the words, R9 the
// badge. (The other calls return RAX only and are generated.)
#pragma once

#include "mica/ipc.h"
#include "mica/syscall_numbers.h"

namespace mica::sys {

namespace detail_ipc {
[[gnu::always_inline]] inline int64_t exchange(uint64_t number, uint64_t handle, Message& msg, IpcBuffer* buffer,
                        uint64_t* badge) {
    register uint64_t rsi asm("rsi") = msg.label;
    register uint64_t rdx asm("rdx") = msg.w0;
    register uint64_t r10 asm("r10") = msg.w1;
    register uint64_t r8 asm("r8") = msg.w2;
    register uint64_t r9 asm("r9") = reinterpret_cast<uint64_t>(buffer);
    int64_t status;
    asm volatile("syscall"
                 : "=a"(status), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                 : "a"(number), "D"(handle)
                 : "rcx", "r11", "memory");
    if (status >= 0) {
        msg.label = rsi, msg.w0 = rdx, msg.w1 = r10, msg.w2 = r8;
        if (badge) *badge = r9;
    }
    return status;
}
}  // namespace detail_ipc

// Sends `msg` and waits for the reply, which replaces `msg`.
[[gnu::always_inline]] inline int64_t ipc_call(Handle endpoint, Message& msg, IpcBuffer* buffer = nullptr) {
    return detail_ipc::exchange(kSysIpcCall, endpoint, msg, buffer, nullptr);
}
// Waits for a message; returns kOk (a message) or kIpcNotified.
[[gnu::always_inline]] inline int64_t ipc_recv(Handle endpoint, Message& msg, IpcBuffer* buffer = nullptr, uint64_t* badge = nullptr) {
    return detail_ipc::exchange(kSysIpcRecv, endpoint, msg, buffer, badge);
}
[[gnu::always_inline]] inline int64_t ipc_reply(const Message& msg, IpcBuffer* buffer = nullptr) {
    Message copy = msg;
    return detail_ipc::exchange(kSysIpcReply, 0, copy, buffer, nullptr);
}
// Answers the caller whose reply was saved as `reply` (ipc_reply_save); the
// handle is used up.
[[gnu::always_inline]] inline int64_t ipc_reply_to(Handle reply, const Message& msg, IpcBuffer* buffer = nullptr) {
    Message copy = msg;
    return detail_ipc::exchange(kSysIpcReplyTo, reply, copy, buffer, nullptr);
}
// Replies with `msg`, then waits for the next message, which replaces `msg`.
[[gnu::always_inline]] inline int64_t ipc_reply_recv(Handle endpoint, Message& msg, IpcBuffer* buffer = nullptr,
                              uint64_t* badge = nullptr) {
    return detail_ipc::exchange(kSysIpcReplyRecv, endpoint, msg, buffer, badge);
}

}  // namespace mica::sys
