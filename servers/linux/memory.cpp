// A Linux program's memory, as the personality sees it: a sorted list of
// mappings, each a range of a memory object the personality made. Every
// pointer a program passes is looked up here; a byte outside every mapping
// is EFAULT, never a fault of the personality's own.
//
// A large anonymous mapping, a thread's stack or an arena glibc reserves is
// only reserved (add_anonymous and calls.cpp's mmap say which): its memory
// comes when the program first touches it (a page fault here) or passes a
// pointer into it to a call that writes there, a chunk at a time, as Linux's
// comes a page at a time. Touched past the program's share, the program ends
// with SIGKILL (main.cpp), as Linux's out-of-memory killer would end it. A
// chunk is kChunk around the page touched; touched in order from a chunk
// beside it (a heap growing up, a stack down), twice that one, up to
// kChunkMax: few mappings, and never much more memory than is used. Reading
// reserved bytes gives zeros without filling them. mremap moves mappings by
// mapping their memory objects elsewhere, without a copy.
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kPage = 4096, kChunk = 64 << 10, kChunkMax = 1 << 20;

// The index of the first mapping that ends above `address` (vma_count if none).
uint32_t first_after(const Process& p, uint64_t address) {
    uint32_t low = 0, high = p.vma_count;
    while (low < high) {
        uint32_t mid = (low + high) / 2;
        if (p.vmas[mid].end <= address) low = mid + 1;
        else high = mid;
    }
    return low;
}

Vma* find(Process& p, uint64_t address) {
    if (p.vma_count <= 16) {  // most programs: a scan costs less than a bisection
        for (uint32_t i = 0; i < p.vma_count; ++i)
            if (address >= p.vmas[i].start && address < p.vmas[i].end) return &p.vmas[i];
        return nullptr;
    }
    uint32_t i = first_after(p, address);
    return i < p.vma_count && p.vmas[i].start <= address ? &p.vmas[i] : nullptr;
}

bool reserved(const Vma& v) { return v.memory == kNoHandle; }

// Inserts keeping the list sorted by start.
int64_t insert(Process& p, const Vma& v) {
    if (p.vma_count == kMaxVmas) return kErrLimit;
    uint32_t i = p.vma_count;
    while (i > 0 && p.vmas[i - 1].start > v.start) {
        p.vmas[i] = p.vmas[i - 1];
        --i;
    }
    p.vmas[i] = v;
    ++p.vma_count;
    return kOk;
}

// What one program may have mapped: half of the personality's quota (read
// once), so that a program that takes all it can leaves the others room.
uint64_t program_share() {
    static uint64_t share = 0;
    if (!share) {
        ProcessInfo self{};
        share = sys::process_info(startup().self_process, &self) == kOk && self.quota_bytes ? self.quota_bytes / 2
                                                                                           : 32ULL << 20;
    }
    return share;
}

// What p's mappings hold (a reservation holds nothing until filled).
uint64_t mapped_bytes(const Process& p) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < p.vma_count; ++i)
        if (!reserved(p.vmas[i])) total += p.vmas[i].end - p.vmas[i].start;
    return total;
}

void remove_at(Process& p, uint32_t i) {
    for (; i + 1 < p.vma_count; ++i) p.vmas[i] = p.vmas[i + 1];
    --p.vma_count;
}

// How walk treats reserved bytes: read as zeros, checked, or filled to be written.
enum class Use { read, check, write };

template <typename Fn>
int64_t walk(Process& p, uint64_t address, size_t size, Use use, Fn fn) {
    if (address + size < address) return kErrBadAddress;
    bool write = use != Use::read;
    size_t done = 0;
    while (done < size) {
        Vma* v = find(p, address + done);
        if (!v && grow_stack(p, address + done)) v = find(p, address + done);  // a buffer on the stack, untouched
        if (!v || (write && !(v->perms & kVmWrite)) || !(v->perms & kVmRead)) return kErrBadAddress;
        uint64_t at = address + done;
        if (reserved(*v) && use == Use::write) {
            if (fill(p, at, kVmWrite) != kOk) return kErrBadAddress;
            continue;
        }
        size_t n = v->end - at < size - done ? v->end - at : size - done;
        if (int64_t e = fn(v->memory, v->offset + (at - v->start), done, n)) return e;
        done += n;
    }
    return kOk;
}

// Whether anything is mapped or reserved in [start, start + size) (the
// kernel would refuse a mapping over another, but knows nothing of reservations).
bool overlaps(const Process& p, uint64_t start, uint64_t size) {
    uint32_t i = first_after(p, start);
    return i < p.vma_count && p.vmas[i].start < start + size;
}

bool covered(Process& p, uint64_t start, uint64_t size) {
    for (uint64_t at = start; at < start + size;) {
        Vma* v = find(p, at);
        if (!v) return false;
        at = v->end;
    }
    return true;
}

// Moves the mappings of [from, from + size) (all covered) to `to` (free):
// the same memory objects mapped there, nothing copied.
int64_t move(Process& p, uint64_t from, uint64_t size, uint64_t to) {
    for (uint64_t at = from, end = from + size; at < end;) {
        Vma v = *find(p, at);  // the new entries are elsewhere: `at` still finds the old ones
        uint64_t length = (v.end < end ? v.end : end) - at, offset = v.offset + (at - v.start), there = to + (at - from);
        at += length;
        if (reserved(v)) {
            if (int64_t e = reserve(p, there, length, v.perms)) return e;
            continue;
        }
        if (p.vma_count == kMaxVmas) return kErrLimit;
        auto dup = sys::handle_duplicate(v.memory, kRightsSame);
        if (!dup.ok()) return dup.error();
        if (int64_t e = sys::vm_map(p.process, there, dup.value(), offset, length, v.perms)) {
            sys::handle_close(dup.value());
            return e;
        }
        insert(p, Vma{there, there + length, dup.value(), offset, v.perms, v.exe, v.lazy});
    }
    return unmap(p, from, size);
}

}  // namespace

int64_t copy_in(Process& p, uint64_t address, void* out, size_t size) {
    auto* bytes = static_cast<uint8_t*>(out);
    return walk(p, address, size, Use::read, [&](Handle m, uint64_t offset, size_t done, size_t n) {
        if (m == kNoHandle) {  // reserved: zeros
            memset(bytes + done, 0, n);
            return kOk;
        }
        return sys::memory_read(m, offset, bytes + done, n) == kOk ? kOk : kErrBadAddress;
    });
}

int64_t copy_out(Process& p, uint64_t address, const void* data, size_t size) {
    auto* bytes = static_cast<const uint8_t*>(data);
    return walk(p, address, size, Use::write, [&](Handle m, uint64_t offset, size_t done, size_t n) {
        return sys::memory_write(m, offset, bytes + done, n) == kOk ? kOk : kErrBadAddress;
    });
}

int64_t check_out(Process& p, uint64_t address, size_t size) {
    return walk(p, address, size, Use::check, [](Handle, uint64_t, size_t, size_t) { return kOk; });
}

int64_t read_string(Process& p, uint64_t address, char* out, size_t size) {
    size_t got = 0;
    while (got < size) {
        // Up to the end of the page: a string may end just before an unmapped one.
        size_t n = kPage - (address + got) % kPage;
        if (n > size - got) n = size - got;
        if (int64_t e = copy_in(p, address + got, out + got, n)) return e;
        for (size_t i = got; i < got + n; ++i)
            if (out[i] == '\0') return kOk;
        got += n;
    }
    return kErrNameTooLong;
}

int64_t map_anonymous(Process& p, uint64_t start, uint64_t size, uint32_t perms, Handle* memory) {
    if (start % kPage || size % kPage || size == 0) return kErrInvalidArgument;
    if (overlaps(p, start, size)) return kErrAlreadyExists;
    // Its share (every mapping counts, shared read-only segments too: a bound, not a bill).
    if (mapped_bytes(p) + size > program_share()) return kErrQuotaExceeded;
    auto made = sys::memory_create(size);
    if (!made.ok()) return made.error();
    Handle m = made.value();
    // Executable memory is filled first and mapped after (W^X per object):
    // callers that need to fill it get the handle and map it themselves.
    int64_t e = memory ? kOk : sys::vm_map(p.process, start, m, 0, size, perms);
    if (e == kOk) e = insert(p, Vma{start, start + size, m, 0, perms});
    if (e != kOk) {
        if (!memory) sys::vm_unmap(p.process, start, size);
        sys::handle_close(m);
        return e;
    }
    if (memory) *memory = m;
    return kOk;
}

int64_t reserve(Process& p, uint64_t start, uint64_t size, uint32_t perms) {
    if (start % kPage || size % kPage || size == 0 || start + size < start) return kErrInvalidArgument;
    if (overlaps(p, start, size)) return kErrAlreadyExists;
    return insert(p, Vma{start, start + size, kNoHandle, 0, perms, false, true});
}

int64_t add_anonymous(Process& p, uint64_t start, uint64_t size, uint32_t perms, bool lazy) {
    constexpr uint64_t kLazyMin = 4 << 20;
    return lazy || size >= kLazyMin ? reserve(p, start, size, perms) : map_anonymous(p, start, size, perms);
}

int64_t remap(Process& p, uint64_t old, uint64_t old_size, uint64_t size, uint64_t to, bool may_move, uint64_t* at) {
    if (!covered(p, old, old_size)) return kErrBadAddress;
    if (!to && size <= old_size) {  // a shrink (or nothing) in place
        *at = old;
        return size < old_size ? unmap(p, old + size, old_size - size) : kOk;
    }
    uint32_t perms = find(p, old + old_size - 1)->perms;  // what is added allows what the last page does
    if (!to && old + size <= p.stack_limit && !overlaps(p, old + old_size, size - old_size)) {
        *at = old;
        return add_anonymous(p, old + old_size, size - old_size, perms, false);
    }
    if (!may_move) return kErrNoMemory;
    if (!to && !(to = find_free(p, size))) return kErrNoMemory;
    uint64_t kept = size < old_size ? size : old_size;
    int64_t e = move(p, old, kept, to);
    if (e == kOk && size > kept) e = add_anonymous(p, to + kept, size - kept, perms, false);
    if (e == kOk && old_size > kept) e = unmap(p, old + kept, old_size - kept);
    if (e != kOk) return e;  // (what moved stays moved: the old range is gone either way)
    *at = to;
    if (to < p.mmap_top) p.mmap_top = to;
    return kOk;
}

int64_t fill(Process& p, uint64_t address, uint32_t need) {
    Vma* v = find(p, address);
    if (!v || !reserved(*v) || (v->perms & need) != need) return kErrNotFound;
    uint32_t i = static_cast<uint32_t>(v - p.vmas);
    uint64_t page = address & ~(kPage - 1), start = page & ~(kChunk - 1), end = start + kChunk;
    const Vma* below = i > 0 ? &p.vmas[i - 1] : nullptr;
    const Vma* above = i + 1 < p.vma_count ? &p.vmas[i + 1] : nullptr;
    auto next_size = [](const Vma* n) {
        uint64_t size = 2 * (n->end - n->start);
        return size < kChunk ? kChunk : size > kChunkMax ? kChunkMax : size;
    };
    // Touched in order from a filled chunk of the same mapping: a chunk twice that one.
    if (below && below->lazy && !reserved(*below) && below->end == v->start && page - v->start < next_size(below)) {
        start = v->start;
        end = start + next_size(below);
    } else if (above && above->lazy && !reserved(*above) && above->start == v->end &&
               v->end - page <= next_size(above)) {
        end = v->end;
        start = end - next_size(above);
    }
    if (start < v->start) start = v->start;
    if (end > v->end) end = v->end;
    bool head = start > v->start, tail = end < v->end;
    if (p.vma_count + head + tail > kMaxVmas) return kErrLimit;
    if (mapped_bytes(p) + (end - start) > program_share()) return kErrQuotaExceeded;
    auto made = sys::memory_create(end - start);
    if (!made.ok()) return made.error();
    if (int64_t e = sys::vm_map(p.process, start, made.value(), 0, end - start, v->perms)) {
        sys::handle_close(made.value());
        return e;
    }
    Vma whole = *v, chunk{start, end, made.value(), 0, whole.perms, false, true};
    if (head) v->end = start;
    else *v = chunk;
    // Room was checked: neither insert fails.
    if (head) insert(p, chunk);
    if (tail) insert(p, Vma{end, whole.end, kNoHandle, 0, whole.perms, false, true});
    return kOk;
}

int64_t copy_memory(Handle from, uint64_t from_offset, Handle to, uint64_t to_offset, uint64_t size) {
    static uint8_t chunk[64 * 1024];
    for (uint64_t done = 0; done < size; done += sizeof chunk) {
        uint64_t n = size - done < sizeof chunk ? size - done : sizeof chunk;
        if (int64_t e = sys::memory_read(from, from_offset + done, chunk, n)) return e;
        if (int64_t e = sys::memory_write(to, to_offset + done, chunk, n)) return e;
    }
    return kOk;
}

int64_t map_memory(Process& p, uint64_t start, uint64_t size, uint32_t perms, Handle memory) {
    int64_t e = overlaps(p, start, size) ? kErrAlreadyExists : sys::vm_map(p.process, start, memory, 0, size, perms);
    if (e == kOk && (e = insert(p, Vma{start, start + size, memory, 0, perms})) != kOk) sys::vm_unmap(p.process, start, size);
    if (e != kOk) sys::handle_close(memory);
    return e;
}

int64_t unmap(Process& p, uint64_t start, uint64_t size) {
    uint64_t end = start + size;
    // Linux refuses what reaches past user space; the kernel would too, and
    // our list of mappings must never say less than what is mapped.
    if (start % kPage || end < start || end > kUserTop) return kErrInvalidArgument;
    for (uint32_t i = 0; i < p.vma_count;) {
        Vma v = p.vmas[i];
        if (v.end <= start || v.start >= end) {
            ++i;
            continue;
        }
        // Keep the parts outside [start, end): each needs its own handle.
        bool head = v.start < start, tail = v.end > end;
        if (head) p.vmas[i++].end = start;
        else remove_at(p, i);
        if (tail) {
            Handle h = v.memory;
            if (head && !reserved(v)) {
                auto dup = sys::handle_duplicate(v.memory, kRightsSame);
                if (!dup.ok()) return dup.error();
                h = dup.value();
            }
            if (int64_t e = insert(p, Vma{end, v.end, h, v.offset + (end - v.start), v.perms, v.exe, v.lazy})) return e;
        }
        if (!head && !tail && !reserved(v)) sys::handle_close(v.memory);
    }
    sys::vm_unmap(p.process, start, size);  // the ranges not mapped are no error, as on Linux
    return kOk;
}

// The mapping holding `at` inside it (not at its start) becomes two, the
// second with a handle of its own to the same memory.
int64_t split(Process& p, uint64_t at) {
    Vma* v = find(p, at);
    if (!v || v->start == at) return kOk;
    if (p.vma_count == kMaxVmas) return kErrLimit;
    Handle h = kNoHandle;
    if (!reserved(*v)) {
        auto dup = sys::handle_duplicate(v->memory, kRightsSame);
        if (!dup.ok()) return dup.error();
        h = dup.value();
    }
    Vma tail{at, v->end, h, v->offset + (at - v->start), v->perms, v->exe, v->lazy};
    v->end = at;
    return insert(p, tail);
}

int64_t protect(Process& p, uint64_t start, uint64_t size, uint32_t perms) {
    uint64_t end = start + size;
    if (end < start || !covered(p, start, size)) return kErrNotFound;
    // Mappings are split where the change begins and ends (a thread's stack
    // and its guard page), so that our list says what the program may touch.
    if (int64_t e = split(p, start)) return e;
    if (int64_t e = split(p, end)) return e;
    for (uint32_t i = 0; i < p.vma_count; ++i) {
        Vma& v = p.vmas[i];
        if (v.start < start || v.end > end) continue;
        if (!reserved(v))
            if (int64_t e = sys::vm_protect(p.process, v.start, v.end - v.start, perms)) return e;
        v.perms = perms;
    }
    return kOk;
}

bool grow_stack(Process& p, uint64_t address) {
    if (address < p.stack_limit || address >= p.stack_bottom) return false;
    uint64_t room = p.stack_bottom - p.stack_limit, mapped = kStackBytes - room;
    uint64_t bottom = p.stack_bottom - (mapped < room ? mapped : room);
    if (bottom > (address & ~(kPage - 1))) bottom = address & ~(kPage - 1);
    if (map_anonymous(p, bottom, p.stack_bottom - bottom, kVmRead | kVmWrite) != kOk) return false;
    p.stack_bottom = bottom;
    return true;
}

uint64_t find_free(Process& p, uint64_t size) {
    uint64_t top = p.mmap_top;
    for (uint32_t i = p.vma_count; i-- > 0;) {
        const Vma& v = p.vmas[i];
        if (v.start >= top) continue;
        if (top >= size && v.end <= top - size) return top - size;
        top = v.start;
    }
    return top > size && top - size >= p.brk_mapped + (64ULL << 20) ? top - size : 0;
}

}  // namespace personality
