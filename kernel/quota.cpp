#include "quota.h"

#include <new>

#include "lib/checked.h"
#include "panic.h"

Quota* Quota::create_root(uint64_t limit) {
    return new (std::nothrow) Quota(nullptr, limit);
}

Quota* Quota::create_child(Quota& parent, uint64_t limit) {
    uint64_t reserved;
    if (!checked_add(limit, sizeof(Quota), &reserved) || !parent.charge(reserved)) return nullptr;
    auto* q = new (std::nothrow) Quota(&parent, limit);
    if (!q) {
        parent.release(reserved);
        return nullptr;
    }
    parent.ref();
    return q;
}

bool Quota::charge(uint64_t bytes) {
    if (bytes > limit_ - used_) return false;
    used_ += bytes;
    return true;
}

void Quota::release(uint64_t bytes) {
    KASSERT(bytes <= used_);
    used_ -= bytes;
}

// Iterative, not recursive: quotas nest as deep as processes do, and the
// kernel stack must not grow with that depth.
void Quota::unref() {
    for (Quota* q = this; q && --q->refs_ == 0;) {
        KASSERT(q->used_ == 0);
        Quota* parent = q->parent_;
        uint64_t reserved = q->limit_ + sizeof(Quota);
        delete q;
        if (parent) parent->release(reserved);
        q = parent;
    }
}
