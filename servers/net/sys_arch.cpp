// What lwIP needs from the system (servers/net/port/arch/cc.h): a clock in
// milliseconds, random numbers, and a place for its diagnostics. With
// NO_SYS there are no threads, semaphores or mailboxes to provide.
#include "mica/log.h"
#include "mica/runtime.h"
#include "format.h"

extern "C" {
#include "lwip/sys.h"
}

using namespace mica;

extern "C" u32_t sys_now(void) { return static_cast<u32_t>(sys::clock_monotonic() / 1'000'000); }

// xorshift64*, seeded from the time-stamp counter: TCP's initial sequence
// numbers and ports want values an outsider cannot guess from the boot.
extern "C" unsigned int mica_lwip_rand(void) {
    static uint64_t state = 0;
    if (!state) {
        uint32_t lo, hi;
        asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
        state = (uint64_t{hi} << 32 | lo) ^ 0x9e3779b97f4a7c15ull;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<unsigned int>((state * 0x2545f4914f6cdd1dull) >> 32);
}

extern "C" void mica_lwip_diag(const char* format, ...) {
    char line[160];
    va_list args;
    va_start(args, format);
    size_t n = vformat_to(line, sizeof line, format, args);
    va_end(args);
    if (n >= sizeof line) n = sizeof line - 1;
    while (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    logf("net: lwip: %s", line);
}

// An assertion in lwIP is a bug in the server, never the result of what
// arrived from the network: the server ends, and init restarts it.
extern "C" void mica_lwip_assert(const char* message, const char* file, int line) {
    logf("net: lwip assertion failed: %s (%s:%d)", message, file, line);
    mica::exit(3);
}

// netif_find reads an interface's number with atoi, which the host's
// header turns into strtol: decimal is all it needs.
extern "C" long strtol(const char* text, char** end, int) {
    long value = 0;
    bool negative = *text == '-';
    if (*text == '-' || *text == '+') ++text;
    for (; *text >= '0' && *text <= '9'; ++text) value = value * 10 + (*text - '0');
    if (end) *end = const_cast<char*>(text);
    return negative ? -value : value;
}
