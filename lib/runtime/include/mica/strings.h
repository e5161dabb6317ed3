// C string functions user space needs beyond the kernel's few (string.h).
#pragma once

#include <stddef.h>

#ifdef MICA_HOST_TEST
// Runtime code under the host unit tests: the host's C library has them all
// (and its C++ strchr, overloaded on const, cannot be declared again).
#include <string.h>
#else
#include "string.h"

extern "C" {
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
}
#endif

namespace mica {
// Copies at most size-1 characters and terminates; returns the length copied.
size_t copy_string(char* dst, size_t size, const char* src);
// a, b and c one after the other, cut at size-1 and terminated; returns
// the length of the whole (>= size: it was cut), as format_to does, at a
// tenth of its cost (path names are joined on every file call).
size_t join(char* dst, size_t size, const char* a, const char* b, const char* c = "");
}
