// GDT, TSS and IDT for one CPU. Selector values are fixed by SYSCALL/SYSRET:
// kernel code, kernel data, then user data before user code.
#pragma once

#include <stdint.h>

struct Cpu;
struct ArchCpu;  // x86: one CPU's GDT, TSS and IST stacks

namespace x86 {
constexpr uint16_t kKernelCode = 0x08;
constexpr uint16_t kKernelData = 0x10;
constexpr uint16_t kUserData = 0x18 | 3;
constexpr uint16_t kUserCode = 0x20 | 3;
constexpr uint16_t kTss = 0x28;

// Interrupt stack table slots for the exceptions that must not run on a
// possibly broken stack.
constexpr int kIstDoubleFault = 1;
constexpr int kIstNmi = 2;
constexpr int kIstMachineCheck = 3;

// The IDT (shared) and the boot CPU's tables, loaded on the boot CPU.
void descriptors_init();
ArchCpu& boot_cpu_tables();
// Another CPU's tables, made on the boot CPU and loaded on their own CPU.
ArchCpu* cpu_tables_create();
void descriptors_load(ArchCpu& tables);
}  // namespace x86
