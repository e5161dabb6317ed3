// this_cpu() on x86-64: GS holds the address of the CPU's own Cpu block,
// whose first field points to itself. Inline: the IPC path asks often.
#pragma once

struct Cpu;

// Never written: the read below names it as an input, so that the compiler
// reads GS again after any call (a thread switch inside one may bring the
// caller back on another CPU), yet may reuse the value between calls.
extern char g_cpu_switch_point;

inline Cpu& this_cpu() {
    Cpu* cpu;
    asm("mov %%gs:0, %0" : "=r"(cpu) : "m"(g_cpu_switch_point));
    return *cpu;
}
