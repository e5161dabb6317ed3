#include "smp.h"

#include "arch.h"
#include "cpu.h"
#include "panic.h"
#include "scheduler.h"

bool g_kernel_locking = false;

namespace {
bool g_checking = false;
uint32_t g_lock = 0;
int g_owner = -1;          // the CPU holding it
uintptr_t g_owner_site = 0;  // and where it took it
}  // namespace

void kernel_lock_checking(bool on) { g_checking = on; }

void kernel_lock_enable() {
    g_lock = 1;
    g_owner = static_cast<int>(this_cpu().id);
    g_kernel_locking = true;
}

void kernel_lock_now() {
    auto site = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
    if (g_checking && __atomic_load_n(&g_owner, __ATOMIC_RELAXED) == static_cast<int>(this_cpu().id))
        panic("lockdep: CPU %u takes the kernel lock at %#lx, held since %#lx", this_cpu().id, site,
              g_owner_site);
    while (__atomic_exchange_n(&g_lock, 1, __ATOMIC_ACQUIRE)) {
        do {
            tlb_flush_if_asked();
            arch::relax();
        } while (__atomic_load_n(&g_lock, __ATOMIC_RELAXED));
    }
    g_owner = static_cast<int>(this_cpu().id);
    g_owner_site = site;
}

void kernel_unlock_now() {
    if (g_checking && g_owner != static_cast<int>(this_cpu().id))
        panic("lockdep: CPU %u lets go of the kernel lock at %#lx, held by CPU %d since %#lx",
              this_cpu().id, reinterpret_cast<uintptr_t>(__builtin_return_address(0)), g_owner,
              g_owner_site);
    g_owner = -1;
    __atomic_store_n(&g_lock, 0, __ATOMIC_RELEASE);
}

void kernel_enter_from_user_now() {
    kernel_lock_now();
    if (current_thread()->kill_pending) before_user_return();  // does not return
}

void tlb_flush_if_asked() {
    Cpu& cpu = this_cpu();
    if (!__atomic_load_n(&cpu.tlb_flush, __ATOMIC_ACQUIRE)) return;
    arch::flush_user_tlb();
    __atomic_store_n(&cpu.tlb_flush, false, __ATOMIC_RELEASE);
}

void tlb_shootdown(uint64_t root) {
    if (!g_kernel_locking) return;
    Cpu& me = this_cpu();
    bool asked[kMaxCpus] = {};
    for (unsigned i = 0; i < cpus_running(); ++i) {
        Cpu& cpu = cpu_at(i);
        if (&cpu == &me || __atomic_load_n(&cpu.active_root, __ATOMIC_RELAXED) != root) continue;
        __atomic_store_n(&cpu.tlb_flush, true, __ATOMIC_RELEASE);
        arch::send_tlb_flush(i);
        asked[i] = true;
    }
    for (unsigned i = 0; i < cpus_running(); ++i)
        while (asked[i] && __atomic_load_n(&cpu_at(i).tlb_flush, __ATOMIC_ACQUIRE)) arch::relax();
}
