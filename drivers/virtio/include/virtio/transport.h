// The virtio 1.x PCI transport (the "modern" one, virtio 1.x section 4.1),
// shared by the virtio drivers: where the register blocks are (the virtio
// capability structures in the device's configuration space name a BAR and a
// range in it), the reset and feature negotiation of the initialisation
// sequence, a queue's set-up at physical addresses the driver chose, its
// doorbell, and the interrupt status.
//
// It uses only what init passes a driver for a `device=` manifest line
// (abi/mica/startup.h): the BARs as device memory at kSlotBar0 + n and a
// read-only copy of the configuration space at kSlotDeviceConfig.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace virtio {

constexpr uint64_t kFeatureVersion1 = 1ULL << 32;  // VIRTIO_F_VERSION_1: a modern device

class Transport {
public:
    // `who` starts every line this logs ("virtio-blk").
    explicit Transport(const char* who) : who_(who) {}
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Finds and maps the common, notification, ISR and device-specific
    // blocks. False (and logged) when the device has none of them or they
    // cannot be mapped.
    bool find_registers();

    // Resets the device, which also stops whatever DMA an earlier
    // incarnation of the driver started, and negotiates features: those the
    // device offers among `wanted` (VIRTIO_F_VERSION_1 is always wanted and
    // required) are accepted and returned in *agreed. False, the device
    // marked failed and the reason logged, when it is not a virtio 1.x
    // device or refuses the set.
    bool negotiate(uint64_t wanted, uint64_t* agreed);

    // The largest size queue `index` may have; 0 when it has no such queue.
    uint16_t queue_max(uint16_t index);
    // Gives queue `index` (below kMaxQueues) its `size` entries at these
    // physical addresses and enables it, on the legacy interrupt line (no
    // MSI-X). Before ready(). False (logged) if its doorbell is out of reach.
    bool set_up_queue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver_ring, uint64_t device_ring);
    // Tells the device that queue `index` has new buffers.
    void notify(uint16_t index);

    void ready();  // DRIVER_OK: the device may use the queues
    void fail();   // FAILED: the driver gives the device up

    // The interrupt status (bit 0: a queue was used, bit 1: the
    // configuration changed). Reading it lowers the interrupt line.
    uint8_t interrupt_status() { return *isr_; }

    // The device-specific configuration block, and its generation: a value
    // read across several fields is consistent if the generation was the
    // same before and after.
    volatile uint8_t* device_config() const { return device_; }
    uint8_t config_generation() const;

    const char* who() const { return who_; }

    static constexpr uint16_t kMaxQueues = 4;

private:
    struct CommonConfig;
    uintptr_t map_range(uint8_t bar, uint32_t offset, uint32_t length);

    const char* who_;
    volatile CommonConfig* common_ = nullptr;
    volatile uint8_t* notify_base_ = nullptr;
    uint32_t notify_multiplier_ = 0, notify_length_ = 0;
    volatile uint8_t* isr_ = nullptr;
    volatile uint8_t* device_ = nullptr;
    volatile uint16_t* doorbells_[kMaxQueues] = {};
    uint8_t config_[256];  // the configuration space: the BARs' in-page offsets
};

}  // namespace virtio
