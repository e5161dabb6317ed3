// The Linux personality's protocol (servers/linux, scheme linux:): how the
// shell starts an unmodified static x86-64 Linux program.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::personality {

constexpr uint32_t kStringsMax = 60 * 1024;  // argv and environment, NUL-terminated, back to back

// Loads the Linux ELF program `path` (a Linux path: "/" is file:/) and
// starts it with `argc` arguments then `envc` environment strings from
// `strings`, in the directory `cwd`, its standard input and output on the
// console. The reply carries the process handle (wait and manage rights):
// the caller waits for it, and may kill it (Ctrl-C) like any program. Its
// exit status is what it passed to exit_group, or 128 + the signal that
// ended it. It leads a new session, whose terminal the console becomes
// (with it in front) unless `flags` has kRunBackground.
constexpr uint32_t kRunBackground = 1;
struct Run {
    static constexpr uint64_t kLabel = 0x901;
    struct Request {
        char path[1024];
        char cwd[1024];
        uint32_t argc, envc;
        uint32_t size;  // bytes used in `strings`
        uint32_t flags;
        char strings[kStringsMax];
    };
    static constexpr uint32_t kMinRequest = offsetof(Request, strings);
    struct Reply { uint64_t pid; };
};

// Sends `signal` to the foreground process group of the session of the
// program `pid` started by Run, as a terminal does (Ctrl-C: SIGINT, Ctrl-Z:
// SIGTSTP, Ctrl-\: SIGQUIT). The caller must hold the process handle Run
// gave it (sent with the request, so that nobody else can signal programs
// that are not theirs).
struct Signal {
    static constexpr uint64_t kLabel = 0x902;
    struct Request { uint64_t pid; uint32_t signal; uint32_t reserved; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::personality
