// ELF64 executables for x86-64: checks a file and lists what to load.
// Static, non-PIE programs only (ET_EXEC), which is what Mica builds.
// The input comes from outside the kernel's control, so every field that
// points or sizes anything is checked before use.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ElfSegment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t offset;  // in the file
    uint64_t filesz;
    uint32_t perms;   // mica::VmPerms
};

struct ElfImage {
    static constexpr size_t kMaxSegments = 8;
    uint64_t entry;
    ElfSegment segments[kMaxSegments];
    size_t segment_count;
};

// Null on success, else what is wrong. `lowest`/`highest` bound where
// segments may be loaded.
const char* elf_parse(const uint8_t* data, size_t size, uint64_t lowest, uint64_t highest,
                      ElfImage& out);
