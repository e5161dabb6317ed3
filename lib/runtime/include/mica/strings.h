// C string functions user space needs beyond the kernel's few (string.h).
#pragma once

#include <stddef.h>

#include "string.h"

extern "C" {
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
}

namespace mica {
// Copies at most size-1 characters and terminates; returns the length copied.
size_t copy_string(char* dst, size_t size, const char* src);
}
