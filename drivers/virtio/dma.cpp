// Mapping the DMA memory init keeps for a driver. See virtio/dma.h.
#include "virtio/dma.h"

#include "mica/log.h"
#include "mica/process.h"
#include "mica/runtime.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace virtio {

bool map_dma(const char* who, size_t size, DmaMemory* out) {
    char text[24];
    uint64_t phys = cmdline_value("dma", text, sizeof text) ? Words::parse(text) : 0;
    uintptr_t at = reserve_address_range(size);
    if (!phys ||
        sys::vm_map(startup().self_process, at, startup_handle(kSlotResource0), 0, size, kVmRead | kVmWrite) != kOk) {
        logf("%s: no DMA memory of %lu KiB (dma= in the manifest)", who, (size + 1023) >> 10);
        return false;
    }
    memset(reinterpret_cast<void*>(at), 0, size);
    *out = DmaMemory{reinterpret_cast<uint8_t*>(at), phys};
    return true;
}

}  // namespace virtio
