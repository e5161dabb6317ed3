// Notifications: a word of bits. signal() ORs bits in and never blocks;
// wait() returns the pending bits and clears them, blocking while there are
// none. Bound to an endpoint, a signal also wakes a thread receiving there,
// so a server waits in one place for clients and for its interrupts.
#pragma once

#include "object.h"
#include "thread.h"

class Endpoint;

class Notification final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::notification;
    static constexpr uint32_t kDefaultRights =
        mica::kRightSignal | mica::kRightWait | mica::kRightDuplicate | mica::kRightTransfer;
    static constexpr uint64_t kBitsMask = ~0ULL >> 1;  // results are >= 0, so 63 bits

    Notification() : KObject(kType) {}

    void signal(uint64_t bits);
    // The pending bits (cleared), or 0.
    uint64_t take() {
        uint64_t bits = word_;
        word_ = 0;
        return bits;
    }

    WaitQueue waiters;
    Endpoint* bound_to = nullptr;  // the endpoint holding us as `bound`

private:
    uint64_t word_ = 0;
};
