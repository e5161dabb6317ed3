// The DMA memory init makes for a driver (`dma=KIB` on its manifest line):
// physically contiguous, at the physical address `dma=` on the driver's
// command line says, in startup slot kSlotResource0. Init keeps it across
// the driver's incarnations, so a device still finishing what a dead
// incarnation started writes only there, never into memory since given to
// someone else.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace virtio {

struct DmaMemory {
    uint8_t* at;    // where it is mapped
    uint64_t phys;  // where the device sees it
};

// The first `size` bytes of the driver's DMA memory, mapped and zeroed.
// False (logged, `who` first) if there is none or less.
bool map_dma(const char* who, size_t size, DmaMemory* out);

}  // namespace virtio
