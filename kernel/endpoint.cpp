#include "endpoint.h"

#include "ipc_fastpath.h"

#include "mica/errors.h"
#include "panic.h"
#include "reply.h"
#include "scheduler.h"

using namespace mica;

Endpoint::~Endpoint() {
    KASSERT(senders.empty() && receivers.empty());
    if (bound) bound->bound_to = nullptr;
}

void Endpoint::on_handle_added(uint32_t rights) {
    if (rights & kRightRead) ++receive_handles_;
}

void Endpoint::on_handle_removed(uint32_t rights) {
    if (!(rights & kRightRead) || --receive_handles_ != 0) return;
    closed_ = true;
    // No one can receive here any more: callers learn it, and so do threads
    // still waiting to receive (through a handle that was closed under them).
    sched_wake_all(senders, kErrPeerClosed);
    sched_wake_all(receivers, kErrPeerClosed);
}

namespace {

void set_receive_area(Thread* self, const IpcRequest& req) {
    self->ipc.recv_data = req.present ? reinterpret_cast<uintptr_t>(req.buffer.recv_data) : 0;
    self->ipc.recv_capacity = req.present ? req.buffer.recv_capacity : 0;
}

uint64_t timeout_of(const IpcRequest& req) { return req.present ? req.buffer.timeout_ns : kWaitForever; }

}  // namespace

int64_t endpoint_call(Endpoint& ep, uint64_t badge, const IpcRequest& req) {
    Thread* self = current_thread();
    self->ipc.badge = badge;
    set_receive_area(self, req);
    uint64_t timeout = timeout_of(req);
    int64_t result;
    if (ep.closed()) {
        result = kErrPeerClosed;
    } else if (Thread* receiver = ep.receivers.front()) {
        result = ipc_transfer(*self, *receiver);
        if (result == kOk) {
            reply_link(*receiver, *self);
            sched_wake(receiver, kOk);
            result = sched_block(nullptr, sched_deadline(timeout));
        }
    } else if (timeout == 0) {
        result = kErrWouldBlock;
    } else {
        self->ipc.state = ThreadIpc::State::sending;
        result = sched_block(&ep.senders, sched_deadline(timeout));
    }
    if (result != kOk) self->ipc.payload.drop();
    self->ipc.stop_waiting();
    return result;
}

int64_t endpoint_receive(Endpoint& ep, const IpcRequest& req) {
    Thread* self = current_thread();
    reply_abandon(*self);  // receiving again ends any call left unanswered
    set_receive_area(self, req);
    for (;;) {
        if (ep.bound) {
            if (uint64_t bits = ep.bound->take()) {
                self->ipc.deliver(MessageRegs{0, bits, 0, 0}, 0);
                return kIpcNotified;
            }
        }
        Thread* sender = ep.senders.front();
        if (!sender) break;
        if (int64_t e = ipc_transfer(*sender, *self)) {
            sched_wake(sender, e);  // its message cannot be taken here: it learns why
            continue;
        }
        ep.senders.remove(sender);
        sender->queue = nullptr;
        reply_link(*self, *sender);
        return kOk;
    }
    if (ep.closed()) return kErrPeerClosed;
    uint64_t timeout = timeout_of(req);
    if (timeout == 0) return kErrWouldBlock;
    self->ipc.state = ThreadIpc::State::receiving;
    int64_t result = sched_block(&ep.receivers, sched_deadline(timeout));
    self->ipc.state = ThreadIpc::State::none;
    return result;
}

int64_t endpoint_kernel_call(Endpoint& ep, uint64_t badge, MessageRegs& msg) {
    Thread* self = current_thread();
    self->ipc.msg = msg;
    int64_t result;
    // A fault or a foreign system call: registers only, so the fast path's
    // case whenever the handler waits (and the general path's otherwise).
    if (!ipc_fastpath_call(ep, badge, &result)) result = endpoint_call(ep, badge, IpcRequest{});
    msg = self->ipc.msg;
    return result;
}
