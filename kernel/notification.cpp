#include "notification.h"

#include "endpoint.h"
#include "ipc.h"
#include "scheduler.h"

void Notification::signal(uint64_t bits) {
    word_ |= bits & kBitsMask;
    if (!word_) return;
    if (Thread* t = waiters.front()) {
        sched_wake(t, static_cast<int64_t>(take()));
        return;
    }
    if (Thread* r = bound_to ? bound_to->receivers.front() : nullptr) {
        r->ipc.deliver(MessageRegs{0, take(), 0, 0}, 0);
        sched_wake(r, mica::kIpcNotified);
    }
}
