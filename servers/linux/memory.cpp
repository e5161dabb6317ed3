// A Linux program's memory, as the personality sees it: a sorted list of
// mappings, each a range of a memory object the personality made. Every
// pointer a program passes is looked up here; a byte outside every mapping
// is EFAULT, never a fault of the personality's own.
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kPage = 4096;

Vma* find(Process& p, uint64_t address) {
    for (uint32_t i = 0; i < p.vma_count; ++i)
        if (address >= p.vmas[i].start && address < p.vmas[i].end) return &p.vmas[i];
    return nullptr;
}

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

uint64_t mapped_bytes(const Process& p) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < p.vma_count; ++i) total += p.vmas[i].end - p.vmas[i].start;
    return total;
}

void remove_at(Process& p, uint32_t i) {
    for (; i + 1 < p.vma_count; ++i) p.vmas[i] = p.vmas[i + 1];
    --p.vma_count;
}

template <typename Fn>
int64_t walk(Process& p, uint64_t address, size_t size, bool write, Fn fn) {
    if (address + size < address) return kErrBadAddress;
    size_t done = 0;
    while (done < size) {
        Vma* v = find(p, address + done);
        if (!v && grow_stack(p, address + done)) v = find(p, address + done);  // a buffer on the stack, untouched
        if (!v || (write && !(v->perms & kVmWrite)) || !(v->perms & kVmRead)) return kErrBadAddress;
        uint64_t at = address + done;
        size_t n = v->end - at < size - done ? v->end - at : size - done;
        if (int64_t e = fn(v->memory, v->offset + (at - v->start), done, n)) return e;
        done += n;
    }
    return kOk;
}

}  // namespace

int64_t copy_in(Process& p, uint64_t address, void* out, size_t size) {
    auto* bytes = static_cast<uint8_t*>(out);
    return walk(p, address, size, false, [&](Handle m, uint64_t offset, size_t done, size_t n) {
        return sys::memory_read(m, offset, bytes + done, n) == kOk ? kOk : kErrBadAddress;
    });
}

int64_t copy_out(Process& p, uint64_t address, const void* data, size_t size) {
    auto* bytes = static_cast<const uint8_t*>(data);
    return walk(p, address, size, true, [&](Handle m, uint64_t offset, size_t done, size_t n) {
        return sys::memory_write(m, offset, bytes + done, n) == kOk ? kOk : kErrBadAddress;
    });
}

int64_t check_out(Process& p, uint64_t address, size_t size) {
    return walk(p, address, size, true, [](Handle, uint64_t, size_t, size_t) { return kOk; });
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
    int64_t e = sys::vm_map(p.process, start, memory, 0, size, perms);
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
            if (head) {
                auto dup = sys::handle_duplicate(v.memory, kRightsSame);
                if (!dup.ok()) return dup.error();
                h = dup.value();
            }
            if (int64_t e = insert(p, Vma{end, v.end, h, v.offset + (end - v.start), v.perms, v.exe})) return e;
        }
        if (!head && !tail) sys::handle_close(v.memory);
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
    auto dup = sys::handle_duplicate(v->memory, kRightsSame);
    if (!dup.ok()) return dup.error();
    Vma tail{at, v->end, dup.value(), v->offset + (at - v->start), v->perms, v->exe};
    v->end = at;
    return insert(p, tail);
}

int64_t protect(Process& p, uint64_t start, uint64_t size, uint32_t perms) {
    uint64_t end = start + size;
    if (end < start) return kErrNotFound;
    for (uint64_t at = start; at < end;) {
        Vma* v = find(p, at);
        if (!v) return kErrNotFound;
        at = v->end;
    }
    // Mappings are split where the change begins and ends (a thread's stack
    // and its guard page), so that our list says what the program may touch.
    if (int64_t e = split(p, start)) return e;
    if (int64_t e = split(p, end)) return e;
    if (int64_t e = sys::vm_protect(p.process, start, size, perms)) return e;
    for (uint32_t i = 0; i < p.vma_count; ++i)
        if (p.vmas[i].start >= start && p.vmas[i].end <= end) p.vmas[i].perms = perms;
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
