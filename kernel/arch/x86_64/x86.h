// Thin wrappers over x86 instructions. Only code under arch/x86_64 includes this.
#pragma once

#include <stdint.h>

struct AcpiInfo;

namespace x86 {

inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline uint64_t read_cr0() { uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline uint64_t read_cr2() { uint64_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline uint64_t read_cr3() { uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline uint64_t read_cr4() { uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr4(uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)));
}

struct CpuidResult { uint32_t eax, ebx, ecx, edx; };
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }

// What the firmware's ACPI tables said (the PC defaults if they were
// refused; *error then says why).
const AcpiInfo& acpi(const char** error = nullptr);

// The local APIC (timer.cpp): its registers, the periodic tick on this CPU
// (once timer_init has calibrated it), and a busy wait on the PIT.
enum LapicReg : uint32_t {
    kLapicId = 0x20, kEoi = 0xb0, kSpurious = 0xf0, kIcrLow = 0x300, kIcrHigh = 0x310,
    kLvtTimer = 0x320, kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3e0,
};
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
void lapic_timer_start();
void pit_wait(unsigned ms);
constexpr uint8_t kRescheduleVector = 0xf0, kTlbVector = 0xf1;  // inter-processor interrupts
uint32_t boot_apic_id();  // smp.cpp: where device interrupts go

// CR4's and CR0's protections (SMEP, SMAP, UMIP, WP, global pages) on this CPU.
void enable_protections();

// COM1 as the kernel's debug console (serial.cpp), set up first thing at boot.
void serial_init();

constexpr uint32_t kMsrEfer = 0xc0000080;
constexpr uint32_t kMsrFsBase = 0xc0000100;
constexpr uint64_t kEferNxe = 1u << 11;

}  // namespace x86
