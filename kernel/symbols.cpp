#include "symbols.h"

const char* SymbolTable::lookup(uintptr_t address, uintptr_t* offset) const {
    size_t lo = 0, hi = count;  // find the last entry with entries[i].address <= address
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entries[mid].address <= address) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return nullptr;
    const KernelSymbol& s = entries[lo - 1];
    uintptr_t delta = address - s.address;
    if (s.size != 0 && delta >= s.size) return nullptr;
    if (offset) *offset = delta;
    return names + s.name_offset;
}

#ifndef MICA_HOST_TEST
extern "C" const KernelSymbol ksyms_entries[];
extern "C" const uint64_t ksyms_count;
extern "C" const char ksyms_names[];

const SymbolTable& kernel_symbols() {
    static const SymbolTable table{ksyms_entries, ksyms_count, ksyms_names};
    return table;
}
#endif
