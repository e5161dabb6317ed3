#include "elf.h"

#include "mica/types.h"
#include "string.h"

namespace {

struct [[gnu::packed]] Header {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct [[gnu::packed]] ProgramHeader {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

constexpr uint32_t kLoad = 1, kFlagX = 1, kFlagW = 2;
constexpr uint64_t kPage = 4096;

}  // namespace

const char* elf_parse(const uint8_t* data, size_t size, uint64_t lowest, uint64_t highest,
                      ElfImage& out) {
    Header h;
    if (size < sizeof h) return "too short for an ELF header";
    memcpy(&h, data, sizeof h);
    if (memcmp(h.ident, "\x7f" "ELF", 4) != 0) return "not an ELF file";
    if (h.ident[4] != 2 || h.ident[5] != 1) return "not 64-bit little-endian ELF";
    if (h.type != 2) return "not a static executable (ET_EXEC)";
    if (h.machine != 62) return "not an x86-64 executable";
    if (h.phentsize != sizeof(ProgramHeader)) return "unexpected program header size";
    if (h.phoff > size || h.phnum > (size - h.phoff) / sizeof(ProgramHeader))
        return "program headers past the end of the file";

    out.segment_count = 0;
    out.entry = h.entry;
    bool entry_ok = false;
    uint64_t previous_end = 0;
    for (uint16_t i = 0; i < h.phnum; ++i) {
        ProgramHeader ph;
        memcpy(&ph, data + h.phoff + i * sizeof ph, sizeof ph);
        if (ph.type != kLoad || ph.memsz == 0) continue;
        if (out.segment_count == ElfImage::kMaxSegments) return "too many loadable segments";
        if (ph.filesz > ph.memsz) return "segment file size exceeds its memory size";
        if (ph.offset > size || ph.filesz > size - ph.offset) return "segment data past the end of the file";
        if (ph.vaddr % kPage != ph.offset % kPage) return "segment address and offset disagree modulo the page size";
        if (ph.vaddr < lowest || ph.vaddr > highest || ph.memsz > highest - ph.vaddr)
            return "segment outside the address range allowed";
        if ((ph.flags & kFlagW) && (ph.flags & kFlagX)) return "segment both writable and executable";
        uint64_t start_page = ph.vaddr & ~(kPage - 1);
        if (start_page < previous_end) return "segments overlap or are out of order";
        previous_end = (ph.vaddr + ph.memsz + kPage - 1) & ~(kPage - 1);
        uint32_t perms = mica::kVmRead;
        if (ph.flags & kFlagW) perms |= mica::kVmWrite;
        if (ph.flags & kFlagX) perms |= mica::kVmExec;
        out.segments[out.segment_count++] = {ph.vaddr, ph.memsz, ph.offset, ph.filesz, perms};
        if ((ph.flags & kFlagX) && h.entry >= ph.vaddr && h.entry < ph.vaddr + ph.memsz) entry_ok = true;
    }
    if (out.segment_count == 0) return "no loadable segments";
    if (!entry_ok) return "entry point not in an executable segment";
    return nullptr;
}
