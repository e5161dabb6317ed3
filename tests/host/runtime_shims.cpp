// What user-space runtime code compiled for the host needs from the rest of
// the runtime: print() writes into a string the tests can read, not to the
// debug console.
#include "runtime_shims.h"

#include <cstdarg>
#include <cstdio>

#include "mica/runtime.h"

namespace {
std::string g_printed;
}

void mica::vprint(const char* fmt, va_list args) {
    char text[4096];
    vsnprintf(text, sizeof text, fmt, args);
    g_printed += text;
}

void mica::print(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

std::string take_printed() {
    std::string s;
    s.swap(g_printed);
    return s;
}
