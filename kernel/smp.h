// Several CPUs in one kernel: the big kernel lock and TLB shootdown.
//
// The kernel keeps its one-CPU design (non-preemptible, interrupts off, no
// locks inside) and lets one CPU at a time run it: a CPU takes the lock on
// every entry from user mode and from an idle halt, and lets it go at the
// return to user mode and before halting. A thread switch inside the kernel
// keeps it (the lock belongs to the CPU, and passes to whichever thread that
// CPU runs next). The one thing another CPU must do while one holds the lock
// is flush its TLB when asked: that request is served from the shootdown
// interrupt and from the lock's spin loop, never under the lock.
//
// With one CPU all of this is off and costs a test of one flag (nothing at
// all on the system-call path, which has an entry of its own for SMP).
#pragma once

#include <stdint.h>

// Turns locking on, the caller (the boot CPU) holding the lock.
void kernel_lock_enable();
extern bool g_kernel_locking;  // several CPUs run
void kernel_lock_now();
extern "C" void kernel_unlock_now();  // also called by the fast path's return (trap_entry.S)
void kernel_enter_from_user_now();
inline void kernel_lock() {
    if (g_kernel_locking) kernel_lock_now();
}
inline void kernel_unlock() {
    if (g_kernel_locking) kernel_unlock_now();
}
// kernel_lock on the way in from user mode; a thread killed while it waited
// for the lock ends there (what it came to do may not outlive its process).
inline void kernel_enter_from_user() {
    if (g_kernel_locking) kernel_enter_from_user_now();
}

// `lockdep=on`: a second acquisition on the CPU that holds the lock, or a
// release by one that does not, panics with both places.
void kernel_lock_checking(bool on);

// After changing or removing user mappings of the tables with root `root`:
// every other CPU running on them flushes its TLB before this returns. Call
// before freeing what the removed mappings reached.
void tlb_shootdown(uint64_t root);
// This CPU was asked to flush (the shootdown interrupt, or a spin).
void tlb_flush_if_asked();
