#include "mica/tar.h"

#include "mica/strings.h"

namespace mica::tar {

namespace {
bool octal(const uint8_t* field, size_t width, uint64_t* out) {
    uint64_t v = 0;
    size_t i = 0;
    while (i < width && field[i] == ' ') ++i;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
        if (v >> 60) return false;
        v = v * 8 + (field[i] - '0');
    }
    *out = v;
    return true;
}
}  // namespace

bool parse_header(const uint8_t* archive, size_t size, size_t offset, Entry* out, size_t* next) {
    const uint8_t* h = archive + offset;
    if (memcmp(h + 257, "ustar", 5) != 0) return false;
    uint64_t checksum, file_size, sum = 0;
    if (!octal(h + 148, 8, &checksum) || !octal(h + 124, 12, &file_size)) return false;
    for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    if (sum != checksum) return false;
    if (file_size > size - offset - 512) return false;
    // prefix "/" name, each field possibly unterminated
    char path[256];
    size_t n = 0;
    for (size_t i = 0; i < 155 && h[345 + i]; ++i) path[n++] = static_cast<char>(h[345 + i]);
    if (n) path[n++] = '/';
    for (size_t i = 0; i < 100 && h[i]; ++i) path[n++] = static_cast<char>(h[i]);
    path[n] = '\0';
    const char* p = path;
    while (p[0] == '.' && p[1] == '/') p += 2;
    while (*p == '/') ++p;
    size_t len = strlen(p);
    while (len && p[len - 1] == '/') --len;
    memcpy(out->path, p, len);
    out->path[len] = '\0';
    out->directory = h[156] == '5';
    out->data = h + 512;
    out->size = out->directory ? 0 : file_size;
    *next = offset + 512 + ((file_size + 511) & ~511ULL);
    return true;
}

}  // namespace mica::tar
