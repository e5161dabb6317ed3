// GDT, TSS and IDT for one CPU. Selector values are fixed by SYSCALL/SYSRET:
// kernel code, kernel data, then user data before user code.
#pragma once

#include <stdint.h>

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

void descriptors_init();
// The stack the CPU switches to on an interrupt or exception from ring 3.
void set_tss_rsp0(uint64_t top);
}  // namespace x86
