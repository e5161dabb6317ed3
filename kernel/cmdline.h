// The kernel command line: space-separated `key=value` or `key` words.
// Known options are applied; unknown ones are logged and ignored, never fatal.
// Everything after a lone `--` is the first process's, not the kernel's.
#pragma once

#include <stddef.h>

struct CmdlineWord {
    const char* key;
    size_t key_length;
    const char* value;  // null for a bare `key`
    size_t value_length;
};

// Calls `visit` for each word of `text`, in order, up to a lone `--`;
// returns what follows that (empty if there is none).
template <typename Visit>
const char* cmdline_for_each(const char* text, Visit&& visit) {
    const char* p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t') ++p;
        if (!*p) break;
        const char* start = p;
        while (*p && *p != ' ' && *p != '\t') ++p;
        if (p - start == 2 && start[0] == '-' && start[1] == '-') {
            while (*p == ' ' || *p == '\t') ++p;
            return p;
        }
        CmdlineWord w{start, static_cast<size_t>(p - start), nullptr, 0};
        for (const char* q = start; q < p; ++q) {
            if (*q == '=') {
                w.key_length = static_cast<size_t>(q - start);
                w.value = q + 1;
                w.value_length = static_cast<size_t>(p - q - 1);
                break;
            }
        }
        visit(w);
    }
    return p;
}

// What the kernel takes from its command line.
struct KernelOptions {
    enum class TestFault { none, page_fault, invalid_opcode, panic, smap, smep };
    TestFault test_fault = TestFault::none;
    char init[32] = "init";  // the boot module to start as the first process
};

KernelOptions apply_cmdline(const char* text);

// What follows the lone `--` (empty if there is none).
const char* cmdline_user_part(const char* text);
