// Time on x86-64: the local APIC timer drives the scheduler tick, the TSC
// is the clock. Both are calibrated against the PIT, whose frequency is
// fixed. The legacy PIC is remapped out of the exception vectors and masked.
#include "arch.h"
#include "klog.h"
#include "memory.h"
#include "panic.h"
#include "x86.h"

namespace {
using namespace x86;

constexpr uint8_t kTimerVector = 0x40;
constexpr uint8_t kSpuriousVector = 0xff;
constexpr uint32_t kPitHz = 1193182;
constexpr uintptr_t kLapicWindow = 0xffff'ffff'f000'0000;  // kernel MMIO mapping

volatile uint32_t* g_lapic = nullptr;
uint32_t g_lapic_initial_count = 0;  // for the tick rate, as calibrated
uint64_t g_tsc_start = 0;
uint64_t g_ns_per_tsc_q32 = 0;  // nanoseconds per TSC tick, 32.32 fixed point
uint64_t g_tsc_hz = 0;

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

void mask_legacy_pic() {
    // Remap to 0x20-0x2f first, so a spurious PIC interrupt cannot land on an
    // exception vector, then mask every line.
    const uint8_t init[][2] = {{0x20, 0x11}, {0xa0, 0x11}, {0x21, 0x20}, {0xa1, 0x28},
                               {0x21, 0x04}, {0xa1, 0x02}, {0x21, 0x01}, {0xa1, 0x01},
                               {0x21, 0xff}, {0xa1, 0xff}};
    for (auto& [port, value] : init) x86::outb(port, value);
}

}  // namespace

uint32_t x86::lapic_read(uint32_t reg) { return g_lapic[reg / 4]; }
void x86::lapic_write(uint32_t reg, uint32_t v) { g_lapic[reg / 4] = v; }

void x86::lapic_timer_start() {
    lapic_write(kSpurious, 0x100 | kSpuriousVector);  // APIC on
    lapic_write(kTimerDivide, 0x3);
    lapic_write(kLvtTimer, kTimerVector | (1 << 17));  // periodic
    lapic_write(kTimerInitial, g_lapic_initial_count);
}

// Waits `ms` milliseconds on PIT channel 2 (the speaker channel, which can
// be polled without an interrupt).
void x86::pit_wait(unsigned ms) {
    uint32_t count = kPitHz * ms / 1000;
    x86::outb(0x61, (x86::inb(0x61) & 0xfd) | 1);  // gate on, speaker off
    x86::outb(0x43, 0xb0);                         // channel 2, mode 0, binary
    x86::outb(0x42, count & 0xff);
    x86::outb(0x42, count >> 8);
    uint8_t gate = x86::inb(0x61) & 0xfe;
    x86::outb(0x61, gate);  // restart counting
    x86::outb(0x61, gate | 1);
    while (!(x86::inb(0x61) & 0x20)) {
    }
}

void arch::timer_init(unsigned hz) {
    mask_legacy_pic();
    uint64_t lapic_phys = x86::rdmsr(0x1b) & 0x000f'ffff'ffff'f000;
    if (!kernel_page_tables().map(kLapicWindow, lapic_phys, kMapWrite | kMapUncached,
                                  kernel_table_frames()))
        panic("timer: cannot map the local APIC");
    g_lapic = reinterpret_cast<volatile uint32_t*>(kLapicWindow);
    lapic_write(kSpurious, 0x100 | kSpuriousVector);  // APIC on

    // Count LAPIC timer ticks (divide by 16) and TSC ticks over 10 ms, as
    // Linux's PIT calibration does (one PIT count is 84 ppm of that).
    lapic_write(kTimerDivide, 0x3);
    lapic_write(kLvtTimer, 1 << 16);  // masked while calibrating
    lapic_write(kTimerInitial, 0xffffffff);
    uint64_t tsc0 = rdtsc();
    pit_wait(10);
    uint64_t tsc1 = rdtsc();
    uint32_t lapic_ticks = 0xffffffff - lapic_read(kTimerCurrent);
    lapic_write(kTimerInitial, 0);
    uint64_t tsc_hz = (tsc1 - tsc0) * 100;
    uint64_t lapic_hz = static_cast<uint64_t>(lapic_ticks) * 100;
    if (tsc_hz == 0 || lapic_hz < hz) panic("timer: calibration failed (tsc %lu Hz, lapic %lu Hz)", tsc_hz, lapic_hz);
    g_ns_per_tsc_q32 = (1'000'000'000ULL << 32) / tsc_hz;
    g_tsc_hz = tsc_hz;
    g_tsc_start = tsc0;

    g_lapic_initial_count = static_cast<uint32_t>(lapic_hz / hz);
    lapic_timer_start();
    log_info("timer: TSC %lu MHz, APIC timer %lu MHz, tick %u Hz", tsc_hz / 1000000,
             lapic_hz / 1000000, hz);
}

uint64_t arch::counter_hz() { return g_tsc_hz; }

[[gnu::used]] uint64_t arch::counter() { return rdtsc(); }  // tools/bench.py calls it from gdb

uint64_t arch::clock_ns() {
    uint64_t ticks = rdtsc() - g_tsc_start;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * g_ns_per_tsc_q32) >> 32);
}

bool x86_legacy_irq(unsigned vector);  // ioapic.cpp

// Called by trap dispatch for interrupt vectors.
void x86_interrupt(unsigned vector) {
    if (vector == kTimerVector) {
        lapic_write(kEoi, 0);
        timer_tick();
    } else if (x86_legacy_irq(vector) || vector == kRescheduleVector) {
        lapic_write(kEoi, 0);
    } else if (vector == kSpuriousVector || (vector >= 0x20 && vector < 0x30)) {
        // Spurious APIC interrupt, or a stray from the masked PIC: nothing to do.
    } else {
        lapic_write(kEoi, 0);
        log_warn("interrupt: unexpected vector %u", vector);
    }
}
