// What kernel code compiled for the host needs from the rest of the kernel.
#include <cstdarg>
#include <cstdio>
#include <stdexcept>

#include "panic.h"

// A kernel panic in code under test becomes a C++ exception the test can see.
void panic(const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    throw std::runtime_error(buf);
}
