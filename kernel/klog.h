// The kernel log: leveled, formatted lines on the debug console. Messages
// below the current level (set by the `loglevel=` boot option) are dropped.
#pragma once

enum class LogLevel { debug, info, warn, error };

void klog(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Formatted text with no level prefix and no newline added (panic dumps).
void kprint(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

void klog_set_level(LogLevel level);
// Parses "debug", "info", "warn" or "error"; false if it is none of them.
bool klog_parse_level(const char* text, LogLevel* out);

#define log_debug(...) klog(LogLevel::debug, __VA_ARGS__)
#define log_info(...) klog(LogLevel::info, __VA_ARGS__)
#define log_warn(...) klog(LogLevel::warn, __VA_ARGS__)
#define log_error(...) klog(LogLevel::error, __VA_ARGS__)
