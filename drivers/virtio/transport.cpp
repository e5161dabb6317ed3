// The virtio 1.x PCI transport: finding and mapping the register blocks,
// the initialisation sequence (virtio 1.x, 3.1.1), queue set-up and
// doorbells. See virtio/transport.h.
#include "virtio/transport.h"

#include "mica/log.h"
#include "mica/process.h"
#include "mica/runtime.h"
#include "mica/strings.h"

using namespace mica;

namespace virtio {

// The common configuration block (virtio 1.x, 4.1.4.3).
struct Transport::CommonConfig {
    uint32_t device_feature_select, device_feature, driver_feature_select, driver_feature;
    uint16_t msix_config, num_queues;
    uint8_t device_status, config_generation;
    uint16_t queue_select, queue_size, queue_msix_vector, queue_enable, queue_notify_off;
    uint32_t queue_desc_lo, queue_desc_hi, queue_driver_lo, queue_driver_hi, queue_device_lo, queue_device_hi;
};

namespace {

enum CapType : uint8_t { kCommon = 1, kNotify = 2, kIsr = 3, kDevice = 4 };
enum Status : uint8_t { kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128 };
constexpr uint16_t kNoVector = 0xffff;  // no MSI-X: the legacy interrupt line

struct Capability {
    uint8_t bar;
    uint32_t offset, length, multiplier;
    bool found;
};

uint32_t u32_at(const uint8_t* config, uint32_t at) {
    uint32_t v;
    memcpy(&v, config + at, 4);
    return v;
}

uint32_t low(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t high(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

}  // namespace

// [offset, offset + length) of BAR `bar`, mapped; 0 if it cannot be. The
// memory object starts at the BAR's page, so its offset within the page
// (the configuration space says) is added.
uintptr_t Transport::map_range(uint8_t bar, uint32_t offset, uint32_t length) {
    Handle memory = bar < 6 ? startup_handle(static_cast<StartupSlot>(kSlotBar0 + bar)) : kNoHandle;
    if (memory == kNoHandle) return 0;
    uint64_t in_page = u32_at(config_, 0x10 + 4 * bar) & 0xff0;
    uint64_t start = (in_page + offset) & ~(kPageSize - 1);
    uint64_t end = (in_page + offset + length + kPageSize - 1) & ~(kPageSize - 1);
    uintptr_t at = reserve_address_range(end - start);
    if (sys::vm_map(startup().self_process, at, memory, start, end - start, kVmRead | kVmWrite) != kOk) return 0;
    return at + (in_page + offset - start);
}

bool Transport::find_registers() {
    if (startup_handle(kSlotDeviceConfig) == kNoHandle) {
        logf("%s: started without a device (no device= in the manifest?)", who_);
        return false;
    }
    if (sys::memory_read(startup_handle(kSlotDeviceConfig), 0, config_, sizeof config_) != kOk) return false;
    if (!(config_[6] & 0x10)) {
        logf("%s: the device has no capability list (not a virtio 1.x device)", who_);
        return false;
    }
    Capability caps[5] = {};
    uint32_t at = config_[0x34] & 0xfc;
    for (int guard = 0; at >= 0x40 && at <= 0xf0 && guard < 48; ++guard) {
        if (config_[at] == 0x09 && at + 16 <= 0xfc) {  // vendor-specific: a virtio structure
            uint8_t type = config_[at + 3];
            if (type >= kCommon && type <= kDevice && !caps[type].found)
                caps[type] = Capability{config_[at + 4], u32_at(config_, at + 8), u32_at(config_, at + 12),
                                        type == kNotify && at + 20 <= 0x100 ? u32_at(config_, at + 16) : 0, true};
        }
        at = config_[at + 1] & 0xfc;
    }
    for (uint8_t t = kCommon; t <= kDevice; ++t) {
        if (!caps[t].found) {
            logf("%s: virtio structure %u missing", who_, t);
            return false;
        }
    }
    auto map = [&](uint8_t type) {
        const Capability& c = caps[type];
        return map_range(c.bar, c.offset, c.length ? c.length : 4);
    };
    uintptr_t common = map(kCommon), notify = map(kNotify), isr = map(kIsr), device = map(kDevice);
    if (!common || !notify || !isr || !device) {
        logf("%s: cannot map the device's registers", who_);
        return false;
    }
    common_ = reinterpret_cast<volatile CommonConfig*>(common);
    notify_base_ = reinterpret_cast<volatile uint8_t*>(notify);
    notify_multiplier_ = caps[kNotify].multiplier;
    notify_length_ = caps[kNotify].length ? caps[kNotify].length : 4;
    isr_ = reinterpret_cast<volatile uint8_t*>(isr);
    device_ = reinterpret_cast<volatile uint8_t*>(device);
    return true;
}

bool Transport::negotiate(uint64_t wanted, uint64_t* agreed) {
    volatile CommonConfig& c = *common_;
    c.device_status = 0;  // reset: also stops whatever a previous incarnation started
    for (int i = 0; i < 1'000'000 && c.device_status != 0; ++i) {
    }
    c.device_status = kAcknowledge;
    c.device_status = kAcknowledge | kDriver;
    c.device_feature_select = 0;
    uint64_t offered = c.device_feature;
    c.device_feature_select = 1;
    offered |= static_cast<uint64_t>(c.device_feature) << 32;
    if (!(offered & kFeatureVersion1)) {
        logf("%s: the device does not offer VIRTIO_F_VERSION_1", who_);
        fail();
        return false;
    }
    *agreed = offered & (wanted | kFeatureVersion1);
    c.driver_feature_select = 0;
    c.driver_feature = low(*agreed);
    c.driver_feature_select = 1;
    c.driver_feature = high(*agreed);
    c.device_status = kAcknowledge | kDriver | kFeaturesOk;
    if (!(c.device_status & kFeaturesOk)) {
        logf("%s: the device refused our features", who_);
        fail();
        return false;
    }
    return true;
}

uint16_t Transport::queue_max(uint16_t index) {
    common_->queue_select = index;
    return common_->queue_size;
}

bool Transport::set_up_queue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver_ring,
                             uint64_t device_ring) {
    if (index >= kMaxQueues) return false;
    volatile CommonConfig& c = *common_;
    c.queue_select = index;
    c.queue_size = size;
    c.queue_desc_lo = low(descriptors);
    c.queue_desc_hi = high(descriptors);
    c.queue_driver_lo = low(driver_ring);
    c.queue_driver_hi = high(driver_ring);
    c.queue_device_lo = low(device_ring);
    c.queue_device_hi = high(device_ring);
    c.queue_msix_vector = kNoVector;
    uint64_t doorbell = static_cast<uint64_t>(c.queue_notify_off) * notify_multiplier_;
    if (doorbell + 2 > notify_length_) {
        logf("%s: queue %u's doorbell lies outside the notification block", who_, index);
        return false;
    }
    doorbells_[index] = reinterpret_cast<volatile uint16_t*>(notify_base_ + doorbell);
    c.queue_enable = 1;
    return true;
}

void Transport::notify(uint16_t index) {
    if (index < kMaxQueues && doorbells_[index]) *doorbells_[index] = index;
}

void Transport::ready() { common_->device_status = kAcknowledge | kDriver | kFeaturesOk | kDriverOk; }

void Transport::fail() { common_->device_status = kFailed; }

uint8_t Transport::config_generation() const { return common_->config_generation; }

}  // namespace virtio
