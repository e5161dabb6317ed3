// Function names for addresses, from the table the build embeds in the
// kernel image (tools/gen_ksyms.py writes it from the first link's symbols).
#pragma once

#include <stddef.h>
#include <stdint.h>

struct KernelSymbol {
    uint64_t address;
    uint32_t size;         // 0 when the symbol table did not know it
    uint32_t name_offset;  // into the name pool
};

struct SymbolTable {
    const KernelSymbol* entries;  // sorted by address
    size_t count;
    const char* names;

    // The symbol containing `address`, or null. `offset` gets address - start.
    const char* lookup(uintptr_t address, uintptr_t* offset) const;
};

// The table embedded in this kernel.
const SymbolTable& kernel_symbols();
