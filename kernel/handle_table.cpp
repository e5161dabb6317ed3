#include "handle_table.h"

#include <new>

#include "lib/string.h"
#include "mica/errors.h"
#include "panic.h"

using namespace mica;

namespace {
constexpr uint16_t kGenerationMask = 0x7fff;

Handle make_handle(uint32_t index, uint16_t generation) {
    return (static_cast<uint32_t>(generation) << HandleTable::kIndexBits) | (index + 1);
}
}  // namespace

HandleTable::~HandleTable() {
    KASSERT(count_ == 0 && entries_ == nullptr);
}

int64_t HandleTable::grow(Quota& quota) {
    uint32_t new_capacity = capacity_ ? capacity_ * 2 : 16;
    if (new_capacity > kMaxHandles) new_capacity = kMaxHandles;
    if (new_capacity == capacity_) return kErrLimit;
    Charge charge(quota, (new_capacity - capacity_) * kEntryBytes);
    if (!charge) return kErrQuotaExceeded;
    auto* grown = new (std::nothrow) Entry[new_capacity];
    if (!grown) return kErrNoMemory;
    if (capacity_) memcpy(grown, entries_, capacity_ * kEntryBytes);
    // New slots join the free list in index order.
    for (uint32_t i = new_capacity; i-- > capacity_;) {
        grown[i] = Entry{nullptr, free_head_, 1, 0, 0};
        free_head_ = i;
    }
    delete[] entries_;
    entries_ = grown;
    capacity_ = new_capacity;
    charge.commit();
    return kOk;
}

int64_t HandleTable::attach(const Entry& entry, Quota& quota) {
    if (free_head_ == kNoFree)
        if (int64_t error = grow(quota); error != kOk) return error;
    uint32_t index = free_head_;
    Entry& e = entries_[index];
    free_head_ = e.rights;
    e.object = entry.object;
    e.rights = entry.rights;
    e.badge = entry.badge;
    ++count_;
    return make_handle(index, e.generation);
}

int64_t HandleTable::add(KObject* object, uint32_t rights, Quota& quota, uint64_t badge) {
    int64_t handle = attach(Entry{object, rights, 0, 0, badge}, quota);
    if (handle < 0) return handle;
    object->ref();
    object->handle_added(rights);
    return handle;
}

// A slot whose generation is used up retires for good instead of wrapping:
// its next value would name a new object with an old handle's value.
void HandleTable::release_slot(uint32_t index) {
    Entry& e = entries_[index];
    e.object = nullptr;
    --count_;
    if (e.generation == kGenerationMask) return;
    ++e.generation;
    e.rights = free_head_;
    free_head_ = index;
}

int64_t HandleTable::detach(Handle handle, Entry* out) {
    const Entry* e = find(handle);
    if (!e) return kErrBadHandle;
    if (out) *out = *e;
    release_slot((handle & 0xffff) - 1);
    return kOk;
}

int64_t HandleTable::remove(Handle handle) {
    Entry e;
    if (detach(handle, &e) != kOk) return kErrBadHandle;
    // Last: these may run arbitrary teardown, which must see a consistent table.
    e.object->handle_removed(e.rights);
    e.object->unref();
    return kOk;
}

void HandleTable::clear(Quota& quota) {
    for (uint32_t i = 0; i < capacity_; ++i)
        if (entries_[i].object) remove(make_handle(i, entries_[i].generation));
    delete[] entries_;
    quota.release(capacity_ * kEntryBytes);
    entries_ = nullptr;
    capacity_ = 0;
    free_head_ = kNoFree;
}
