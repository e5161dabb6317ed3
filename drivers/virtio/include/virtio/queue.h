// A split virtqueue (virtio 1.x, 2.6) in the driver's DMA memory: the
// descriptor table, the driver's ring of the chains it offers (the
// "available" ring) and the device's ring of the chains it has finished
// with (the "used" ring). The device learns where the three parts are once,
// when the queue is set up; from then on the queue is shared memory, and
// only the doorbell is a register.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "virtio/transport.h"

namespace virtio {

struct Descriptor {
    uint64_t address;  // physical
    uint32_t length;
    uint16_t flags, next;
};
enum DescriptorFlags : uint16_t { kNext = 1, kDeviceWrites = 2 };

class Queue {
public:
    // Bytes a queue of `size` entries takes: the descriptors, then the
    // available ring, then the used ring (4-byte aligned).
    static constexpr size_t bytes(uint16_t size) { return used_offset(size) + 6 + 8 * size; }

    // Lays the queue out at `memory` (physical address `phys`, 16-byte
    // aligned, bytes(size) long), empty, and gives it to the device as its
    // queue `index`. False (logged) if the device has no such queue or
    // allows it fewer than `size` entries.
    bool set_up(Transport& transport, uint16_t index, uint16_t size, void* memory, uint64_t phys);

    uint16_t size() const { return size_; }
    Descriptor& descriptor(uint16_t i) { return descriptors_[i % size_]; }

    // Offers the chain that starts at descriptor `head`; the device looks
    // once notify() rings its doorbell.
    void offer(uint16_t head);
    void notify() { transport_->notify(index_); }

    // The next chain the device has finished with: its head as the device
    // gave it (the caller checks it is one it offered) and the bytes the
    // device wrote into it. False when there is none.
    bool take_used(uint32_t* head, uint32_t* written);

private:
    static constexpr size_t available_offset(uint16_t size) { return 16 * size; }
    static constexpr size_t used_offset(uint16_t size) {
        return (available_offset(size) + 6 + 2 * size + 3) & ~size_t{3};
    }

    Transport* transport_ = nullptr;
    uint16_t index_ = 0, size_ = 1;
    Descriptor* descriptors_ = nullptr;
    volatile uint16_t* available_ = nullptr;  // flags, index, ring[size], (used_event)
    volatile uint16_t* used_ = nullptr;       // flags, index, then {uint32 id, length}[size]
    uint16_t offered_ = 0;  // our copy of the available ring's index
    uint16_t seen_ = 0;     // used ring entries taken
};

}  // namespace virtio
