// The memory and string functions the compiler may call on its own (memcpy,
// memset, memmove, memcmp) plus the few the kernel uses by name.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

// True when the first `n` bytes of `a` equal the NUL-terminated `b` exactly.
inline bool str_equal(const char* a, size_t n, const char* b) {
    for (size_t i = 0; i < n; ++i)
        if (b[i] != a[i] || b[i] == '\0') return false;
    return b[n] == '\0';
}

// A T stored at `p` with no alignment (boot information, firmware tables).
template <typename T>
inline T load(const uint8_t* p) {
    T v;
    memcpy(&v, p, sizeof v);
    return v;
}
