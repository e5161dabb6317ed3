// Reading a ustar archive in memory: the boot file system (initfs) is one,
// packed by the build (tools/mkinitfs.py). The archive comes from outside the
// reader's control, so every header is checked against the archive's size.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::tar {

struct Entry {
    char path[256];  // without a leading "./" or "/", directories without a trailing "/"
    bool directory;
    const uint8_t* data;
    uint64_t size;
};

// Calls visit(entry) for each entry; stops early if visit returns false.
// Returns false if the archive is malformed (entries before that were visited).
template <typename Visit>
bool for_each(const uint8_t* archive, size_t size, Visit&& visit);

bool parse_header(const uint8_t* archive, size_t size, size_t offset, Entry* out, size_t* next);

template <typename Visit>
bool for_each(const uint8_t* archive, size_t size, Visit&& visit) {
    size_t offset = 0;
    Entry e;
    while (offset + 512 <= size) {
        if (archive[offset] == 0) return true;  // the end blocks
        size_t next;
        if (!parse_header(archive, size, offset, &e, &next)) return false;
        if (!visit(e)) return true;
        offset = next;
    }
    return true;
}

}  // namespace mica::tar
