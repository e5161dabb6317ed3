#include "mica/strings.h"

// (On the host, under the unit tests, the C library's are used.)
#ifndef MICA_HOST_TEST
extern "C" size_t strnlen(const char* s, size_t max) {
    size_t n = 0;
    while (n < max && s[n]) ++n;
    return n;
}

extern "C" int strcmp(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

extern "C" int strncmp(const char* a, const char* b, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (a[i] != b[i] || !a[i]) return static_cast<unsigned char>(a[i]) - static_cast<unsigned char>(b[i]);
    }
    return 0;
}

extern "C" char* strchr(const char* s, int c) {
    for (;; ++s) {
        if (*s == static_cast<char>(c)) return const_cast<char*>(s);
        if (!*s) return nullptr;
    }
}
#endif

size_t mica::join(char* dst, size_t size, const char* a, const char* b, const char* c) {
    size_t at = 0;
    const char* parts[] = {a, b, c};
    for (const char* part : parts) {
        size_t n = strlen(part);
        if (at < size) memcpy(dst + at, part, at + n < size ? n : size - at);
        at += n;
    }
    if (size) dst[at < size ? at : size - 1] = '\0';
    return at;
}

size_t mica::copy_string(char* dst, size_t size, const char* src) {
    if (size == 0) return 0;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}
