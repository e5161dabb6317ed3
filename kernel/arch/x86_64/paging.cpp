// x86-64 4-level page tables behind arch::PageTables, and the kernel's own
// address space. Kernel entries are global (they survive CR3 switches);
// permissions are enforced in leaf entries, intermediate entries allow all.
#include "arch.h"
#include "cpu.h"
#include "x86.h"
#include "klog.h"
#include "panic.h"

namespace {

constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kWriteThrough = 8, kNoCache = 16,
                   kLarge = 128, kGlobal = 256, kNoExecute = 1ULL << 63;
constexpr uint64_t kAddressMask = 0x000f'ffff'ffff'f000;
constexpr int kKernelFirstSlot = 256;  // top-level entries 256..511 are the kernel half

arch::PageTables g_kernel_tables;

uint64_t* table_at(uint64_t phys) { return reinterpret_cast<uint64_t*>(arch::kDirectMapBase + phys); }

int index_at(uintptr_t virt, int level) { return (virt >> (12 + 9 * (level - 1))) & 511; }

// The entry for `virt` at `level` (4 = top, 1 = leaf), making missing tables
// on the way when `frames` is given. Null if a table is missing (and none
// could be made) or a large page is in the way.
uint64_t* entry_at(uint64_t root, uintptr_t virt, int level, arch::TableFrames* frames) {
    uint64_t* table = table_at(root);
    for (int l = 4; l > level; --l) {
        uint64_t& e = table[index_at(virt, l)];
        if (!(e & kPresent)) {
            if (!frames) return nullptr;
            uint64_t phys = frames->take();
            if (phys == ~0ULL) return nullptr;
            e = phys | kPresent | kWritable | (virt < arch::kUserTop ? kUser : 0);
        } else if (e & kLarge) {
            return nullptr;
        }
        table = table_at(e & kAddressMask);
    }
    return &table[index_at(virt, level)];
}

uint64_t leaf_bits(uintptr_t virt, unsigned flags) {
    uint64_t bits = kPresent;
    if (flags & arch::kMapWrite) bits |= kWritable;
    if (!(flags & arch::kMapExec)) bits |= kNoExecute;
    if (flags & arch::kMapUser) bits |= kUser;
    if (flags & arch::kMapUncached) bits |= kNoCache | kWriteThrough;
    if (virt >= arch::kUserTop) bits |= kGlobal;
    return bits;
}

void flush(uintptr_t virt) { asm volatile("invlpg (%0)" ::"r"(virt) : "memory"); }

bool is_current(uint64_t root) { return this_cpu().active_root == root; }

void free_tables(uint64_t table_phys, int level, arch::TableFrames& frames) {
    uint64_t* table = table_at(table_phys);
    for (int i = 0; level > 1 && i < 512; i += 8) {  // eight at a time: most are empty
        if (!(table[i] | table[i + 1] | table[i + 2] | table[i + 3] | table[i + 4] | table[i + 5] | table[i + 6] |
              table[i + 7]))
            continue;
        for (int j = i; j < i + 8; ++j)
            if ((table[j] & kPresent) && !(table[j] & kLarge)) free_tables(table[j] & kAddressMask, level - 1, frames);
    }
    frames.give_back(table_phys);
}

}  // namespace

bool arch::PageTables::create(TableFrames& frames) {
    uint64_t root = frames.take();
    if (root == ~0ULL) return false;
    uint64_t* kernel = table_at(g_kernel_tables.root());
    uint64_t* mine = table_at(root);
    for (int i = kKernelFirstSlot; i < 512; ++i) mine[i] = kernel[i];
    root_ = root;
    return true;
}

void arch::PageTables::destroy(TableFrames& frames) {
    if (!root_) return;
    // Never free the tables this CPU is using.
    if (is_current(root_)) activate(g_kernel_tables);
    uint64_t* top = table_at(root_);
    for (int i = 0; i < kKernelFirstSlot; ++i)
        if (top[i] & kPresent) free_tables(top[i] & kAddressMask, 3, frames);
    frames.give_back(root_);
    root_ = 0;
    last_region_ = ~0ULL;
}

bool arch::PageTables::map(uintptr_t virt, uint64_t phys, unsigned flags, TableFrames& frames) {
    KASSERT(!((flags & kMapWrite) && (flags & kMapExec)));
    uint64_t* e = leaf(virt, &frames);
    if (!e || (*e & kPresent)) return false;
    *e = (phys & kAddressMask) | leaf_bits(virt, flags);
    return true;
}

uint64_t* arch::PageTables::leaf(uintptr_t virt, TableFrames* frames) const {
    if (virt >> 21 != last_region_) last_leaf_ = entry_at(root_, virt & ~0x1fffffULL, 1, frames);
    last_region_ = last_leaf_ ? virt >> 21 : ~0ULL;
    return last_leaf_ ? &last_leaf_[index_at(virt, 1)] : nullptr;
}

bool arch::PageTables::unmap(uintptr_t virt) {
    uint64_t* e = leaf(virt, nullptr);
    if (!e || !(*e & kPresent)) return false;
    *e = 0;
    if (is_current(root_) || virt >= kUserTop) flush(virt);
    return true;
}

bool arch::PageTables::protect(uintptr_t virt, unsigned flags) {
    KASSERT(!((flags & kMapWrite) && (flags & kMapExec)));
    uint64_t* e = leaf(virt, nullptr);
    if (!e || !(*e & kPresent)) return false;
    *e = (*e & kAddressMask) | leaf_bits(virt, flags);
    if (is_current(root_) || virt >= kUserTop) flush(virt);
    return true;
}

bool arch::PageTables::query(uintptr_t virt, uint64_t* phys, unsigned* flags) const {
    uint64_t* e = leaf(virt, nullptr);
    if (!e || !(*e & kPresent)) return false;
    if (phys) *phys = *e & kAddressMask;
    if (flags)
        *flags = (*e & kWritable ? kMapWrite : 0u) | (*e & kNoExecute ? 0u : kMapExec) | (*e & kUser ? kMapUser : 0u) |
                 (*e & kNoCache ? kMapUncached : 0u);
    return true;
}

void arch::activate(const PageTables& tables) {
    Cpu& cpu = this_cpu();
    if (cpu.active_root == tables.root()) return;
    cpu.active_root = tables.root();
    asm volatile("mov %0, %%cr3" ::"r"(tables.root()) : "memory");
}

arch::PageTables& arch::kernel_page_tables() { return g_kernel_tables; }

void x86::enable_protections() {
    auto leaf7 = x86::cpuid(7);
    uint64_t cr4 = x86::read_cr4() | (1 << 7);  // PGE: global pages
    if (leaf7.ebx & (1 << 7)) cr4 |= 1 << 20;   // SMEP
    if (leaf7.ebx & (1 << 20)) cr4 |= 1 << 21;  // SMAP
    if (leaf7.ecx & (1 << 2)) cr4 |= 1 << 11;   // UMIP
    x86::write_cr4(cr4);
    asm volatile("mov %0, %%cr0" ::"r"(x86::read_cr0() | (1 << 16)) : "memory");  // WP: read-only binds ring 0
}

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[],
    __kernel_end[];

void arch::init_kernel_address_space(uint64_t memory_top, TableFrames& frames) {
    uint64_t root = frames.take();
    if (root == ~0ULL) panic("paging: no frame for the kernel's top-level table");
    // Both kernel top-level entries exist from the start, so address spaces
    // made later share everything the kernel ever maps.
    uint64_t* top = table_at(root);
    const int kernel_slots[] = {index_at(kDirectMapBase, 4), 511};
    for (int slot : kernel_slots) {
        uint64_t pdpt = frames.take();
        if (pdpt == ~0ULL) panic("paging: no frame for a kernel table");
        top[slot] = pdpt | kPresent | kWritable;
    }

    // Direct map: 2 MiB pages, read-write, never executable.
    uint64_t top_2m = (memory_top + (2 << 20) - 1) & ~((2ULL << 20) - 1);
    for (uint64_t phys = 0; phys < top_2m; phys += 2 << 20) {
        uint64_t* e = entry_at(root, kDirectMapBase + phys, 2, &frames);
        if (!e) panic("paging: out of frames building the direct map");
        *e = phys | kPresent | kWritable | kLarge | kGlobal | kNoExecute;
    }

    // The image, one permission per section (W^X).
    struct Section { char* start; char* end; unsigned flags; };
    const Section sections[] = {{__text_start, __text_end, kMapExec},
                                {__rodata_start, __rodata_end, 0},
                                {__data_start, __kernel_end, kMapWrite}};
    g_kernel_tables = PageTables(root);
    for (const Section& s : sections) {
        uintptr_t v = reinterpret_cast<uintptr_t>(s.start) & ~(kPageSize - 1);
        for (; v < reinterpret_cast<uintptr_t>(s.end); v += kPageSize)
            if (!g_kernel_tables.map(v, v - kKernelImageBase, s.flags, frames))
                panic("paging: cannot map the kernel image at %#lx", v);
    }

    activate(g_kernel_tables);
    x86::enable_protections();
    uint64_t cr4 = x86::read_cr4();
    log_info("paging: kernel address space on; SMEP %s, SMAP %s, UMIP %s",
             cr4 & (1 << 20) ? "on" : "off", cr4 & (1 << 21) ? "on" : "off",
             cr4 & (1 << 11) ? "on" : "off");
}
