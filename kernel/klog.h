// The kernel log: leveled, formatted lines on the debug console. Messages
// below the current level (set by the `loglevel=` boot option) are dropped.
#pragma once

#include <stddef.h>

enum class LogLevel { debug, info, warn, error };

void klog(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Formatted text with no level prefix and no newline added (panic dumps).
void kprint(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Sets the level named by the `length` bytes at `name`: "debug", "info",
// "warn" or "error"; false (and no change) if it is none of them.
bool klog_set_level(const char* name, size_t length);

#define log_debug(...) klog(LogLevel::debug, __VA_ARGS__)
#define log_info(...) klog(LogLevel::info, __VA_ARGS__)
#define log_warn(...) klog(LogLevel::warn, __VA_ARGS__)
#define log_error(...) klog(LogLevel::error, __VA_ARGS__)
