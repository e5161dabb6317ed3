// The console protocol: text out, lines in (the line discipline — echo,
// erase, Ctrl-C, Ctrl-D — lives in the console driver).
#pragma once

#include <stdint.h>

namespace proto::console {

// Not idempotent: a write cut short by a crash may have shown some text.
struct Write {
    static constexpr uint64_t kLabel = 0x301;
    struct Request { uint32_t size; char data[2048]; };
    struct Reply { uint32_t unused; };
};

// Waits for a line. `eof`: Ctrl-D on an empty line; `interrupted`: Ctrl-C.
struct ReadLine {
    static constexpr uint64_t kLabel = 0x302;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t size; uint32_t eof; uint32_t interrupted; char data[256]; };
};

// Keys typed on another input device (the PS/2 keyboard), as the bytes a
// terminal would send: they join the serial line's input.
struct Input {
    static constexpr uint64_t kLabel = 0x303;
    struct Request { uint32_t size; char data[64]; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::console
