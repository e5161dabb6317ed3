// Per-CPU state, reached through this_cpu(). Arch entry code reads the first
// fields at fixed offsets (see the static_asserts in arch code), so they stay
// first and in this order.
#pragma once

#include <stdint.h>

class Thread;
struct ArchCpu;   // defined by the architecture

constexpr unsigned kMaxCpus = 16;

struct Cpu {
    Cpu* self;                   // 0
    uintptr_t kernel_stack_top;  // 8: SYSCALL switches to this stack
    uintptr_t user_rsp;          // 16: scratch for the SYSCALL entry
    uint32_t id;
    Thread* current;
    Thread* idle;
    Thread* reap;  // a dead thread whose stack was left by the last switch
    bool need_resched;
    bool foreign;          // the current thread's process is foreign: its syscalls go to its handler
    uint64_t active_root;  // the page tables this CPU runs on (saves reading CR3)
    ArchCpu* arch_tables;  // the architecture's per-CPU tables (x86: GDT, TSS)
    uint32_t ready_bits;   // a bit per priority with ready threads in its run queue
    unsigned slice_left;   // ticks left in the current thread's round-robin slice
    uint64_t idle_ticks;   // cycle-counter ticks spent halted
    uint64_t busy_tick_count;  // timer ticks that found a thread running
    uint64_t idle_tick_count;  // and that found the CPU idle
    uint64_t waiting_since;    // a ready thread that outranked this CPU's at the last tick (its ready_since)
    bool scheduled;            // schedule() ran since the last tick
    bool tlb_flush;        // another CPU asks this one to flush its user TLB entries (smp.h)
};

#include "arch/cpu_local.h"  // this_cpu()
