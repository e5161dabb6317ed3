#include "format.h"
#include "mica/runtime.h"
#include "string.h"

namespace {
// Output is gathered into whole lines so that lines from different
// processes do not interleave mid-line on the console.
struct LineBuffer {
    char text[256];
    size_t used = 0;
    void flush() {
        if (used) mica::sys::debug_write(text, used);
        used = 0;
    }
};

void sink(void* context, const char* text, size_t n) {
    auto* b = static_cast<LineBuffer*>(context);
    for (size_t i = 0; i < n; ++i) {
        b->text[b->used++] = text[i];
        if (text[i] == '\n' || b->used == sizeof b->text) b->flush();
    }
}
}  // namespace

void mica::vprint(const char* fmt, va_list args) {
    LineBuffer b;
    vformat(sink, &b, fmt, args);
    b.flush();
}

void mica::print(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

bool mica::cmdline_value(const char* key, char* out, size_t size) {
    const char* p = startup().cmdline;
    size_t key_length = strlen(key);
    while (*p) {
        while (*p == ' ') ++p;
        const char* word = p;
        while (*p && *p != ' ') ++p;
        if (static_cast<size_t>(p - word) > key_length && memcmp(word, key, key_length) == 0 &&
            word[key_length] == '=') {
            size_t n = static_cast<size_t>(p - word) - key_length - 1;
            if (n >= size) return false;
            memcpy(out, word + key_length + 1, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}
