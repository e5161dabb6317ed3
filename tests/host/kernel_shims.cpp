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

#include "klog.h"

// The kernel log goes to stderr in host tests.
void vklog(LogLevel, const char* fmt, va_list args) {
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}
void klog(LogLevel level, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vklog(level, fmt, args);
    va_end(args);
}
bool klog_set_level(const char*, size_t) { return false; }

bool g_ipc_fastpath = true;  // kernel/ipc.cpp owns it in the kernel

#include "smp.h"

void kernel_lock_checking(bool) {}  // kernel/smp.cpp owns it in the kernel
