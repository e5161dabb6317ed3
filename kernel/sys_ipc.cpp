// IPC system calls: endpoints (call, recv, reply, reply_recv), badges,
// notifications, binding, and the fault handler a process's creator sets.
#include <new>

#include "endpoint.h"
#include "ipc.h"
#include "ipc_fastpath.h"
#include "notification.h"
#include "process.h"
#include "scheduler.h"
#include "syscalls.h"

using namespace mica;

namespace {

void set_receive_area(Thread* self, const IpcRequest& req) {
    self->ipc.recv_data = req.present ? reinterpret_cast<uintptr_t>(req.buffer.recv_data) : 0;
    self->ipc.recv_capacity = req.present ? req.buffer.recv_capacity : 0;
}

uint64_t timeout_of(const IpcRequest& req) { return req.present ? req.buffer.timeout_ns : kWaitForever; }

// The general path of a call; the message is in self->ipc.msg and the
// payload taken. Handles not delivered are closed, whatever the reason.
int64_t call(Endpoint& ep, uint64_t badge, const IpcRequest& req) {
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
            ipc_link_reply(*receiver, *self);
            sched_wake(receiver, kOk);
            result = sched_block(nullptr, ipc_deadline(timeout));
        }
    } else if (timeout == 0) {
        result = kErrWouldBlock;
    } else {
        self->ipc.state = ThreadIpc::State::sending;
        result = sched_block(&ep.senders, ipc_deadline(timeout));
    }
    if (result != kOk) self->ipc.payload.drop();
    self->ipc.stop_waiting();
    return result;
}

// The general path of a receive. kOk: a message is in self->ipc.
int64_t receive(Endpoint& ep, const IpcRequest& req) {
    Thread* self = current_thread();
    ipc_abandon_reply(*self);  // receiving again ends any call left unanswered
    set_receive_area(self, req);
    for (;;) {
        if (ep.bound) {
            if (uint64_t bits = ep.bound->take()) {
                self->ipc.msg = MessageRegs{0, bits, 0, 0};
                self->ipc.badge = 0;
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
        ipc_link_reply(*self, *sender);
        return kOk;
    }
    if (ep.closed()) return kErrPeerClosed;
    uint64_t timeout = timeout_of(req);
    if (timeout == 0) return kErrWouldBlock;
    self->ipc.state = ThreadIpc::State::receiving;
    int64_t result = sched_block(&ep.receivers, ipc_deadline(timeout));
    self->ipc.state = ThreadIpc::State::none;
    return result;
}

// Answers call `id` of `caller` (held by `server`) with the current thread's
// message and payload; a payload not delivered is closed. Consumes the
// reference to `caller`.
int64_t answer(Thread* caller, Thread* server, uint64_t id) {
    Thread* self = current_thread();
    int64_t e = kErrPeerClosed;  // the caller gave up (timeout), was killed, or moved on
    if (caller->ipc.awaits_reply(server, id)) {
        self->ipc.badge = 0;
        e = ipc_transfer(*self, *caller);
        sched_wake(caller, e);
    }
    self->ipc.payload.drop();
    caller->unref();
    return e;
}

int64_t reply() {
    Thread* self = current_thread();
    Thread* caller = self->ipc.reply_to;
    if (!caller) {
        self->ipc.payload.drop();
        return kErrBadState;
    }
    self->ipc.reply_to = nullptr;
    return answer(caller, self, self->ipc.reply_id);
}

// A saved reply: the caller, its call, and the thread that received it.
class SavedReply final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::reply;
    static constexpr uint32_t kDefaultRights = kRightWrite | kRightTransfer;
    SavedReply(Thread* caller, Thread* server, uint64_t id)
        : KObject(kType), caller(caller), server(server), id(id) {
        server->ref();
    }
    ~SavedReply() override {
        if (caller) abandon();
        server->unref();
    }
    // The caller learns its server will not answer.
    void abandon() {
        if (caller->ipc.awaits_reply(server, id)) sched_wake(caller, kErrPeerClosed);
        caller->unref();
        caller = nullptr;
    }
    Thread* caller;  // holds a reference until used
    Thread* server;  // holds a reference (identity only)
    uint64_t id;
};

int64_t get_endpoint(Handle handle, uint32_t rights, Ref<Endpoint>* ep, uint64_t* badge = nullptr) {
    Capability cap;
    if (int64_t e = current_process().get(handle, rights, ep, &cap)) return e;
    if (badge) *badge = cap.badge;
    return kOk;
}

}  // namespace

int64_t ipc_kernel_call(Endpoint& ep, uint64_t badge, MessageRegs& msg) {
    Thread* self = current_thread();
    self->ipc.msg = msg;
    int64_t result = call(ep, badge, IpcRequest{});
    msg = self->ipc.msg;
    return result;
}

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

// The fast path needs no reference on the endpoint: it is done with it
// before it switches away.
static Endpoint* fast_endpoint(Thread* self, Handle handle, uint32_t rights, uint64_t* badge) {
    Endpoint* ep;
    Capability cap;
    if (self->process()->check(handle, rights, &ep, &cap) != kOk) return nullptr;
    *badge = cap.badge;
    return ep;
}

int64_t sys_ipc_call(Handle endpoint, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                     UserPtr<IpcBuffer> buffer) {
    Thread* self = current_thread();
    self->ipc.msg = MessageRegs{label, w0, w1, w2};
    uint64_t badge = 0;
    int64_t result;
    if (buffer.null()) {
        Endpoint* fast = fast_endpoint(self, endpoint, kRightWrite, &badge);
        if (fast && ipc_fastpath_call(*fast, badge, &result)) return ipc_complete_receive(*self, 0, result);
    }
    Ref<Endpoint> ep;
    if (int64_t e = get_endpoint(endpoint, kRightWrite, &ep, &badge)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    ipc_take_payload(req, self->ipc.payload);
    return ipc_complete_receive(*self, buffer.address(), call(*ep, badge, req));
}

int64_t sys_ipc_recv(Handle endpoint, uint64_t, uint64_t, uint64_t, uint64_t, UserPtr<IpcBuffer> buffer) {
    Ref<Endpoint> ep;
    if (int64_t e = get_endpoint(endpoint, kRightRead, &ep)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    return ipc_complete_receive(*current_thread(), buffer.address(), receive(*ep, req));
}

int64_t sys_ipc_reply(Handle, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                      UserPtr<IpcBuffer> buffer) {
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    ipc_take_payload(req, current_thread()->ipc.payload);
    current_thread()->ipc.msg = MessageRegs{label, w0, w1, w2};
    return reply();
}

int64_t sys_ipc_reply_recv(Handle endpoint, uint64_t label, uint64_t w0, uint64_t w1, uint64_t w2,
                           UserPtr<IpcBuffer> buffer) {
    Thread* self = current_thread();
    self->ipc.msg = MessageRegs{label, w0, w1, w2};
    int64_t result;
    if (buffer.null()) {
        uint64_t unused;
        Endpoint* fast = fast_endpoint(self, endpoint, kRightRead, &unused);
        if (fast && ipc_fastpath_reply_recv(*fast, &result)) return ipc_complete_receive(*self, 0, result);
    }
    Ref<Endpoint> ep;
    if (int64_t e = get_endpoint(endpoint, kRightRead, &ep)) return e;
    IpcRequest req;
    if (int64_t e = ipc_read_request(buffer.address(), req)) return e;
    ipc_take_payload(req, self->ipc.payload);
    if (self->ipc.reply_to) reply();  // a caller that went away is not the server's error
    else self->ipc.payload.drop();
    IpcRequest receive_only = req;
    receive_only.buffer.send_handle_count = 0;
    return ipc_complete_receive(*self, buffer.address(), receive(*ep, receive_only));
}

int64_t sys_ipc_reply_save() {
    Thread* self = current_thread();
    Process& p = current_process();
    if (!self->ipc.reply_to) return kErrBadState;
    Charge charge(p.quota(), sizeof(SavedReply));
    if (!charge) return kErrQuotaExceeded;
    Ref<SavedReply> saved(new (std::nothrow) SavedReply(self->ipc.reply_to, self, self->ipc.reply_id));
    if (!saved) return kErrNoMemory;
    int64_t h = p.handles().add(saved.get(), SavedReply::kDefaultRights, p.quota());
    if (h < 0) {
        saved->caller = nullptr;  // the pending reply stays with the thread
        return h;
    }
    self->ipc.reply_to = nullptr;  // the reference moved into the saved reply
    saved->charge_to(p.quota(), sizeof(SavedReply));
    charge.commit();
    return h;
}

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
    Thread* caller = saved->caller;
    saved->caller = nullptr;
    p.handles().remove(reply);  // one shot
    return answer(caller, saved->server, saved->id);
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
    return sched_block(&n->waiters, ipc_deadline(timeout_ns));
}

int64_t sys_endpoint_bind_notification(Handle endpoint, Handle notification) {
    Ref<Endpoint> ep;
    if (int64_t e = get_endpoint(endpoint, kRightRead | kRightManage, &ep)) return e;
    Ref<Notification> n;
    if (int64_t e = current_process().get(notification, kRightWait, &n)) return e;
    if (ep->bound || n->bound_to) return kErrAlreadyExists;
    ep->bound = n;
    n->bound_to = ep.get();
    return kOk;
}

int64_t sys_process_set_fault_handler(Handle process, Handle endpoint) {
    Ref<Process> target;
    if (int64_t e = current_process().get(process, kRightManage, &target)) return e;
    Ref<Endpoint> ep;
    uint64_t badge = 0;
    if (int64_t e = get_endpoint(endpoint, kRightWrite, &ep, &badge)) return e;
    if (!target->alive()) return kErrBadState;
    target->set_fault_handler(ep.get(), badge);
    return kOk;
}
