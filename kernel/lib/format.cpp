#include "format.h"

#include <stdint.h>

namespace {

struct Spec {
    bool left = false;
    bool zero = false;
    bool alternate = false;  // '#': 0x before hex
    int width = 0;
    int precision = -1;  // only for %s: at most this many characters
    int length = 0;  // 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t
};

struct Out {
    FormatSink sink;
    void* context;
    size_t count = 0;

    void put(const char* text, size_t n) {
        if (n == 0) return;
        sink(context, text, n);
        count += n;
    }
    void pad(char c, int n) {
        for (; n > 0; --n) put(&c, 1);
    }
};

void emit_field(Out& out, const Spec& spec, const char* body, size_t n, const char* prefix = "") {
    size_t prefix_len = 0;
    while (prefix[prefix_len]) ++prefix_len;
    int fill = spec.width - static_cast<int>(n + prefix_len);
    if (!spec.left && !spec.zero) out.pad(' ', fill);
    out.put(prefix, prefix_len);
    if (!spec.left && spec.zero) out.pad('0', fill);
    out.put(body, n);
    if (spec.left) out.pad(' ', fill);
}

void emit_unsigned(Out& out, const Spec& spec, uint64_t value, unsigned base, bool upper,
                   const char* prefix = "") {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = digits[value % base];
        value /= base;
    } while (value != 0);
    emit_field(out, spec, buf + i, sizeof buf - i, prefix);
}

uint64_t take_unsigned(const Spec& spec, va_list& args) {
    switch (spec.length) {
        case -2: return static_cast<unsigned char>(va_arg(args, unsigned));
        case -1: return static_cast<unsigned short>(va_arg(args, unsigned));
        case 1: return va_arg(args, unsigned long);
        case 2: return va_arg(args, unsigned long long);
        case 3: return va_arg(args, size_t);
        default: return va_arg(args, unsigned);
    }
}

int64_t take_signed(const Spec& spec, va_list& args) {
    switch (spec.length) {
        case -2: return static_cast<signed char>(va_arg(args, int));
        case -1: return static_cast<short>(va_arg(args, int));
        case 1: return va_arg(args, long);
        case 2: return va_arg(args, long long);
        case 3: return static_cast<int64_t>(va_arg(args, size_t));
        default: return va_arg(args, int);
    }
}

}  // namespace

size_t vformat(FormatSink sink, void* context, const char* fmt, va_list ap) {
    Out out{sink, context};
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        const char* run = fmt;
        while (*fmt && *fmt != '%') ++fmt;
        out.put(run, static_cast<size_t>(fmt - run));
        if (!*fmt) break;
        const char* start = fmt++;  // at '%'
        Spec spec;
        for (;; ++fmt) {
            if (*fmt == '-') spec.left = true;
            else if (*fmt == '0') spec.zero = true;
            else if (*fmt == '#') spec.alternate = true;
            else break;
        }
        if (*fmt == '*') {
            spec.width = va_arg(args, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            ++fmt;
        } else {
            while (*fmt >= '0' && *fmt <= '9') spec.width = spec.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            spec.precision = 0;
            if (*++fmt == '*') {
                spec.precision = va_arg(args, int);
                ++fmt;
            } else {
                while (*fmt >= '0' && *fmt <= '9') spec.precision = spec.precision * 10 + (*fmt++ - '0');
            }
        }
        if (spec.left) spec.zero = false;
        if (*fmt == 'h') {
            spec.length = -1;
            if (*++fmt == 'h') spec.length = -2, ++fmt;
        } else if (*fmt == 'l') {
            spec.length = 1;
            if (*++fmt == 'l') spec.length = 2, ++fmt;
        } else if (*fmt == 'z') {
            spec.length = 3;
            ++fmt;
        }
        char conv = *fmt;
        if (conv) ++fmt;
        switch (conv) {
            case 'd':
            case 'i': {
                int64_t v = take_signed(spec, args);
                uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
                emit_unsigned(out, spec, magnitude, 10, false, v < 0 ? "-" : "");
                break;
            }
            case 'u': emit_unsigned(out, spec, take_unsigned(spec, args), 10, false); break;
            case 'o': emit_unsigned(out, spec, take_unsigned(spec, args), 8, false); break;
            case 'x':
            case 'X':
                emit_unsigned(out, spec, take_unsigned(spec, args), 16, conv == 'X',
                              spec.alternate ? (conv == 'X' ? "0X" : "0x") : "");
                break;
            case 'p': {
                auto v = reinterpret_cast<uintptr_t>(va_arg(args, void*));
                emit_unsigned(out, spec, v, 16, false, "0x");
                break;
            }
            case 's': {
                const char* s = va_arg(args, const char*);
                if (!s) s = "(null)";
                size_t n = 0;
                while ((spec.precision < 0 || n < static_cast<size_t>(spec.precision)) && s[n]) ++n;
                spec.zero = false;  // text is padded with spaces
                emit_field(out, spec, s, n);
                break;
            }
            case 'c': {
                char c = static_cast<char>(va_arg(args, int));
                spec.zero = false;
                emit_field(out, spec, &c, 1);
                break;
            }
            case '%': out.put("%", 1); break;
            default:  // unknown or truncated: show what was written
                out.put(start, static_cast<size_t>(fmt - start));
                break;
        }
    }
    va_end(args);
    return out.count;
}
