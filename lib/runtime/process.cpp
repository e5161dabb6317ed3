#include "mica/process.h"

#include "elf.h"
#include "mica/runtime.h"
#include "mica/strings.h"

extern "C" char mica_thread_entry[];  // crt0.S

namespace mica {
namespace {

constexpr uintptr_t kChildStackTop = 0x0000'7fff'ffff'0000;
constexpr uintptr_t kLowest = 0x10000;
uintptr_t g_next_free = 0x0000'2000'0000'0000;  // this process's own mappings grow from here

int64_t load_segment(Handle process, const uint8_t* file, const ElfSegment& s, Handle image) {
    uintptr_t start = s.vaddr & ~(kPageSize - 1);
    size_t size = (s.vaddr + s.memsz - start + kPageSize - 1) & ~(kPageSize - 1);
    // A read-only segment laid out in the file as in memory: the image's own
    // pages (no zeroing, no copy; the child sees nothing it could not read in
    // its own file).
    if (image != kNoHandle && !(s.perms & kVmWrite) && s.filesz == s.memsz &&
        s.offset % kPageSize == s.vaddr % kPageSize &&
        sys::vm_map(process, start, image, s.offset - (s.vaddr - start), size, s.perms) == kOk)
        return kOk;
    auto memory = sys::memory_create(size);
    if (!memory.ok()) return memory.error();
    Handle m = memory.value();
    int64_t e = sys::memory_write(m, s.vaddr - start, file + s.offset, s.filesz);
    if (e == kOk) e = sys::vm_map(process, start, m, 0, size, s.perms);
    sys::handle_close(m);  // the mapping keeps the memory alive
    return e;
}

int64_t build(Handle process, const uint8_t* file, const ElfImage& image, const SpawnOptions& o) {
    for (size_t i = 0; i < image.segment_count; ++i)
        if (int64_t e = load_segment(process, file, image.segments[i], o.image)) return e;

    size_t stack_size = (o.stack_size + kPageSize - 1) & ~(kPageSize - 1);
    auto stack = sys::memory_create(stack_size);
    if (!stack.ok()) return stack.error();
    Handle sh = stack.value();
    int64_t e = sys::vm_map(process, kChildStackTop - stack_size, sh, 0, stack_size, kVmRead | kVmWrite);

    StartupInfo info{};
    info.magic = kStartupMagic;
    if (strlen(o.cmdline) >= sizeof info.cmdline) return kErrInvalidArgument;  // never cut short
    copy_string(info.cmdline, sizeof info.cmdline, o.cmdline);
    uintptr_t info_address = (kChildStackTop - sizeof(StartupInfo)) & ~15ULL;
    // Each step runs only if every one before it worked; e keeps the first error.
    Handle thread = kNoHandle;
    if (e == kOk) {
        auto self = sys::handle_grant(process, process, kRightsSame);
        e = self.error();
        info.self_process = self.value();
    }
    if (e == kOk) {
        auto made = sys::thread_create(process, image.entry, info_address, info_address, o.priority);
        e = made.error();
        thread = made.value();
    }
    if (e == kOk) {
        auto child_thread = sys::handle_grant(process, thread, kRightsSame);
        e = child_thread.error();
        info.self_thread = child_thread.value();
    }
    for (uint32_t i = 0; e == kOk && i < o.handle_count && i < kMaxStartupHandles; ++i) {
        if (o.handles[i] == kNoHandle) {  // a gap the child expects at this index
            info.handles[info.handle_count++] = kNoHandle;
            continue;
        }
        auto given = sys::handle_grant(process, o.handles[i], kRightsSame);
        e = given.error();
        info.handles[info.handle_count++] = given.value();
    }
    if (e == kOk) e = sys::memory_write(sh, info_address - (kChildStackTop - stack_size), &info, sizeof info);
    if (e == kOk && o.fault_handler != kNoHandle) e = sys::process_set_fault_handler(process, o.fault_handler, 0);
    if (e == kOk && o.before_start) o.before_start(process, o.before_start_arg);
    if (e == kOk) e = sys::thread_start(thread);
    sys::handle_close(sh);
    if (thread != kNoHandle) sys::handle_close(thread);
    return e;
}

}  // namespace

int64_t spawn(const void* elf, size_t size, const SpawnOptions& o) {
    ElfImage image;
    if (elf_parse(static_cast<const uint8_t*>(elf), size, kLowest, kUserTop, image)) return kErrInvalidArgument;
    if (o.handle_count > kMaxStartupHandles) return kErrInvalidArgument;
    auto process = sys::process_create(o.name, strlen(o.name), o.quota);
    if (!process.ok()) return process.error();
    Handle ph = process.value();
    if (int64_t e = build(ph, static_cast<const uint8_t*>(elf), image, o)) {
        sys::process_kill(ph, e);
        sys::handle_close(ph);
        return e;
    }
    return ph;
}

uint64_t spawn_cost(const void* elf, size_t size, const SpawnOptions& o) {
    ElfImage image;
    if (elf_parse(static_cast<const uint8_t*>(elf), size, kLowest, kUserTop, image)) return 0;
    uint64_t bytes = (o.stack_size + kPageSize - 1) & ~(kPageSize - 1);
    for (size_t i = 0; i < image.segment_count; ++i) {
        const ElfSegment& s = image.segments[i];
        uintptr_t start = s.vaddr & ~(kPageSize - 1);
        bytes += (s.vaddr + s.memsz - start + kPageSize - 1) & ~(kPageSize - 1);
    }
    return bytes + bytes / 8;  // and the kernel's bookkeeping of those pages
}

uintptr_t reserve_address_range(size_t size) {
    // Threads on several CPUs may ask at once; an unmapped guard page between ranges.
    size_t step = ((size + kPageSize - 1) & ~(kPageSize - 1)) + kPageSize;
    return __atomic_fetch_add(&g_next_free, step, __ATOMIC_RELAXED);
}

bool map_boot_module(const char* name, const void** data, size_t* size, Handle* memory) {
    const StartupInfo& info = startup();
    for (uint32_t i = 0; i < info.module_count; ++i) {
        const BootModuleInfo& m = info.modules[i];
        if (strlen(m.name) != strlen(name) || memcmp(m.name, name, strlen(name)) != 0) continue;
        size_t mapped = (m.size + kPageSize - 1) & ~(kPageSize - 1);
        uintptr_t at = reserve_address_range(mapped);
        if (sys::vm_map(info.self_process, at, m.memory, 0, mapped, kVmRead) != kOk) return false;
        *data = reinterpret_cast<const void*>(at);
        *size = m.size;
        if (memory) *memory = m.memory;
        return true;
    }
    return false;
}

struct ThreadStart {
    void (*fn)(void*);
    void* arg;
    uintptr_t stack_base;
    size_t stack_size;
};

// Address ranges of stacks whose threads have ended (or are ending: the
// kernel unmaps the stack as the thread leaves, so a range still mapped is
// not free yet, and mapping over it fails). Reused by size; a spin lock
// because threads are preempted anywhere.
namespace {
struct FreeRange {
    uintptr_t base;
    size_t size;
};
FreeRange g_free_ranges[64];
uint32_t g_free_count = 0;
SpinLock g_ranges_lock;

void lock_ranges() { g_ranges_lock.lock(); }
void unlock_ranges() { g_ranges_lock.unlock(); }

// Maps `stack` at a freed range of its size if one is free by now, else at a new one.
uintptr_t map_stack(Handle stack, size_t size, int64_t* error) {
    lock_ranges();
    for (uint32_t i = 0; i < g_free_count; ++i) {
        if (g_free_ranges[i].size != size) continue;
        uintptr_t base = g_free_ranges[i].base;
        if (sys::vm_map(startup().self_process, base, stack, 0, size, kVmRead | kVmWrite) != kOk) continue;
        g_free_ranges[i] = g_free_ranges[--g_free_count];
        unlock_ranges();
        return base;
    }
    unlock_ranges();
    uintptr_t base = reserve_address_range(size);
    *error = sys::vm_map(startup().self_process, base, stack, 0, size, kVmRead | kVmWrite);
    return *error == kOk ? base : 0;
}
}  // namespace

int64_t start_thread(void (*fn)(void*), void* arg, uint32_t priority, size_t stack_size) {
    stack_size = (stack_size + kPageSize - 1) & ~(kPageSize - 1);
    auto stack = sys::memory_create(stack_size);
    if (!stack.ok()) return stack.error();
    int64_t e = kOk;
    uintptr_t base = map_stack(stack.value(), stack_size, &e);
    sys::handle_close(stack.value());
    if (!base) return e;
    // The start block lives at the top of the new stack.
    auto* block = reinterpret_cast<ThreadStart*>(base + stack_size - sizeof(ThreadStart));
    block->fn = fn;
    block->arg = arg;
    block->stack_base = base;
    block->stack_size = stack_size;
    auto thread = sys::thread_create(startup().self_process, reinterpret_cast<uintptr_t>(mica_thread_entry),
                                     reinterpret_cast<uintptr_t>(block) & ~15ULL,
                                     reinterpret_cast<uintptr_t>(block), priority);
    if (!thread.ok()) {
        sys::vm_unmap(startup().self_process, base, stack_size);
        return thread.error();
    }
    if (int64_t s = sys::thread_start(thread.value())) return s;
    return thread.value();
}

}  // namespace mica

extern "C" [[noreturn]] void mica_thread_main(mica::ThreadStart* block) {
    using namespace mica;
    block->fn(block->arg);
    // Leave, and let the stack go with us (fn may end with thread_exit too,
    // and then its stack stays mapped: that is the only leak left).
    uintptr_t base = block->stack_base;
    size_t size = block->stack_size;
    lock_ranges();
    if (g_free_count < sizeof g_free_ranges / sizeof g_free_ranges[0]) g_free_ranges[g_free_count++] = FreeRange{base, size};
    unlock_ranges();
    sys::thread_exit_unmapping(base, size);
}
