#include "reply.h"

#include <new>

#include "mica/errors.h"
#include "process.h"
#include "scheduler.h"

using namespace mica;

uint64_t g_next_call_id = 1;

int64_t reply_answer(Thread* caller, Thread* server, uint64_t id) {
    Thread* self = current_thread();
    int64_t e = kErrPeerClosed;
    if (caller->ipc.awaits_reply(server, id)) {
        self->ipc.badge = 0;
        e = ipc_transfer(*self, *caller);
        sched_wake(caller, e);
    }
    self->ipc.payload.drop();
    caller->unref();
    return e;
}

int64_t reply_current() {
    Thread* self = current_thread();
    Thread* caller = self->ipc.reply_to;
    if (!caller) {
        self->ipc.payload.drop();
        return kErrBadState;
    }
    self->ipc.reply_to = nullptr;
    return reply_answer(caller, self, self->ipc.reply_id);
}

void reply_abandon(Thread& server) {
    Thread* caller = server.ipc.reply_to;
    if (!caller) return;
    server.ipc.reply_to = nullptr;
    if (caller->ipc.awaits_reply(&server, server.ipc.reply_id)) sched_wake(caller, kErrPeerClosed);
    caller->unref();
}

SavedReply::SavedReply(Thread* caller, Thread* server, uint64_t id)
    : KObject(kType), caller(caller), server(server), id(id) {
    server->ref();
}

SavedReply::~SavedReply() {
    if (caller) {  // dropped unanswered: the caller learns it
        if (caller->ipc.awaits_reply(server, id)) sched_wake(caller, kErrPeerClosed);
        caller->unref();
    }
    server->unref();
}

int64_t SavedReply::save(Process& p) {
    Thread* self = current_thread();
    if (!self->ipc.reply_to) return kErrBadState;
    Charge charge(p.quota(), sizeof(SavedReply));
    if (!charge) return kErrQuotaExceeded;
    Ref<SavedReply> saved(new (std::nothrow) SavedReply(self->ipc.reply_to, self, self->ipc.reply_id));
    if (!saved) return kErrNoMemory;
    int64_t h = p.handles().add(saved.get(), kDefaultRights, p.quota());
    if (h < 0) {
        saved->caller = nullptr;  // the pending reply stays with the thread
        return h;
    }
    self->ipc.reply_to = nullptr;  // the reference moved into the saved reply
    saved->charge_to(p.quota(), sizeof(SavedReply));
    charge.commit();
    return h;
}

int64_t SavedReply::answer(Process& p, Handle h) {
    Thread* to = caller;
    caller = nullptr;
    p.handles().remove(h);  // one shot; our caller holds a reference to this object
    return reply_answer(to, server, id);
}
