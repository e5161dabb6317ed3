#include "panic.h"

#include <stdarg.h>

#include "arch.h"
#include "klog.h"
#include "lib/format.h"
#include "symbols.h"

namespace {
bool g_panicking = false;

void console_sink(void*, const char* text, size_t n) { arch::console_write(text, n); }

void print_frame(int index, uintptr_t address, uintptr_t lookup_address) {
    uintptr_t offset = 0;
    const char* name = kernel_symbols().lookup(lookup_address, &offset);
    if (name)
        kprint("  #%-2d 0x%016lx %s+0x%lx\n", index, address, name,
               offset + (address - lookup_address));
    else
        kprint("  #%-2d 0x%016lx ?\n", index, address);
}
void print_reason(const char* fmt, va_list args) {
    kprint("\nPANIC: ");
    vformat(console_sink, nullptr, fmt, args);
    kprint("\n");
}
}  // namespace

bool panic_in_progress() { return __atomic_load_n(&g_panicking, __ATOMIC_ACQUIRE); }

bool panic_begin(const char* fmt, ...) {
    if (__atomic_exchange_n(&g_panicking, true, __ATOMIC_ACQ_REL)) return false;
    arch::stop_other_cpus();  // before printing: nothing else runs or writes
    va_list args;
    va_start(args, fmt);
    print_reason(fmt, args);
    va_end(args);
    return true;
}

void panic_finish(uintptr_t pc, uintptr_t frame_pointer, uintptr_t caller) {
    kprint("backtrace:\n");
    print_frame(0, pc, pc);
    uintptr_t returns[32];
    size_t n = 0;
    if (caller) returns[n++] = caller;
    n += arch::walk_frames(frame_pointer, returns + n, 32 - n);
    // A return address points after the call; look up the call itself so a
    // call at the very end of a function is not blamed on the next one.
    for (size_t i = 0; i < n; ++i) print_frame(static_cast<int>(i + 1), returns[i], returns[i] - 1);
    kprint("system halted\n");
    arch::poweroff(false);
}

void panic(const char* fmt, ...) {
    if (__atomic_exchange_n(&g_panicking, true, __ATOMIC_ACQ_REL)) arch::halt_forever();
    arch::stop_other_cpus();
    va_list args;
    va_start(args, fmt);
    print_reason(fmt, args);
    va_end(args);
    // Start at the call site: panic calls are often a function's last
    // instruction, so the return address itself may already be in the next one.
    auto* frame = static_cast<uintptr_t*>(__builtin_frame_address(0));
    panic_finish(frame[1] - 1, frame[0]);
}
