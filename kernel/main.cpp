// kernel_main: the generic kernel's start, once arch code has a console,
// descriptor tables and the boot information.
#include "boot_info.h"
#include "cmdline.h"
#include "heap_instance.h"
#include "klog.h"
#include "init_process.h"
#include "memory.h"
#include "scheduler.h"
#include "shutdown.h"
#include "panic.h"
#include "arch.h"

namespace {

void log_boot_info(const BootInfo& info) {
    log_info("boot: loader '%s', command line '%s'", info.loader_name, info.cmdline);
    uint64_t usable = 0;
    for (size_t i = 0; i < info.region_count; ++i) {
        const MemoryRegion& r = info.regions[i];
        log_debug("boot: memory %016lx-%016lx kind %d", r.base, r.base + r.length,
                  static_cast<int>(r.kind));
        if (r.kind == MemoryRegion::Kind::usable) usable += r.length;
    }
    log_info("boot: %zu memory regions, %lu MiB usable%s", info.region_count, usable >> 20,
             info.regions_truncated ? " (map truncated)" : "");
    for (size_t i = 0; i < info.module_count; ++i) {
        const BootModule& m = info.modules[i];
        log_info("boot: module '%s' at %#lx, %lu bytes", m.name, m.phys_start,
                 m.phys_end - m.phys_start);
    }
    if (info.modules_truncated) log_warn("boot: more modules than the kernel keeps; extra ignored");
}

// Deliberate faults for the panic-path tests (`test.fault=` on the command
// line). noinline so each has its own frame for the backtrace to name.
volatile uintptr_t g_unmapped_address = 0x00007fffdead0000;  // user half, never mapped at boot

[[gnu::noinline]] void trigger_test_page_fault() {
    *reinterpret_cast<volatile uint64_t*>(g_unmapped_address) = 0xdead;
}

[[gnu::noinline]] void trigger_test_invalid_opcode() { __builtin_trap(); }

// With the first process's tables active: read its stack, or run its code,
// without the copy routine's permission. SMAP and SMEP must stop both.
[[gnu::noinline]] void touch_user_memory(const UserImage& user, bool execute) {
    arch::activate(user.tables);
    if (execute) reinterpret_cast<void (*)()>(user.entry)();
    (void)*reinterpret_cast<volatile uint64_t*>(user.stack_top - 64);
}

[[gnu::noinline]] void run_test_fault(KernelOptions::TestFault fault, const UserImage& user) {
    using F = KernelOptions::TestFault;
    log_info("test: faulting on purpose as the command line asks");
    if (fault == F::smap || fault == F::smep) touch_user_memory(user, fault == F::smep);
    if (fault == F::page_fault) trigger_test_page_fault();
    if (fault == F::invalid_opcode) trigger_test_invalid_opcode();
    if (fault == F::panic) panic("test panic requested on the command line");
    asm volatile("" ::: "memory");  // keep this frame distinct from the callee's
}

}  // namespace

void kernel_main(const BootInfo& info) {
    kernel_heap_init();
    cpu_init_boot();
    log_info("Mica " MICA_VERSION " (x86_64)");
    KernelOptions options = apply_cmdline(info.cmdline);
    log_boot_info(info);
    memory_init(info);
    arch::init_kernel_address_space(memory_top(), kernel_table_frames());
    kernel_heap_enable_growth();
    scheduler_init();
    arch::timer_init(kTickHz);
    cpus_start();
    UserImage init;
    shutdown_baseline();
    if (!start_init_process(info, options.init, &init)) arch::poweroff(false);
    if (options.test_fault != KernelOptions::TestFault::none) run_test_fault(options.test_fault, init);
    idle_loop();
}
