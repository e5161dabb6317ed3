// The end of the line: print why, where (a symbolized backtrace) and stop.
#pragma once

#include <stdint.h>

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// True once some CPU has begun to panic.
bool panic_in_progress();

// For trap handlers that print registers between the message and the
// backtrace. panic_begin returns false if a panic is already under way
// (the caller should then just halt).
bool panic_begin(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints the backtrace, "  #i address symbol+offset" lines: `pc` first, then
// `caller` if given, then the return addresses found by walking frame
// pointers. `caller` is the return address of a function that had not set
// up its frame when it stopped (0 if it had), so that the chain misses no caller.
[[noreturn]] void panic_finish(uintptr_t pc, uintptr_t frame_pointer, uintptr_t caller = 0);

#define KASSERT(cond)                                                        \
    do {                                                                     \
        if (!(cond)) panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)
