// COM1 as the kernel's debug console: polled output only. Input and the user
// console belong to the user-space UART driver.
#include "arch.h"
#include "x86.h"

namespace {
constexpr uint16_t kCom1 = 0x3f8;

void put_raw(char c) {
    for (int spin = 0; spin < 100000 && !(x86::inb(kCom1 + 5) & 0x20); ++spin) {
    }
    x86::outb(kCom1, static_cast<uint8_t>(c));
}
}  // namespace

void x86::serial_init() {
    x86::outb(kCom1 + 1, 0x00);  // no interrupts
    x86::outb(kCom1 + 3, 0x80);  // divisor latch
    x86::outb(kCom1 + 0, 0x01);  // 115200 baud
    x86::outb(kCom1 + 1, 0x00);
    x86::outb(kCom1 + 3, 0x03);  // 8N1
    // The FIFO is left off: turning it on drops what was typed ahead (QEMU
    // resets the FIFO when the mode changes); the console driver takes the
    // pending byte first and then turns it on.
    x86::outb(kCom1 + 4, 0x03);  // DTR, RTS
}

void arch::console_write(const char* text, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (text[i] == '\n') put_raw('\r');
        put_raw(text[i]);
    }
}
