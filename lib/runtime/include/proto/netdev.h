// The network-device protocol (netdev:): Ethernet frames between a network
// driver and the TCP/IP server (net:).
//
// Frames do not travel in messages. The stack makes one memory object laid
// out as `Frames` below and gives it to the driver (Attach), with a
// notification the driver signals when it has put received frames in the
// receive ring or freed room in the transmit ring (Wake). Each ring is a
// single-producer, single-consumer queue of fixed slots: the producer fills
// slot `head % kSlots` and then advances `head`; the consumer takes slot
// `tail % kSlots` and then advances `tail`. The driver copies frames between
// these slots and its own DMA buffers, so the stack never reaches memory the
// device can address, and a ring the stack garbles costs only frames.
//
// The driver holds no state a restart must keep: a new incarnation knows no
// stack until it attaches again. Kick answers kErrBadState then, and the
// stack attaches again (frames lost in between are what TCP retransmits).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace proto::netdev {

constexpr uint32_t kSlots = 64;          // per direction
constexpr uint32_t kSlotBytes = 2048;
constexpr uint32_t kMaxFrame = 1514;     // Ethernet header + 1500 bytes, no FCS

struct Slot {
    uint32_t length;  // bytes of `data` in use
    uint32_t reserved;
    uint8_t data[kSlotBytes - 8];
};

struct Ring {
    volatile uint32_t head;  // written by the producer only
    uint32_t pad0[15];       // head and tail on cache lines of their own
    volatile uint32_t tail;  // written by the consumer only
    uint32_t pad1[15];
};

struct Frames {
    Ring receive;   // the driver produces, the stack consumes
    Ring transmit;  // the stack produces, the driver consumes
    uint8_t pad[4096 - 2 * sizeof(Ring)];
    Slot receive_slots[kSlots];
    Slot transmit_slots[kSlots];
};
constexpr size_t kFramesBytes = sizeof(Frames);
static_assert(kFramesBytes % 4096 == 0);

struct Counters {
    uint64_t received, transmitted;  // frames
    uint64_t received_bytes, transmitted_bytes;
    uint64_t dropped;  // received with no room in the receive ring
    uint64_t errors;   // transmit slots refused (bad length)
};

struct Info {
    static constexpr uint64_t kLabel = 0xa01;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply {
        uint8_t mac[6];
        uint8_t link_up;
        uint8_t attached;
        uint32_t mtu;
        Counters counters;
        char model[24];
    };
};

// The request carries the memory object (read and write). Replaces any
// earlier attachment; both rings start empty (head = tail = 0 is the
// stack's to set before it attaches).
struct Attach {
    static constexpr uint64_t kLabel = 0xa02;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint8_t mac[6]; uint8_t link_up; uint8_t reserved; uint32_t mtu; };
};

// The request carries a notification (signal): the driver signals `bits`
// on it when the receive ring gains frames or the transmit ring room.
struct Wake {
    static constexpr uint64_t kLabel = 0xa03;
    static constexpr bool kIdempotent = true;
    struct Request { uint64_t bits; };
    struct Reply { uint32_t unused; };
};

// The transmit ring has new frames. kErrBadState: not attached (a new
// incarnation of the driver); attach again.
struct Kick {
    static constexpr uint64_t kLabel = 0xa04;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

}  // namespace proto::netdev
