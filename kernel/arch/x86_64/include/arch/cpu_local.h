// this_cpu() on x86-64: GS holds the address of the CPU's own Cpu block,
// whose first field points to itself. Inline: the IPC path asks often.
#pragma once

struct Cpu;

inline Cpu& this_cpu() {
    Cpu* cpu;
    asm("mov %%gs:0, %0" : "=r"(cpu));  // not volatile: a CPU's block never moves
    return *cpu;
}
