// Per-CPU state, reached through this_cpu(). Arch entry code reads the first
// fields at fixed offsets (see the static_asserts in arch code), so they stay
// first and in this order.
#pragma once

#include <stdint.h>

class Thread;
struct ArchCpu;  // defined by the architecture

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
};

#include "arch/cpu_local.h"  // this_cpu()
