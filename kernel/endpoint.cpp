#include "endpoint.h"

#include "mica/errors.h"
#include "panic.h"
#include "scheduler.h"

Endpoint::~Endpoint() {
    KASSERT(senders.empty() && receivers.empty());
    if (bound) bound->bound_to = nullptr;
}

void Endpoint::on_handle_added(uint32_t rights) {
    if (rights & mica::kRightRead) ++receive_handles_;
}

void Endpoint::on_handle_removed(uint32_t rights) {
    if (!(rights & mica::kRightRead) || --receive_handles_ != 0) return;
    closed_ = true;
    // No one can receive here any more: callers learn it, and so do threads
    // still waiting to receive (through a handle that was closed under them).
    sched_wake_all(senders, mica::kErrPeerClosed);
    sched_wake_all(receivers, mica::kErrPeerClosed);
}
