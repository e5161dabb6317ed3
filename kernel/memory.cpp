#include "memory.h"

#include "fail_alloc.h"
#include "klog.h"
#include "lib/string.h"
#include "panic.h"

extern "C" char __kernel_phys_start[], __kernel_end[];

namespace {
FrameAllocator g_frames;
uint64_t g_top = 0;
uint64_t g_usable = 0;  // frames of RAM the memory map calls usable (no holes)
const BootInfo* g_boot_info = nullptr;

bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
    return a < b + b_len && b < a + a_len;
}
}  // namespace

FrameAllocator& frames() { return g_frames; }
uint64_t usable_frames() { return g_usable; }
uint64_t memory_top() { return g_top; }

bool range_overlaps_ram(uint64_t phys, uint64_t size) {
    for (size_t i = 0; i < g_boot_info->region_count; ++i) {
        const MemoryRegion& r = g_boot_info->regions[i];
        bool ram = r.kind == MemoryRegion::Kind::usable || r.kind == MemoryRegion::Kind::acpi_reclaimable;
        if (ram && overlaps(phys, size, r.base, r.length)) return true;
    }
    return phys < 0xa0000;  // low memory is the kernel's whatever the map says (not VGA/ROM)
}

void memory_init(const BootInfo& info) {
    g_boot_info = &info;
    for (size_t i = 0; i < info.region_count; ++i) {
        const MemoryRegion& r = info.regions[i];
        if (r.kind != MemoryRegion::Kind::usable) continue;
        if (r.base + r.length > g_top) g_top = r.base + r.length;
        g_usable += ((r.base + r.length) & ~(arch::kPageSize - 1)) / arch::kPageSize -
                    (r.base + arch::kPageSize - 1) / arch::kPageSize;
    }
    g_top &= ~(arch::kPageSize - 1);
    if (g_top == 0) panic("memory: the boot memory map lists no usable memory");
    size_t frame_count = g_top / arch::kPageSize;
    uint64_t bitmap_bytes = FrameAllocator::bitmap_words(frame_count) * 8;

    // What must never be handed out.
    struct Range { uint64_t base, length; };
    Range reserved[BootInfo::kMaxModules + 4];
    size_t n = 0;
    reserved[n++] = {0, 1 << 20};  // real-mode structures, BIOS data, the AP trampoline later
    uint64_t image_start = reinterpret_cast<uintptr_t>(__kernel_phys_start);
    reserved[n++] = {image_start,
                     reinterpret_cast<uintptr_t>(__kernel_end) - arch::kKernelImageBase - image_start};
    reserved[n++] = {info.boot_info_phys, info.boot_info_size};
    for (size_t i = 0; i < info.module_count; ++i)
        reserved[n++] = {info.modules[i].phys_start, info.modules[i].phys_end - info.modules[i].phys_start};

    // The bitmap goes in the first usable stretch that collides with nothing.
    // The boot page tables map the first 4 GiB, so it must lie below that.
    uint64_t bitmap_phys = FrameAllocator::kNone;
    for (size_t i = 0; i < info.region_count && bitmap_phys == FrameAllocator::kNone; ++i) {
        const MemoryRegion& r = info.regions[i];
        if (r.kind != MemoryRegion::Kind::usable) continue;
        for (uint64_t at = (r.base + 4095) & ~4095ULL; at + bitmap_bytes <= r.base + r.length &&
                                                        at + bitmap_bytes <= (4ULL << 30);
             at += arch::kPageSize) {
            bool clear = true;
            for (size_t k = 0; k < n; ++k)
                if (overlaps(at, bitmap_bytes, reserved[k].base, reserved[k].length)) clear = false;
            if (clear) {
                bitmap_phys = at;
                break;
            }
        }
    }
    if (bitmap_phys == FrameAllocator::kNone) panic("memory: no room for the frame bitmap");
    reserved[n++] = {bitmap_phys, bitmap_bytes};

    g_frames.init(phys_to_virt<uint64_t>(bitmap_phys), frame_count);
    for (size_t i = 0; i < info.region_count; ++i)
        if (info.regions[i].kind == MemoryRegion::Kind::usable)
            g_frames.release_range(info.regions[i].base, info.regions[i].length);
    for (size_t k = 0; k < n; ++k) g_frames.reserve_range(reserved[k].base, reserved[k].length);
    log_info("memory: %zu frames free (%zu MiB) of %zu up to %#lx", g_frames.free_frames(),
             g_frames.free_frames() >> 8, frame_count, g_top);
}

[[gnu::noinline]] uint64_t allocate_zeroed_frame() {
    if (fail_alloc_now(ALLOC_SITE)) return FrameAllocator::kNone;
    uint64_t phys = g_frames.allocate();
    if (phys != FrameAllocator::kNone) memset(phys_to_virt(phys), 0, arch::kPageSize);
    return phys;
}

[[gnu::noinline]] uint64_t allocate_frames(size_t count) {
    return fail_alloc_now(ALLOC_SITE) ? FrameAllocator::kNone : g_frames.allocate_contiguous(count);
}

namespace {
struct KernelTableFrames final : arch::TableFrames {
    uint64_t take() override { return allocate_zeroed_frame(); }
    void give_back(uint64_t phys) override {
        if (!g_frames.free(phys)) panic("memory: page-table frame %#lx freed twice", phys);
    }
};
KernelTableFrames g_kernel_table_frames;
}  // namespace

arch::TableFrames& kernel_table_frames() { return g_kernel_table_frames; }
