// Loading a static x86-64 Linux program: its ELF headers (ET_EXEC at its
// own addresses, or a static PIE placed at kPieBase), each PT_LOAD segment
// read from file: into a memory object of its own and mapped with the
// segment's permissions (filled before it is mapped executable: W^X), the
// program break after the highest segment, and the first thread's stack as
// the System V ABI lays it out: argc, argv, envp, the auxiliary vector, and
// the strings they point to.
#include <initializer_list>

#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPieBase = 0x5555'5555'0000;
constexpr uint64_t kStackTop = 0x7fff'fff0'0000;
constexpr uint64_t kLowest = 0x10000, kHighest = 0x7f00'0000'0000;

struct Ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
constexpr uint32_t kPtLoad = 1, kPtInterp = 3, kPtPhdr = 6;
constexpr uint16_t kEtExec = 2, kEtDyn = 3, kEmX86_64 = 62;
constexpr uint32_t kMaxPhdrs = 16;

uint64_t round_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

int64_t read_exact(const files::Name& file, uint64_t offset, void* out, uint32_t size) {
    auto* bytes = static_cast<uint8_t*>(out);
    for (uint32_t done = 0; done < size;) {
        int64_t got = files::read(file, offset + done, bytes + done, size - done);
        if (got < 0) return got;
        if (got == 0) return kErrCorrupt;  // shorter than its headers say
        done += static_cast<uint32_t>(got);
    }
    return kOk;
}

uint32_t perms_of(uint32_t flags) {
    uint32_t perms = 0;
    if (flags & 4) perms |= kVmRead;
    if (flags & 2) perms |= kVmWrite | kVmRead;
    if (flags & 1) perms |= kVmExec | kVmRead;
    return perms;
}

// Segments of the programs loaded last, kept filled: a program started
// again (every fork+exec of a shell's commands) maps the same memory for a
// read-only segment, and copies its writable ones from a copy of their
// file bytes kept here, instead of reading them from the disk again. A file
// is known by its inode, size and modification time.
struct CachedSegment {
    uint32_t inode, mtime;
    uint64_t file_size, vaddr, memsz;
    Handle memory = kNoHandle;
};
CachedSegment g_cache[24];
constexpr uint64_t kMaxCopied = 1 << 20;  // the largest writable segment whose file bytes are kept
uint32_t g_cache_next = 0;

CachedSegment* cached(const proto::fs::Stat::Reply& st, const Phdr& ph) {
    for (CachedSegment& c : g_cache)
        if (c.memory != kNoHandle && c.inode == st.inode && c.mtime == st.mtime && c.file_size == st.size &&
            c.vaddr == ph.vaddr && c.memsz == ph.memsz)
            return &c;
    return nullptr;
}

void keep(const proto::fs::Stat::Reply& st, const Phdr& ph, Handle memory, bool shared, uint64_t filled) {
    // A writable segment's memory is the program's to change: its file bytes are copied.
    auto copy = shared ? sys::handle_duplicate(memory, kRightsSame) : sys::memory_create(filled);
    if (!copy.ok()) return;
    if (!shared && copy_memory(memory, 0, copy.value(), 0, filled) != kOk) {
        sys::handle_close(copy.value());
        return;
    }
    CachedSegment& c = g_cache[g_cache_next++ % (sizeof g_cache / sizeof g_cache[0])];
    if (c.memory != kNoHandle) sys::handle_close(c.memory);  // mappings keep their memory alive
    c = CachedSegment{st.inode, st.mtime, st.size, ph.vaddr, ph.memsz, copy.value()};
}

int64_t load_segment(Process& p, const files::Name& file, const proto::fs::Stat::Reply& st, const Phdr& ph,
                     uint64_t base) {
    uint64_t start = (ph.vaddr + base) & ~(kPage - 1);
    uint64_t end = round_up(ph.vaddr + base + ph.memsz);
    uint32_t perms = perms_of(ph.flags);
    if (perms == 0) perms = kVmRead;
    bool shared = !(perms & kVmWrite);
    CachedSegment* c = cached(st, ph);
    if (c && shared) {
        auto dup = sys::handle_duplicate(c->memory, kRightsSame);
        if (!dup.ok()) return dup.error();
        return map_memory(p, start, end - start, perms, dup.value());
    }
    Handle m;
    if (int64_t e = map_anonymous(p, start, end - start, perms, &m)) return e;
    uint64_t filled = round_up(ph.vaddr + base - start + ph.filesz);  // the pages the file's bytes reach
    if (c) {
        if (int64_t e = copy_memory(c->memory, 0, m, 0, filled)) return e;
        return sys::vm_map(p.process, start, m, 0, end - start, perms);
    }
    static uint8_t chunk[proto::fs::kChunk];
    for (uint64_t done = 0; done < ph.filesz;) {
        uint32_t n = ph.filesz - done < sizeof chunk ? static_cast<uint32_t>(ph.filesz - done) : sizeof chunk;
        if (int64_t e = read_exact(file, ph.offset + done, chunk, n)) return e;
        if (int64_t e = sys::memory_write(m, ph.vaddr + base - start + done, chunk, n)) return e;
        done += n;
    }
    // A copy costs the personality memory of its own: not for a large one.
    if (filled && (shared || filled <= kMaxCopied)) keep(st, ph, m, shared, filled);
    return sys::vm_map(p.process, start, m, 0, end - start, perms);
}

}  // namespace

int64_t load_program(Process& p, const char* path, const char* strings, uint32_t argc, uint32_t envc,
                     uint32_t size, uint64_t* entry, uint64_t* stack) {
    files::Name file;
    if (int64_t e = linux_name(p, path, &file)) return e;
    proto::fs::Stat::Reply st;
    if (int64_t e = files::stat(file, &st)) return e;
    return load_program(p, path, file, st, strings, argc, envc, size, entry, stack);
}

int64_t load_program(Process& p, const char* path, const files::Name& file, const proto::fs::Stat::Reply& st,
                     const char* strings, uint32_t argc, uint32_t envc, uint32_t size, uint64_t* entry,
                     uint64_t* stack) {
    if (st.type != proto::fs::kFile) return kErrIsDirectory;
    if (st.mode && !(st.mode & 0111)) return kErrAccessDenied;  // no execute bit: EACCES, as Linux (even for root)
    Ehdr eh;
    Phdr ph[kMaxPhdrs];
    if (st.size < sizeof eh || read_exact(file, 0, &eh, sizeof eh) != kOk) return kErrUnsupported;
    if (memcmp(eh.ident, "\x7f" "ELF\x02\x01", 6) != 0 || eh.machine != kEmX86_64 ||
        (eh.type != kEtExec && eh.type != kEtDyn) || eh.phentsize != sizeof(Phdr) || eh.phnum == 0 ||
        eh.phnum > kMaxPhdrs || eh.phoff > st.size || eh.phnum * sizeof(Phdr) > st.size - eh.phoff)
        return kErrUnsupported;
    if (int64_t e = read_exact(file, eh.phoff, ph, static_cast<uint32_t>(eh.phnum * sizeof(Phdr)))) return e;
    uint64_t base = eh.type == kEtDyn ? kPieBase : 0;
    uint64_t phdr_address = 0, highest = 0, previous_end = 0;
    for (uint32_t i = 0; i < eh.phnum; ++i) {
        const Phdr& h = ph[i];
        if (h.type == kPtInterp) return kErrUnsupported;  // dynamically linked: static programs only
        if (h.type == kPtPhdr) phdr_address = h.vaddr + base;
        if (h.type != kPtLoad) continue;
        uint64_t start = (h.vaddr + base) & ~(kPage - 1);
        if (h.filesz > h.memsz || h.offset > st.size || h.filesz > st.size - h.offset ||
            h.vaddr + base < kLowest || h.memsz > kHighest || h.vaddr + base + h.memsz > kHighest ||
            start < previous_end || (h.vaddr - h.offset) % kPage != 0)
            return kErrCorrupt;  // out of bounds, overlapping or misaligned segments
        if (int64_t e = load_segment(p, file, st, h, base)) return e;
        if (!phdr_address && h.offset == 0) phdr_address = h.vaddr + base + eh.phoff;
        previous_end = round_up(h.vaddr + base + h.memsz);
        if (previous_end > highest) highest = previous_end;
    }
    if (!highest) return kErrCorrupt;
    for (uint32_t i = 0; i < p.vma_count; ++i) p.vmas[i].exe = true;  // all there is yet: its segments
    p.brk_base = p.brk = p.brk_mapped = highest;
    p.mmap_top = kStackTop - kStackBytes - (16ULL << 20);
    mica::copy_string(p.exe, sizeof p.exe, file.path);  // as Linux: absolute, its links followed
    p.exe_inode = st.inode;

    // The stack: strings at the top, then the vectors below them, made here
    // first; then as much is mapped as they take and kStackFirst more. It
    // grows down as it is used (grow_stack).
    constexpr uint32_t kImage = 96 * 1024;  // what the top of the stack holds: strings and vectors
    static_assert(kImage + kStackFirst < kStackBytes);
    auto* image = static_cast<uint8_t*>(malloc(kImage));
    if (!image) return kErrNoMemory;
    uint64_t top = kStackTop - 16, used = 0;
    auto put = [&](const void* data, size_t n) {  // downwards; returns the address
        used += n;
        memcpy(image + kImage - used, data, n);
        return top - used;
    };
    uint64_t random[2];  // AT_RANDOM: glibc's stack protector and pointer guard
    fill_random(reinterpret_cast<uint8_t*>(random), sizeof random);
    uint64_t random_at = put(random, sizeof random);
    uint64_t platform_at = put("x86_64", 7);
    uint64_t execfn_at = put(path, strlen(path) + 1);
    uint64_t strings_at = put(strings, size);
    p.arg_start = p.arg_end = strings_at;
    for (uint32_t i = 0; i < argc && p.arg_end < strings_at + size; ++i) p.arg_end += strlen(strings + (p.arg_end - strings_at)) + 1;
    used = (used + 15) & ~15ULL;
    uint64_t aux[][2] = {{lx::kAtPhdr, phdr_address}, {lx::kAtPhent, sizeof(Phdr)}, {lx::kAtPhnum, eh.phnum},
                         {lx::kAtPagesz, kPage}, {lx::kAtBase, 0}, {lx::kAtFlags, 0},
                         {lx::kAtEntry, eh.entry + base}, {lx::kAtUid, 0}, {lx::kAtEuid, 0}, {lx::kAtGid, 0},
                         {lx::kAtEgid, 0}, {lx::kAtSecure, 0}, {lx::kAtHwcap, 0}, {lx::kAtClktck, 100},
                         {lx::kAtRandom, random_at}, {lx::kAtPlatform, platform_at}, {lx::kAtExecfn, execfn_at},
                         {lx::kAtNull, 0}};
    uint32_t words = 1 + argc + 1 + envc + 1 + 2 * (sizeof aux / sizeof aux[0]);
    if (used + words * 8 + 16 > kImage) {
        free(image);
        return kErrInvalidArgument;  // E2BIG
    }
    used = (used + words * 8 + 15) & ~15ULL;  // RSP 16-aligned at argc
    auto* v = reinterpret_cast<uint64_t*>(image + kImage - used);
    size_t w = 0;
    v[w++] = argc;
    uint64_t at = strings_at;
    for (uint32_t list : {argc, envc}) {  // argv, then envp, each ending in a null
        for (uint32_t i = 0; i < list; ++i) {
            v[w++] = at;
            at += strlen(strings + (at - strings_at)) + 1;
        }
        v[w++] = 0;
    }
    for (auto& a : aux) v[w++] = a[0], v[w++] = a[1];
    uint64_t first = (used + 16 + kStackFirst + kPage - 1) & ~(kPage - 1);
    Handle stack_memory;
    int64_t e = map_anonymous(p, kStackTop - first, first, kVmRead | kVmWrite, &stack_memory);
    if (e == kOk) e = sys::memory_write(stack_memory, first - 16 - used, image + kImage - used, used);
    if (e == kOk) e = sys::vm_map(p.process, kStackTop - first, stack_memory, 0, first, kVmRead | kVmWrite);
    p.stack_bottom = kStackTop - first, p.stack_limit = kStackTop - kStackBytes;
    free(image);
    *entry = eh.entry + base;
    *stack = top - used;
    return e;
}

}  // namespace personality
