// The IPC fast path (see ipc_fastpath.h). Only an optimisation: every check
// that fails sends the call to the general path, which would reach the same
// outcome, so the tests run with it on and off (`ipc.fastpath=off`).
#include "ipc_fastpath.h"

#include "endpoint.h"
#include "ipc.h"
#include "process.h"
#include "reply.h"
#include "scheduler.h"
#include "smp.h"

using mica::Handle;
using mica::kOk;

#define unlikely(x) __builtin_expect(!!(x), 0)

namespace {

// The receiver a call on `ep` goes straight to, or null: the first waiting
// one that may run on this CPU (with several server threads on one
// endpoint, each pinned to a CPU: the local one), if it would run next
// anyway: above every ready thread, since the general path would queue it
// behind those of its own priority (its time limit, if any, no longer counts).
// (`kSmp`: with one CPU, every thread may run on it.)
template <bool kSmp> [[gnu::always_inline]] inline Thread* fast_receiver(Endpoint& ep, const Thread* self) {
    Thread* r = ep.receivers.front();
    while (kSmp && r && !sched_may_run_here(r)) r = ep.receivers.next(r);
    if (unlikely(!g_ipc_fastpath || ep.closed() || !r || r->priority <= sched_highest_ready() ||
                 r->priority < self->priority || r->kill_pending))
        return nullptr;
    return r;
}

// The caller a reply_recv on `ep` answers straight, or null: one still
// waiting for exactly this reply, with no time limit, that would run next
// (as for a call), with nothing else for the server to do once it has replied.
template <bool kSmp> [[gnu::always_inline]] inline Thread* fast_caller(Endpoint& ep, const Thread* self) {
    Thread* c = self->ipc.reply_to;
    if (unlikely(!g_ipc_fastpath || !c || !c->ipc.awaits_reply(self, self->ipc.reply_id) ||
                 c->state != Thread::State::blocked || c->deadline != kNoDeadline || !ep.senders.empty() ||
                 ep.closed() || ep.bound || c->kill_pending || c->priority <= sched_highest_ready() ||
                 (kSmp && !sched_may_run_here(c))))
        return nullptr;
    return c;
}

// The message `m` reaches `t`, in its IPC state for its way back (a thread
// resumed through ipc_resume_entry takes it from there too); null: `t`
// waits as the direct switch left it, which returns it to user mode with the
// message in its registers.
[[gnu::always_inline]] inline void deliver(Thread* t, const MessageRegs* m, uint64_t badge) {
    if (m) t->ipc.deliver(*m, badge);
    t->ipc.stop_waiting();
}

// The call reaches receiver `r`, which now holds its reply.
[[gnu::always_inline]] inline void give_call(Endpoint& ep, Thread* r, Thread* self, uint64_t badge,
                                             const MessageRegs* m) {
    ep.receivers.remove(r);
    r->queue = nullptr;
    sched_forget_deadline(r);
    deliver(r, m, badge);
    reply_link(*r, *self);
    self->ipc.recv_capacity = 0;
}

// The reply reaches caller `c`; the server will wait to receive, into `area`
// (0: none).
[[gnu::always_inline]] inline void give_reply(Thread* c, Thread* self, const MessageRegs* m, uintptr_t area,
                                              uint32_t capacity) {
    deliver(c, m, 0);
    self->ipc.reply_to = nullptr;
    c->unref();  // still referenced by the scheduler while it exists
    self->ipc.state = ThreadIpc::State::receiving;
    self->ipc.recv_data = area;
    self->ipc.recv_capacity = capacity;
}

// The direct path: `kCall` for ipc_call, else ipc_reply_recv; `kSmp` for the
// entry that takes the kernel lock. `frame`: the caller's saved registers,
// as words (the message is read from there only if the switch does not
// hand it over itself).
template <bool kCall, bool kSmp>
[[gnu::always_inline]] inline void direct(Handle handle, const uint64_t* frame) {
    if (kSmp) kernel_enter_from_user();
    Cpu& cpu = this_cpu();
    Thread* self = cpu.current;
    Endpoint* ep;
    Capability cap;
    // The general path's return would switch first. (With one CPU no return
    // to user mode leaves this set: only another CPU sets it under our feet.)
    Thread* next = unlikely((kSmp && cpu.need_resched) ||
                            self->process()->check(handle, kCall ? mica::kRightWrite : mica::kRightRead, &ep, &cap))
                       ? nullptr : kCall ? fast_receiver<kSmp>(*ep, self) : fast_caller<kSmp>(*ep, self);
    if (__builtin_expect(next != nullptr, 1)) {
        bool in_user = resumes_in_user(next->context);
        MessageRegs m;
        if (!in_user) m = {frame[arch::kSyscallArgs[1]], frame[arch::kSyscallArgs[2]], frame[arch::kSyscallArgs[3]],
                           frame[arch::kSyscallArgs[4]]};
        if (kCall) give_call(*ep, next, self, cap.badge, in_user ? nullptr : &m);
        else give_reply(next, self, in_user ? nullptr : &m, 0, 0);
        sched_handoff_direct<kSmp>(cpu, self, kCall ? nullptr : &ep->receivers, next, in_user, kCall ? cap.badge : 0);
    }
    if (kSmp) kernel_unlock();
}

}  // namespace

// Called by trap_entry.S with the registers of the system call. Flattened
// (with LTO, across files): the scheduler's and the arch switch are inlined.
#define DIRECT(name, call, smp)                                                                                \
    extern "C" [[gnu::flatten, gnu::optimize("omit-frame-pointer")]] void name(Handle h, const uint64_t* frame) { \
        direct<call, smp>(h, frame);                                                                          \
    }
DIRECT(ipc_direct_call, true, false)
DIRECT(ipc_direct_reply_recv, false, false)
DIRECT(ipc_direct_call_smp, true, true)
DIRECT(ipc_direct_reply_recv_smp, false, true)

// A thread that waited as the direct switch left it, resumed by anything
// else (the general path's reply or message, a wake-up): what follows its
// block on the general path.
extern "C" void ipc_fast_resumed() {
    Thread* self = current_thread();
    self->ipc.stop_waiting();
    arch::set_syscall_result(self->stack_top(), ipc_complete_receive(*self, 0, self->wake_result));
}

bool ipc_fastpath_call(Endpoint& ep, uint64_t badge, int64_t* result) {
    Thread* self = current_thread();
    Thread* receiver = fast_receiver<true>(ep, self);
    if (!receiver) return false;
    give_call(ep, receiver, self, badge, &self->ipc.msg);
    *result = sched_handoff(nullptr, receiver);
    self->ipc.stop_waiting();
    return true;
}

bool ipc_fastpath_reply_recv(Endpoint& ep, const IpcRequest& req, int64_t* result) {
    Thread* self = current_thread();
    const mica::IpcBuffer& b = req.buffer;
    Thread* caller = b.send_size || b.send_handle_count || !b.timeout_ns ? nullptr : fast_caller<true>(ep, self);
    if (!caller) return false;
    give_reply(caller, self, &self->ipc.msg, reinterpret_cast<uintptr_t>(b.recv_data), b.recv_capacity);
    ep.ref();  // while we wait in its queue, as the general path's Ref does
    *result = sched_handoff(&ep.receivers, caller, sched_deadline(b.timeout_ns));
    self->ipc.state = ThreadIpc::State::none;
    ep.unref();
    return true;
}
