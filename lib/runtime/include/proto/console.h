// The console protocol: text out, lines in (the line discipline — echo,
// erase, Ctrl-C, Ctrl-D — lives in the console driver).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::console {

// Not idempotent: a write cut short by a crash may have shown some text.
struct Write {
    static constexpr uint64_t kLabel = 0x301;
    struct Request { uint32_t size; char data[2048]; };
    struct Reply { uint32_t unused; };
};

// Waits for a line of up to mica::kLineMax bytes (UTF-8 passes through).
// `eof`: Ctrl-D on an empty line; `interrupted`: Ctrl-C; `too_long`: more
// was typed than a line holds (`data` is then empty: never a cut line);
// `cancelled`: its caller gave up the read (Cancel), nothing was taken.
struct ReadLine {
    static constexpr uint64_t kLabel = 0x302;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply {
        uint32_t size, eof, interrupted, too_long, cancelled, reserved;
        char data[4096];
    };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

// While a program runs in the foreground: Ctrl-C, Ctrl-Z and Ctrl-\ signal
// the notification sent with this request (bits 1, 2 and 4), and typed
// input is kept for whoever reads next. Without a handle, it stops (Ctrl-C
// then only ends a line being read). One at a time; the last one wins.
struct Interrupt {
    static constexpr uint64_t kLabel = 0x304;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

// Waits for typed bytes and answers with those there are (1 to 256), as
// typed: no line editing, no history; echoed only if `echo`; the keys in
// `isig` (Interrupt's bits: 1 Ctrl-C, 2 Ctrl-Z, 4 Ctrl-\) interrupt the
// foreground program (Interrupt) instead of arriving. A terminal's raw
// mode (a Linux program's termios without ICANON).
struct ReadRaw {
    static constexpr uint64_t kLabel = 0x306;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t echo, isig; };
    struct Reply { uint32_t size, cancelled; char data[256]; };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

// The caller's own ReadLine (or ReadRaw) that waits (one made through the same badged
// handle) is answered at once as `cancelled`; what was typed of the line
// so far stays for the next reader. For a reader that reads ahead and no
// longer wants the line (the Linux personality, when its program ends).
struct Cancel {
    static constexpr uint64_t kLabel = 0x305;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

// Keys typed on another input device (the PS/2 keyboard), as the bytes a
// terminal would send: they join the serial line's input.
struct Input {
    static constexpr uint64_t kLabel = 0x303;
    struct Request { uint32_t size; char data[64]; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::console
