#include "address_space.h"

#include <new>

#include "lib/checked.h"
#include "memory.h"
#include "mica/errors.h"
#include "mica/types.h"
#include "panic.h"
#include "smp.h"

using namespace mica;

namespace {
constexpr size_t kPage = arch::kPageSize;

unsigned arch_flags(uint32_t perms, bool device) {
    unsigned f = arch::kMapUser;
    if (perms & kVmWrite) f |= arch::kMapWrite;
    if (perms & kVmExec) f |= arch::kMapExec;
    if (device) f |= arch::kMapUncached;
    return f;
}

bool valid_perms(uint32_t perms) {
    if (perms == 0 || (perms & ~(kVmRead | kVmWrite | kVmExec))) return false;
    return !((perms & kVmWrite) && (perms & kVmExec));  // W^X
}

// Keeps a memory object's count of writable and executable mappings.
void count(const Mapping& m, int delta) {
    if (m.perms & kVmWrite) m.memory->writable_mappings += delta;
    if (m.perms & kVmExec) m.memory->executable_mappings += delta;
}
}  // namespace

uint64_t AddressSpace::TableFrames::take() {
    if (!quota->charge(kPage)) {
        last_error = kErrQuotaExceeded;
        return ~0ULL;
    }
    uint64_t phys = allocate_zeroed_frame();
    if (phys == FrameAllocator::kNone) {
        quota->release(kPage);
        last_error = kErrNoMemory;
        return ~0ULL;
    }
    return phys;
}

void AddressSpace::TableFrames::give_back(uint64_t phys) {
    if (!frames().free(phys)) panic("address space: table frame %#lx freed twice", phys);
    quota->release(kPage);
}

int64_t AddressSpace::init(Quota& quota) {
    frames_.quota = &quota;
    return tables_.create(frames_) ? kOk : frames_.last_error;
}

void AddressSpace::destroy() {
    if (!alive()) return;
    // The tables go whole, with no page unmapped one by one: their leaves
    // name frames of memory objects, which those objects free.
    shootdown();
    while (Mapping* m = mappings_.front()) free_mapping(m);
    tables_.destroy(frames_);
}

// Mappings removed or narrowed: no CPU keeps a stale TLB entry for them.
void AddressSpace::shootdown() { tlb_shootdown(tables_.root()); }

int64_t AddressSpace::check_range(uintptr_t base, size_t size) const {
    if (!alive()) return kErrBadState;
    if (base % kPage || size % kPage) return kErrAlignment;
    if (size == 0 || base < kLowest || !range_within(base, size, kHighest)) return kErrInvalidArgument;
    return kOk;
}

void AddressSpace::remove_pages(uintptr_t base, size_t size) {
    for (size_t off = 0; off < size; off += kPage) tables_.unmap(base + off);
}

void AddressSpace::free_mapping(Mapping* m) {
    count(*m, -1);
    mappings_.remove(m);
    delete m;
    frames_.quota->release(sizeof(Mapping));
}

int64_t AddressSpace::map(uintptr_t base, Ref<MemoryObject> memory, size_t offset, size_t size,
                          uint32_t perms, uint32_t max_perms) {
    if (int64_t e = check_range(base, size)) return e;
    if (offset % kPage) return kErrAlignment;
    if (!valid_perms(perms)) return kErrInvalidArgument;
    if ((perms & max_perms) != perms) return kErrAccessDenied;
    if (!range_within(offset, size, memory->size())) return kErrOutOfRange;
    Mapping* after = mappings_.front();  // first mapping above the new one
    for (; after && after->base < base + size; after = mappings_.next(after))
        if (after->base + after->size > base) return kErrAlreadyExists;
    if (((perms & kVmExec) && memory->writable_mappings) || ((perms & kVmWrite) && memory->executable_mappings))
        return kErrBadState;  // W^X across all the object's mappings

    Charge charge(*frames_.quota, sizeof(Mapping));
    if (!charge) return kErrQuotaExceeded;
    auto* m = new (std::nothrow) Mapping{{}, base, size, memory, offset, perms, max_perms};
    if (!m) return kErrNoMemory;
    unsigned flags = arch_flags(perms, memory->device());
    for (size_t off = 0; off < size; off += kPage) {
        if (!tables_.map(base + off, memory->frame_at(offset + off), flags, frames_)) {
            remove_pages(base, off);
            shootdown();
            delete m;
            return frames_.last_error ? frames_.last_error : kErrNoMemory;
        }
    }
    charge.commit();
    mappings_.insert_before(after, m);
    count(*m, +1);
    return kOk;
}

// Makes `address` a boundary between mappings (no-op if it is one already).
int64_t AddressSpace::split_at(uintptr_t address) {
    for (Mapping* m = mappings_.front(); m; m = mappings_.next(m)) {
        if (address <= m->base || address >= m->base + m->size) continue;
        Charge charge(*frames_.quota, sizeof(Mapping));
        if (!charge) return kErrQuotaExceeded;
        size_t left = address - m->base;
        auto* right = new (std::nothrow)
            Mapping{{}, address, m->size - left, m->memory, m->offset + left, m->perms, m->max_perms};
        if (!right) return kErrNoMemory;
        charge.commit();
        m->size = left;
        mappings_.insert_before(mappings_.next(m), right);
        count(*right, +1);
        return kOk;
    }
    return kOk;
}

int64_t AddressSpace::unmap(uintptr_t base, size_t size) {
    if (int64_t e = check_range(base, size)) return e;
    bool any = false;
    for (Mapping* m = mappings_.front(); m; m = mappings_.next(m))
        if (m->base < base + size && m->base + m->size > base) any = true;
    if (!any) return kErrNotFound;
    // Splitting is invisible to user space, so a failure after the first
    // split leaves nothing half-done that it could observe.
    if (int64_t e = split_at(base)) return e;
    if (int64_t e = split_at(base + size)) return e;
    auto inside = [&](const Mapping* m) { return m->base >= base && m->base + m->size <= base + size; };
    for (Mapping* m = mappings_.front(); m; m = mappings_.next(m))
        if (inside(m)) remove_pages(m->base, m->size);
    shootdown();  // before the frames can be freed with the mappings
    mappings_.for_each([&](Mapping* m) {
        if (inside(m)) free_mapping(m);
    });
    return kOk;
}

// Whether giving `perms` to every mapping inside [base, end) (split at both
// ends) leaves each object they map writable or executable, never both:
// its mappings outside the range must not conflict with `perms`.
bool AddressSpace::wx_allows(uintptr_t base, uintptr_t end, uint32_t perms) const {
    auto inside = [&](const Mapping* m) { return m->base >= base && m->base + m->size <= end; };
    for (Mapping* m = mappings_.front(); m; m = mappings_.next(m)) {
        if (!inside(m)) continue;
        uint32_t writable = 0, executable = 0;  // the object's mappings inside the range
        for (Mapping* n = mappings_.front(); n; n = mappings_.next(n)) {
            if (!inside(n) || n->memory.get() != m->memory.get()) continue;
            writable += (n->perms & kVmWrite) != 0;
            executable += (n->perms & kVmExec) != 0;
        }
        if ((perms & kVmExec) && m->memory->writable_mappings > writable) return false;
        if ((perms & kVmWrite) && m->memory->executable_mappings > executable) return false;
    }
    return true;
}

int64_t AddressSpace::protect(uintptr_t base, size_t size, uint32_t perms) {
    if (int64_t e = check_range(base, size)) return e;
    if (!valid_perms(perms)) return kErrInvalidArgument;
    // The whole range must be mapped, and every piece must allow `perms`.
    uintptr_t covered = base;
    for (Mapping* m = mappings_.front(); m && covered < base + size; m = mappings_.next(m)) {
        if (m->base + m->size <= covered) continue;
        if (m->base > covered) break;
        if ((perms & m->max_perms) != perms) return kErrAccessDenied;
        covered = m->base + m->size;
    }
    if (covered < base + size) return kErrNotFound;
    if (int64_t e = split_at(base)) return e;
    if (int64_t e = split_at(base + size)) return e;
    if (!wx_allows(base, base + size, perms)) return kErrBadState;
    for (Mapping* m = mappings_.front(); m; m = mappings_.next(m)) {
        if (m->base >= base && m->base + m->size <= base + size) {
            count(*m, -1);
            m->perms = perms;
            count(*m, +1);
            unsigned flags = arch_flags(perms, m->memory->device());
            for (size_t off = 0; off < m->size; off += kPage)
                if (!tables_.protect(m->base + off, flags)) panic("address space: tables out of step");
        }
    }
    shootdown();
    return kOk;
}
