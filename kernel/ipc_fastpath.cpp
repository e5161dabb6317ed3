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
    // One with no time limit, that would run next anyway.
    if (unlikely(!g_ipc_fastpath || ep.closed() || !receiver || receiver->deadline != kNoDeadline ||
                 receiver->priority < sched_highest_ready() || receiver->priority < self->priority))
        return false;
    ep.receivers.remove(receiver);
    receiver->queue = nullptr;
    receiver->ipc.stop_waiting();
    receiver->ipc.deliver(self->ipc.msg, badge);
    reply_link(*receiver, *self);
    self->ipc.recv_capacity = 0;
    *result = sched_handoff(nullptr, receiver);
    self->ipc.stop_waiting();
    return true;
}

bool ipc_fastpath_reply_recv(Endpoint& ep, int64_t* result) {
    Thread* self = current_thread();
    Thread* caller = self->ipc.reply_to;
    // A caller still waiting for exactly this reply, with no time limit, and
    // nothing else for this server to do once it has replied.
    if (unlikely(!g_ipc_fastpath || !caller || !caller->ipc.awaits_reply(self, self->ipc.reply_id) ||
                 caller->state != Thread::State::blocked || caller->deadline != kNoDeadline ||
                 !ep.senders.empty() || ep.closed() || ep.bound ||
                 caller->priority < sched_highest_ready() || !sched_may_run_here(caller)))
        return false;
    caller->ipc.deliver(self->ipc.msg, 0);
    caller->ipc.stop_waiting();
    self->ipc.reply_to = nullptr;
    caller->unref();  // still referenced by the scheduler while it exists
    self->ipc.state = ThreadIpc::State::receiving;
    self->ipc.recv_data = 0;
    self->ipc.recv_capacity = 0;
    ep.ref();  // while we wait in its queue, as the general path's Ref does
    *result = sched_handoff(&ep.receivers, caller);
    self->ipc.state = ThreadIpc::State::none;
    ep.unref();
    return true;
}
