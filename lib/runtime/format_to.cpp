// Formatting into a buffer (snprintf's part): user space's, on top of the
// kernel's freestanding vformat, which is all the kernel itself needs.
#ifdef MICA_HOST_TEST
#include "lib/format.h"
#else
#include "format.h"
#endif

namespace {
struct BufferSink {
    char* buffer;
    size_t size;
    size_t used;
};

void buffer_sink(void* context, const char* text, size_t n) {
    auto* b = static_cast<BufferSink*>(context);
    for (size_t i = 0; i < n; ++i) {
        if (b->used + 1 < b->size) b->buffer[b->used] = text[i];
        ++b->used;
    }
}
}  // namespace

size_t vformat_to(char* buffer, size_t size, const char* fmt, va_list args) {
    BufferSink b{buffer, size, 0};
    size_t n = vformat(buffer_sink, &b, fmt, args);
    if (size > 0) buffer[b.used < size ? b.used : size - 1] = '\0';
    return n;
}

size_t format_to(char* buffer, size_t size, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(buffer, size, fmt, args);
    va_end(args);
    return n;
}
