#include "klog.h"

#include "arch.h"
#include "lib/format.h"
#include "lib/string.h"

namespace {

LogLevel g_level = LogLevel::info;

constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};

void console_sink(void*, const char* text, size_t n) { arch::console_write(text, n); }

}  // namespace

bool klog_set_level(const char* name, size_t length) {
    for (int i = 0; i < 4; ++i) {
        if (str_equal(name, length, kLevelNames[i])) {
            g_level = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void klog(LogLevel level, const char* fmt, ...) {
    if (level < g_level) return;
    kprint("[%s] ", kLevelNames[static_cast<int>(level)]);
    va_list args;
    va_start(args, fmt);
    vformat(console_sink, nullptr, fmt, args);
    va_end(args);
    arch::console_write("\n", 1);
}

void kprint(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vformat(console_sink, nullptr, fmt, args);
    va_end(args);
}
