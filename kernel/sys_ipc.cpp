// IPC system calls, decoded here and carried out by the endpoint
// (endpoint.cpp: call, receive), the reply (reply.cpp) and the IPC engine
// (ipc.cpp); the fast path (ipc_fastpath.cpp) is tried first where it can be.
// Also badges, notifications, binding, and a process's fault handler.
#include "endpoint.h"
#include "ipc.h"
#include "ipc_fastpath.h"
#include "notification.h"
#include "process.h"
#include "reply.h"
#include "scheduler.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_endpoint_create() { return current_process().create_object<Endpoint>(); }

int64_t sys_handle_mint(Handle handle, uint32_t rights, uint64_t badge) {
    Process& self = current_process();
    Capability cap;
    if (int64_t e = self.check(handle, kRightDuplicate, ObjectType::none, &cap)) return e;
    if (int64_t e = narrow_rights(cap.rights, rights, &rights)) return e;
    if (badge == 0) return kErrInvalidArgument;
    if (cap.badge != 0) return kErrBadState;  // a badge, once given, is fixed
    return self.handles().add(cap.object, rights, self.quota(), badge);
}

int64_t sys_ipc_call(Handle endpoint, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                     UserPtr<IpcBuffer> buffer) {
    Thread* self = current_thread();
    self->ipc.msg = MessageRegs{label, w0, w1, w2};
    Ref<Endpoint> ep;
    Capability cap;
    if (int64_t e = current_process().get(endpoint, kRightWrite, &ep, &cap)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    ipc_take_payload(req, self->ipc.payload);
    return ipc_complete_receive(*self, buffer.address(), endpoint_call(*ep, cap.badge, req));
}

int64_t sys_ipc_recv(Handle endpoint, uint64_t, uint64_t, uint64_t, uint64_t, UserPtr<IpcBuffer> buffer) {
    Ref<Endpoint> ep;
    if (int64_t e = current_process().get(endpoint, kRightRead, &ep)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    return ipc_complete_receive(*current_thread(), buffer.address(), endpoint_receive(*ep, req));
}

int64_t sys_ipc_reply(Handle, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                      UserPtr<IpcBuffer> buffer) {
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    ipc_take_payload(req, current_thread()->ipc.payload);
    current_thread()->ipc.msg = MessageRegs{label, w0, w1, w2};
    return reply_current();
}

int64_t sys_ipc_reply_recv(Handle endpoint, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                           UserPtr<IpcBuffer> buffer) {
    Thread* self = current_thread();
    self->ipc.msg = MessageRegs{label, w0, w1, w2};
    Ref<Endpoint> ep;
    if (int64_t e = current_process().get(endpoint, kRightRead, &ep)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    int64_t result;
    if (req.present && ipc_fastpath_reply_recv(*ep, req, &result))  // a server's loop: a buffer to receive into
        return ipc_complete_receive(*self, buffer.address(), result);
    ipc_take_payload(req, self->ipc.payload);
    if (self->ipc.reply_to) reply_current();  // a caller that went away is not the server's error
    else self->ipc.payload.drop();
    return ipc_complete_receive(*self, buffer.address(), endpoint_receive(*ep, req));
}

int64_t sys_ipc_reply_save() { return SavedReply::save(current_process()); }

int64_t sys_ipc_reply_to(Handle reply, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                         UserPtr<IpcBuffer> buffer) {
    Process& p = current_process();
    Ref<SavedReply> saved;
    if (int64_t e = p.get(reply, kRightWrite, &saved)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    for (uint32_t i = 0; req.present && i < req.buffer.send_handle_count; ++i)
        if (req.buffer.send_handles[i] == reply) return kErrInvalidArgument;  // this call uses it up
    if (!saved->caller) return kErrBadState;
    ipc_take_payload(req, current_thread()->ipc.payload);
    current_thread()->ipc.msg = MessageRegs{label, w0, w1, w2};
    return saved->answer(p, reply);
}

int64_t sys_notification_create() { return current_process().create_object<Notification>(); }

int64_t sys_notification_signal(Handle notification, uint64_t bits) {
    Ref<Notification> n;
    if (int64_t e = current_process().get(notification, kRightSignal, &n)) return e;
    if (bits & ~Notification::kBitsMask) return kErrInvalidArgument;
    n->signal(bits);
    return kOk;
}

int64_t sys_notification_wait(Handle notification, uint64_t timeout_ns) {
    Ref<Notification> n;
    if (int64_t e = current_process().get(notification, kRightWait, &n)) return e;
    if (uint64_t bits = n->take()) return static_cast<int64_t>(bits);
    if (timeout_ns == 0) return kErrWouldBlock;
    return sched_block(&n->waiters, sched_deadline(timeout_ns));
}

int64_t sys_endpoint_bind_notification(Handle endpoint, Handle notification) {
    Ref<Endpoint> ep;
    if (int64_t e = current_process().get(endpoint, kRightRead | kRightManage, &ep)) return e;
    Ref<Notification> n;
    if (int64_t e = current_process().get(notification, kRightWait, &n)) return e;
    if (ep->bound || n->bound_to) return kErrAlreadyExists;
    ep->bound = n;
    n->bound_to = ep.get();
    return kOk;
}

int64_t sys_process_set_fault_handler(Handle process, Handle endpoint, uint32_t flags) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightManage, &target)) return e;
    Ref<Endpoint> ep;
    Capability cap;
    if (int64_t e = current_process().get(endpoint, kRightWrite, &ep, &cap)) return e;
    if (flags & ~kFaultForeign) return kErrInvalidArgument;
    if (!target->alive() || ((flags & kFaultForeign) && target->state() != Process::State::created))
        return kErrBadState;
    target->set_fault_handler(ep.get(), cap.badge);
    if (flags & kFaultForeign) target->make_foreign();
    return kOk;
}

int64_t sys_thread_set_fault_handler(Handle thread, Handle endpoint) {
    Ref<Thread> target;
    if (int64_t e = current_process().get(thread, kRightManage, &target)) return e;
    Ref<Endpoint> ep;
    Capability cap;
    if (int64_t e = current_process().get(endpoint, kRightWrite, &ep, &cap)) return e;
    if (target->state == Thread::State::dead || target->kill_pending) return kErrBadState;
    target->set_fault_handler(ep.get(), cap.badge);
    return kOk;
}
