// printf-style formatting without a C library: the kernel log and panic path
// use it, and the host unit tests check it. Supports flags '-', '0' and '#', a
// width (digits or '*'), length modifiers hh h l ll z, and the conversions
// d i u x X p s c %. Anything else is printed as written.
#pragma once

#include <stdarg.h>
#include <stddef.h>

using FormatSink = void (*)(void* context, const char* text, size_t length);

// Formats into `sink`; returns the number of characters produced.
size_t vformat(FormatSink sink, void* context, const char* fmt, va_list args);

// Formats into `buffer` (always NUL-terminated when size > 0); returns the
// length the whole output would have had, as snprintf does. User space's
// (lib/runtime/format_to.cpp): the kernel has no use for it.
size_t format_to(char* buffer, size_t size, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t vformat_to(char* buffer, size_t size, const char* fmt, va_list args);
