// The PCI server's device hand-out, for init alone (its supervisor badge):
// init claims the device a driver's manifest line names and passes what it
// gets (the BARs as device memory or I/O ports, the interrupt line, a copy
// of the configuration space) to that driver and no other. One handle comes
// back with each reply.
#pragma once

#include <stdint.h>

namespace proto::pci {

constexpr uint32_t kBars = 6;

struct BarInfo {
    uint64_t base, size;
    uint32_t io;  // 1: I/O ports, 0: memory
    uint32_t reserved;
};

// The `instance`-th device with this vendor and device id: marked taken,
// memory/I/O decoding and bus mastering enabled, INTx on.
struct Claim {
    static constexpr uint64_t kLabel = 0x801;
    struct Request { uint16_t vendor, device; uint32_t instance; };
    struct Reply { char name[16]; uint32_t irq; uint32_t reserved; BarInfo bars[kBars]; };
};

// A claimed device's BAR (handle: device memory or an I/O port range).
struct Bar {
    static constexpr uint64_t kLabel = 0x802;
    struct Request { char name[16]; uint32_t bar; };
    struct Reply { uint32_t unused; };
};

// Its interrupt line, bound to the notification sent with the request
// (handle: the line, level-triggered).
struct Irq {
    static constexpr uint64_t kLabel = 0x803;
    struct Request { char name[16]; };
    struct Reply { uint32_t irq; };
};

// A read-only page holding its 256-byte configuration space as claimed.
struct Config {
    static constexpr uint64_t kLabel = 0x804;
    struct Request { char name[16]; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::pci
