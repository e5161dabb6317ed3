// The IPC engine shared by the system calls, the fast path and the kernel's
// own fault messages: per-thread IPC state, and moving a message (registers,
// data, handles) from one thread to another.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/ipc.h"
#include "object.h"

class Thread;
class Process;

struct MessageRegs {
    uint64_t label, w0, w1, w2;
};

// A handle on its way from one table to another: out of the sender's table
// but still counted as a handle of its object.
struct HandleInFlight {
    KObject* object = nullptr;  // holds a reference while in flight
    uint32_t rights = 0;
    uint64_t badge = 0;
};

// What travels with a message beyond its registers.
struct IpcPayload {
    uintptr_t data = 0;  // in the sender's address space
    uint32_t size = 0;
    uint32_t handle_count = 0;
    HandleInFlight handles[mica::kMaxMessageHandles];

    // Closes whatever handles are still in flight (a failed send).
    void drop();
};

struct ThreadIpc {
    enum class State : uint8_t { none, sending, receiving, awaiting_reply };
    State state = State::none;
    uint64_t call_id = 0;     // caller side: the call whose reply it awaits
    uint64_t reply_id = 0;    // server side: the call of reply_to
    MessageRegs msg{};        // outgoing while sending; incoming once delivered
    uint64_t badge = 0;       // of the handle the message came through
    IpcPayload payload;       // outgoing extended part
    uintptr_t recv_data = 0;  // where incoming data goes (own address space)
    uint32_t recv_capacity = 0;
    uint32_t recv_size = 0;   // of the last delivered message
    uint32_t recv_handle_count = 0;
    mica::Handle recv_handles[mica::kMaxMessageHandles] = {};
    Thread* reply_to = nullptr;    // server side: the caller to answer (holds a reference)
    Thread* reply_from = nullptr;  // caller side: the server thread holding our reply

    // A message arrives (registers; data and handles, if any, are already
    // in place): what the receiver reads on its way back to user mode.
    void deliver(const MessageRegs& m, uint64_t from_badge, uint32_t size = 0, uint32_t handles = 0) {
        msg = m;
        badge = from_badge;
        recv_size = size;
        recv_handle_count = handles;
    }
    // A thread woken by anything waits for no message or reply any more, so
    // a reply that comes later (its server did not see it go) finds it gone.
    void stop_waiting() {
        state = State::none;
        reply_from = nullptr;
    }
    // Whether this (caller) still awaits the reply `server` holds for call
    // `id`: not if it gave up, was killed, or has made another call since.
    bool awaits_reply(const Thread* server, uint64_t id) const {
        return state == State::awaiting_reply && reply_from == server && call_id == id;
    }
};

// The parts of an IpcBuffer the kernel acts on, read and checked.
struct IpcRequest {
    mica::IpcBuffer buffer{};
    bool present = false;
};

// Reads and checks the caller's IpcBuffer (may be null): sizes, handle
// counts, and that each handle to send exists with kRightTransfer and is
// not asked to grow in rights.
int64_t ipc_read_request(uintptr_t user_buffer, IpcRequest& out);

// Takes the checked handles out of the current process's table into
// `payload`, with the data pointer and size.
void ipc_take_payload(const IpcRequest& request, IpcPayload& payload);

// Moves `sender`'s message (regs in sender.ipc.msg, payload) to `receiver`,
// which must be waiting to receive (or awaiting a reply). On failure nothing
// reached the receiver's handle table and the payload is still the sender's.
int64_t ipc_transfer(Thread& sender, Thread& receiver);

// After a receive completed: copies sizes and handle values to the caller's
// own IpcBuffer (if it gave one) and the message to its registers.
int64_t ipc_complete_receive(Thread& self, uintptr_t user_buffer, int64_t status);

// A thread ends: its pending caller (if any) learns the server is gone.
void ipc_thread_exit(Thread& t);

// Whether the fast path is used (the `ipc.fastpath=off` option turns it off
// so that tests can run both ways).
extern bool g_ipc_fastpath;
