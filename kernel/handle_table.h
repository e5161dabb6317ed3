// A process's handle table: handle value -> (object, rights, badge). Values
// carry a generation, so a closed handle never names whatever comes next
// into its slot. Only Process::check, the authority checkpoint, looks a
// handle up (find is private to it).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/errors.h"
#include "object.h"
#include "quota.h"

// The rights of a new handle made from one holding `held` (duplicate, mint,
// grant, a handle sent in a message): `requested`, or all of `held` for
// kRightsSame; never more than `held` (kErrAccessDenied).
inline int64_t narrow_rights(uint32_t held, uint32_t requested, uint32_t* out) {
    if (requested == mica::kRightsSame) requested = held;
    if (requested & ~held) return mica::kErrAccessDenied;
    *out = requested;
    return mica::kOk;
}

class HandleTable {
public:
    static constexpr uint32_t kMaxHandles = 0xffff;
    static constexpr size_t kEntryBytes = 24;

    struct Entry {
        KObject* object;  // null when the slot is free
        uint32_t rights;  // when free: index of the next free slot
        uint16_t generation;
        uint16_t reserved;
        uint64_t badge;   // given by handle_mint; told to receivers of what is sent through it
    };
    static_assert(sizeof(Entry) == kEntryBytes);

    HandleTable() = default;
    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;
    ~HandleTable();  // the table must have been cleared

    // A new handle for `object` (>= 0), or kErrQuotaExceeded / kErrNoMemory /
    // kErrLimit. Growth of the table is charged to `quota`.
    int64_t add(KObject* object, uint32_t rights, Quota& quota, uint64_t badge = 0);

    // Moving handles between tables (IPC): detach takes an entry out without
    // closing it (its reference and handle count go with it, into `out`,
    // which may be null when the caller keeps them some other way);
    // attach puts such an entry into a table. attach fails like add, and
    // then the caller still owns the entry.
    int64_t detach(mica::Handle handle, Entry* out);
    int64_t attach(const Entry& moved, Quota& quota);

    // Removes the handle and drops its reference. kErrBadHandle if it names nothing.
    int64_t remove(mica::Handle handle);

    // Removes every handle. Growth charges are given back to `quota`.
    void clear(Quota& quota);

    uint32_t count() const { return count_; }
    static constexpr uint32_t kIndexBits = 16;  // a value: generation << 16 | index + 1

private:
    friend class Process;     // the checkpoint
    friend class HandleTableProbe;  // host tests
    // The live entry `handle` names, or null.
    const Entry* find(mica::Handle handle) const {
        uint32_t index = (handle & 0xffff) - 1;  // 0 wraps to a huge index
        // Generations stay below 0x8000: a value with bit 31 set matches none.
        uint16_t generation = static_cast<uint16_t>(handle >> kIndexBits);
        if (index >= capacity_) return nullptr;
        const Entry& e = entries_[index];
        if (!e.object || e.generation != generation) return nullptr;
        return &e;
    }

    int64_t grow(Quota& quota);
    void release_slot(uint32_t index);

    Entry* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t count_ = 0;
    uint32_t free_head_ = kNoFree;
    static constexpr uint32_t kNoFree = 0xffffffff;
};
