// The IPC fast path (see ipc_fastpath.h). Only an optimisation: every check
// that fails sends the call to the general path, which would reach the same
// outcome, so the tests run with it on and off (`ipc.fastpath=off`).
#include "ipc_fastpath.h"

#include "endpoint.h"
#include "ipc.h"
#include "reply.h"
#include "scheduler.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

bool ipc_fastpath_call(Endpoint& ep, uint64_t badge, int64_t* result) {
    Thread* self = current_thread();
    // The first waiting receiver that may run on this CPU (with several
    // server threads on one endpoint, each pinned to a CPU: the local one).
    Thread* receiver = ep.receivers.front();
    while (receiver && !sched_may_run_here(receiver)) receiver = ep.receivers.next(receiver);
    // One that would run next anyway: above every ready thread, since the
    // general path would queue it behind those of its own priority (its
    // time limit, if any, no longer counts).
    if (unlikely(!g_ipc_fastpath || ep.closed() || !receiver || receiver->priority <= sched_highest_ready() ||
                 receiver->priority < self->priority))
        return false;
    ep.receivers.remove(receiver);
    receiver->queue = nullptr;
    sched_forget_deadline(receiver);
    receiver->ipc.stop_waiting();
    receiver->ipc.deliver(self->ipc.msg, badge);
    reply_link(*receiver, *self);
    self->ipc.recv_capacity = 0;
    *result = sched_handoff(nullptr, receiver);
    self->ipc.stop_waiting();
    return true;
}

namespace {
// `b`: the server's buffer, or null (constant in each caller below, so the
// register-only version pays nothing for the buffer's case).
[[gnu::always_inline]] inline bool reply_recv(Endpoint& ep, const mica::IpcBuffer* b, int64_t* result) {
    Thread* self = current_thread();
    Thread* caller = self->ipc.reply_to;
    // A reply of registers alone, to a caller still waiting for exactly it,
    // with no time limit, above every ready thread (as for a call), and
    // nothing else for this server to do once it has replied.
    if (unlikely(!g_ipc_fastpath || (b && (b->send_size || b->send_handle_count || !b->timeout_ns)) || !caller ||
                 !caller->ipc.awaits_reply(self, self->ipc.reply_id) ||
                 caller->state != Thread::State::blocked || caller->deadline != kNoDeadline ||
                 !ep.senders.empty() || ep.closed() || ep.bound ||
                 caller->priority <= sched_highest_ready() || !sched_may_run_here(caller)))
        return false;
    caller->ipc.deliver(self->ipc.msg, 0);
    caller->ipc.stop_waiting();
    self->ipc.reply_to = nullptr;
    caller->unref();  // still referenced by the scheduler while it exists
    self->ipc.state = ThreadIpc::State::receiving;
    self->ipc.recv_data = b ? reinterpret_cast<uintptr_t>(b->recv_data) : 0;
    self->ipc.recv_capacity = b ? b->recv_capacity : 0;
    ep.ref();  // while we wait in its queue, as the general path's Ref does
    *result = b ? sched_handoff(&ep.receivers, caller, sched_deadline(b->timeout_ns))
                : sched_handoff(&ep.receivers, caller);
    self->ipc.state = ThreadIpc::State::none;
    ep.unref();
    return true;
}
}  // namespace

bool ipc_fastpath_reply_recv(Endpoint& ep, int64_t* result) { return reply_recv(ep, nullptr, result); }

bool ipc_fastpath_reply_recv(Endpoint& ep, const IpcRequest& req, int64_t* result) {
    return reply_recv(ep, &req.buffer, result);
}
