// The interface every architecture implements for the generic kernel. Generic
// code includes this header, never anything under arch/; an architecture
// provides these functions (and nothing else is visible outside arch/).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace arch {

// Writes raw bytes to the kernel's debug console (the serial port on x86).
void console_write(const char* text, size_t length);

// Stops this CPU for good, interrupts off.
[[noreturn]] void halt_forever();

// Ends the machine. Under QEMU the exit status tells the host runner whether
// the kernel considered the run a success; on real hardware it powers off or halts.
[[noreturn]] void poweroff(bool success);

// Follows a frame-pointer chain from `frame_pointer`, storing return
// addresses; stops at a null or implausible frame. Returns how many it stored.
size_t walk_frames(uintptr_t frame_pointer, uintptr_t* out, size_t max);

}  // namespace arch
