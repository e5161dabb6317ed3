// virtio-blk: the driver for QEMU's virtio block device (virtio 1.x, the
// "modern" PCI transport), serving raw sectors as `disk:`.
//
// Everything it can touch comes from init, which claimed the device from
// the PCI server for it (startup slots, abi/mica/startup.h): kSlotBar0 + n
// the device's BARs (device memory), kSlotDeviceConfig a copy of its
// configuration space (where the virtio capabilities say which BAR holds
// which register block), kSlotResource0 physically contiguous memory for
// the rings and buffers (its address is `dma=` on our command line; init
// keeps it across our incarnations, so a device still finishing a request of
// a dead incarnation writes only there), and the device's interrupt line
// (kSlotIrq) arriving as a notification on our endpoint.
//
// Requests are asynchronous: a request takes one of kSlots slots (its own
// descriptors, header, status byte and data buffer), is put on the ring, and
// its reply is saved; the interrupt completes it. A driver that crashes or
// is killed loses only the requests in flight, and those the file server
// repeats to the next incarnation (every disk request is idempotent). The
// new incarnation resets the device first, which stops any DMA the old one
// had started.
#include "mica/clients.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/disk.h"

using namespace mica;

namespace {

// --- the virtio PCI transport -----------------------------------------------------

enum CapType : uint8_t { kCommon = 1, kNotify = 2, kIsr = 3, kDevice = 4 };

// The common configuration block (virtio 1.x, 4.1.4.3).
struct CommonConfig {
    uint32_t device_feature_select, device_feature, driver_feature_select, driver_feature;
    uint16_t msix_config, num_queues;
    uint8_t device_status, config_generation;
    uint16_t queue_select, queue_size, queue_msix_vector, queue_enable, queue_notify_off;
    uint32_t queue_desc_lo, queue_desc_hi, queue_driver_lo, queue_driver_hi, queue_device_lo, queue_device_hi;
};

enum Status : uint8_t { kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128 };
constexpr uint32_t kFeatureFlush = 1u << 9;      // VIRTIO_BLK_F_FLUSH (low word)
constexpr uint32_t kFeatureReadOnly = 1u << 5;   // VIRTIO_BLK_F_RO
constexpr uint32_t kFeatureVersion1 = 1u << 0;   // VIRTIO_F_VERSION_1 (bit 32: high word)

struct Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags, next;
};
enum DescriptorFlags : uint16_t { kNext = 1, kDeviceWrites = 2 };

constexpr uint16_t kQueueSize = 32;
struct Available {
    uint16_t flags, index;
    uint16_t ring[kQueueSize];
};
struct UsedElement {
    uint32_t id, length;
};
struct Used {
    uint16_t flags, index;
    UsedElement ring[kQueueSize];
};

struct RequestHeader {
    uint32_t type;  // 0 read, 1 write, 4 flush
    uint32_t reserved;
    uint64_t sector;
};
enum RequestType : uint32_t { kIn = 0, kOut = 1, kFlush = 4 };

volatile CommonConfig* g_common;
volatile uint16_t* g_notify;
volatile uint8_t* g_isr;
volatile uint32_t* g_device_config;
uint32_t g_notify_multiplier;
uint64_t g_sectors;
bool g_read_only, g_can_flush;

void barrier() { asm volatile("" ::: "memory"); }

// --- DMA memory: the ring and one area per slot ------------------------------------

constexpr uint32_t kSlots = 8;
constexpr uint32_t kDataBytes = proto::disk::kMaxSectors * proto::disk::kSectorSize;

struct Slot {
    bool busy;
    uint64_t badge;  // whose request
    uint32_t type;
    uint32_t count;
    Handle reply;  // the saved reply of the request it serves
    RequestHeader* header;
    uint8_t* status;
    uint8_t* data;
    uint64_t header_phys, status_phys, data_phys;
};
Slot g_slots[kSlots];

Descriptor* g_descriptors;
volatile Available* g_available;
volatile Used* g_used;
uint16_t g_used_seen = 0;
uint16_t g_queue_size;  // as set up (not read back from the device on every request)

// Layout: page 0 the ring (descriptors, available, used); page 1 the slots'
// headers and status bytes; then a data buffer per slot.
bool make_rings(Handle memory) {
    const size_t size = 2 * kPageSize + kSlots * kDataBytes;
    char text[24];
    uint64_t phys = cmdline_value("dma", text, sizeof text) ? Words::parse(text) : 0;
    uintptr_t at = reserve_address_range(size);
    if (!phys || sys::vm_map(startup().self_process, at, memory, 0, size, kVmRead | kVmWrite) != kOk) {
        logf("virtio-blk: no DMA memory of %lu KiB (dma= in the manifest)", size >> 10);
        return false;
    }
    memset(reinterpret_cast<void*>(at), 0, size);
    g_descriptors = reinterpret_cast<Descriptor*>(at);
    g_available = reinterpret_cast<volatile Available*>(at + 1024);
    g_used = reinterpret_cast<volatile Used*>(at + 2048);
    for (uint32_t i = 0; i < kSlots; ++i) {
        Slot& s = g_slots[i];
        s.header = reinterpret_cast<RequestHeader*>(at + kPageSize + 32 * i);
        s.status = reinterpret_cast<uint8_t*>(at + kPageSize + 32 * i + 16);
        s.data = reinterpret_cast<uint8_t*>(at + 2 * kPageSize + i * kDataBytes);
        s.header_phys = phys + kPageSize + 32 * i;
        s.status_phys = s.header_phys + 16;
        s.data_phys = phys + 2 * kPageSize + i * kDataBytes;
    }
    return true;
}

// --- finding the register blocks -----------------------------------------------------

struct Capability {
    uint8_t bar;
    uint32_t offset, length, multiplier;
    bool found;
};

uintptr_t map_bar_range(uint8_t bar, uint32_t bar_page_offset, uint32_t offset, uint32_t length) {
    const StartupInfo& info = startup();
    if (bar >= 6 || startup_handle(static_cast<StartupSlot>(kSlotBar0 + bar)) == kNoHandle) return 0;
    uint64_t start = (bar_page_offset + offset) & ~(kPageSize - 1);
    uint64_t end = (bar_page_offset + offset + length + kPageSize - 1) & ~(kPageSize - 1);
    uintptr_t at = reserve_address_range(end - start);
    if (sys::vm_map(info.self_process, at, startup_handle(static_cast<StartupSlot>(kSlotBar0 + bar)), start, end - start, kVmRead | kVmWrite) != kOk)
        return 0;
    return at + ((bar_page_offset + offset) - start);
}

bool find_registers() {
    if (startup_handle(kSlotDeviceConfig) == kNoHandle) {
        logf("virtio-blk: started without a device (no device= in the manifest?)");
        return false;
    }
    uint8_t config[256];
    if (sys::memory_read(startup_handle(kSlotDeviceConfig), 0, config, sizeof config) != kOk) return false;
    auto u32 = [&](uint32_t at) {
        uint32_t v;
        memcpy(&v, config + at, 4);
        return v;
    };
    if (!(config[6] & 0x10)) {
        logf("virtio-blk: the device has no capability list (not a virtio 1.x device)");
        return false;
    }
    Capability caps[5] = {};
    uint32_t at = config[0x34] & 0xfc;
    for (int guard = 0; at >= 0x40 && at <= 0xf0 && guard < 48; ++guard) {
        if (config[at] == 0x09 && at + 16 <= 0xfc) {  // vendor-specific: a virtio structure
            uint8_t type = config[at + 3];
            if (type >= kCommon && type <= kDevice && !caps[type].found)
                caps[type] = Capability{config[at + 4], u32(at + 8), u32(at + 12),
                                        type == kNotify && at + 20 <= 0x100 ? u32(at + 16) : 0, true};
        }
        at = config[at + 1] & 0xfc;
    }
    for (uint8_t t = kCommon; t <= kDevice; ++t) {
        if (!caps[t].found) {
            logf("virtio-blk: virtio structure %u missing", t);
            return false;
        }
    }
    auto bar_offset = [&](uint8_t bar) { return bar < 6 ? u32(0x10 + 4 * bar) & 0xff0 : 0; };
    auto map = [&](uint8_t type) {
        const Capability& c = caps[type];
        return map_bar_range(c.bar, bar_offset(c.bar), c.offset, c.length ? c.length : 4);
    };
    uintptr_t common = map(kCommon), notify = map(kNotify), isr = map(kIsr), device = map(kDevice);
    if (!common || !notify || !isr || !device) {
        logf("virtio-blk: cannot map the device's registers");
        return false;
    }
    g_common = reinterpret_cast<volatile CommonConfig*>(common);
    g_isr = reinterpret_cast<volatile uint8_t*>(isr);
    g_device_config = reinterpret_cast<volatile uint32_t*>(device);
    // The doorbells; queue 0's offset among them is known once it is selected.
    g_notify = reinterpret_cast<volatile uint16_t*>(notify);
    g_notify_multiplier = caps[kNotify].multiplier;
    return true;
}

// The device initialisation sequence (virtio 1.x, 3.1.1).
bool set_up_device() {
    volatile CommonConfig& c = *g_common;
    c.device_status = 0;  // reset: also stops whatever a previous incarnation started
    for (int i = 0; i < 1'000'000 && c.device_status != 0; ++i) {
    }
    c.device_status = kAcknowledge;
    c.device_status = kAcknowledge | kDriver;
    c.device_feature_select = 0;
    uint32_t low = c.device_feature;
    c.device_feature_select = 1;
    uint32_t high = c.device_feature;
    if (!(high & kFeatureVersion1)) {
        logf("virtio-blk: the device does not offer VIRTIO_F_VERSION_1");
        c.device_status = kFailed;
        return false;
    }
    g_can_flush = low & kFeatureFlush;
    g_read_only = low & kFeatureReadOnly;
    c.driver_feature_select = 0;
    c.driver_feature = low & (kFeatureFlush | kFeatureReadOnly);
    c.driver_feature_select = 1;
    c.driver_feature = kFeatureVersion1;
    c.device_status = kAcknowledge | kDriver | kFeaturesOk;
    if (!(c.device_status & kFeaturesOk)) {
        logf("virtio-blk: the device refused our features");
        c.device_status = kFailed;
        return false;
    }
    if (!make_rings(startup_handle(kSlotResource0))) {
        c.device_status = kFailed;
        return false;
    }
    c.queue_select = 0;
    uint16_t max = c.queue_size;
    if (max < 3 * kSlots) {
        logf("virtio-blk: the device's request queue is too small (%u)", max);
        c.device_status = kFailed;
        return false;
    }
    g_queue_size = max < kQueueSize ? max : kQueueSize;
    c.queue_size = g_queue_size;
    // The ring parts' physical addresses: the ring is the DMA area's first page.
    uint64_t base = g_slots[0].header_phys - kPageSize;
    c.queue_desc_lo = static_cast<uint32_t>(base);
    c.queue_desc_hi = static_cast<uint32_t>(base >> 32);
    c.queue_driver_lo = static_cast<uint32_t>(base + 1024);
    c.queue_driver_hi = static_cast<uint32_t>((base + 1024) >> 32);
    c.queue_device_lo = static_cast<uint32_t>(base + 2048);
    c.queue_device_hi = static_cast<uint32_t>((base + 2048) >> 32);
    c.queue_msix_vector = 0xffff;  // no MSI-X: the legacy interrupt line
    g_notify = reinterpret_cast<volatile uint16_t*>(reinterpret_cast<uintptr_t>(g_notify) +
                                                     static_cast<uintptr_t>(c.queue_notify_off) * g_notify_multiplier);
    c.queue_enable = 1;
    c.device_status = kAcknowledge | kDriver | kFeaturesOk | kDriverOk;
    g_sectors = g_device_config[0] | static_cast<uint64_t>(g_device_config[1]) << 32;
    return true;
}


// --- requests --------------------------------------------------------------------------

void submit(uint32_t index) {
    Slot& s = g_slots[index];
    uint16_t first = static_cast<uint16_t>(3 * index);
    Descriptor* d = g_descriptors;
    d[first] = Descriptor{s.header_phys, sizeof(RequestHeader), kNext, static_cast<uint16_t>(first + 1)};
    if (s.type == kFlush) {
        d[first].next = static_cast<uint16_t>(first + 2);
    } else {
        uint16_t flags = kNext | (s.type == kIn ? kDeviceWrites : 0);
        d[first + 1] = Descriptor{s.data_phys, s.count * proto::disk::kSectorSize, flags, static_cast<uint16_t>(first + 2)};
    }
    d[first + 2] = Descriptor{s.status_phys, 1, kDeviceWrites, 0};
    *s.status = 0xff;
    uint16_t avail = g_available->index;
    g_available->ring[avail % g_queue_size] = first;
    barrier();
    g_available->index = static_cast<uint16_t>(avail + 1);
    barrier();
    *g_notify = 0;
}

void complete(Slot& s) {
    s.busy = false;
    int64_t status = *s.status == 0 ? kOk : kErrIo;
    if (s.type == kIn) {
        // The data goes back from the DMA buffer; the reply is as long as it is.
        static proto::disk::Read::Reply r;
        r.count = status == kOk ? s.count : 0;
        if (status == kOk) memcpy(r.data, s.data, s.count * proto::disk::kSectorSize);
        rpc::reply_later<proto::disk::Read>(s.reply, status, r,
                                            proto::disk::Read::kMinReply + r.count * proto::disk::kSectorSize);
    } else if (s.type == kOut) {
        rpc::crash_point();  // done on the device, not yet answered
        proto::disk::Write::Reply r{status == kOk ? s.count : 0};
        rpc::reply_later<proto::disk::Write>(s.reply, status, r);
    } else {
        rpc::crash_point();
        proto::disk::Flush::Reply r{};
        rpc::reply_later<proto::disk::Flush>(s.reply, status, r);
    }
    sys::handle_close(s.reply);
}

// Completes every request the device has finished.
void reap() {
    barrier();
    while (g_used_seen != g_used->index) {
        uint32_t head = g_used->ring[g_used_seen % g_queue_size].id;
        ++g_used_seen;
        if (head % 3 == 0 && head / 3 < kSlots && g_slots[head / 3].busy) complete(g_slots[head / 3]);
        barrier();
    }
}

void on_interrupt(uint64_t) {
    (void)*g_isr;  // reading the ISR status lowers the interrupt line
    reap();
    sys::irq_ack(startup_handle(kSlotIrq));
}

// A free slot; when all are busy, waits for the device to finish one.
int free_slot() {
    for (int spins = 0;; ++spins) {
        for (uint32_t i = 0; i < kSlots; ++i)
            if (!g_slots[i].busy) return static_cast<int>(i);
        reap();
        if (spins > 1000) sys::thread_yield();
    }
}

// One client's requests in flight take at most this many of the slots, so
// that another always finds one; past it, kErrLimit.
constexpr uint32_t kSlotsPerClient = kSlots - 2;

int64_t admit(const rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    uint32_t mine = 0;
    for (const Slot& s : g_slots) mine += s.busy && s.badge == c.badge;
    return mine >= kSlotsPerClient ? kErrLimit : kOk;
}

bool in_range(uint64_t sector, uint32_t count) {
    return count > 0 && count <= proto::disk::kMaxSectors && sector < g_sectors && count <= g_sectors - sector;
}

int64_t start(uint32_t type, uint64_t sector, uint32_t count, const void* data, rpc::Call& c) {
    int index = free_slot();
    Slot& s = g_slots[index];
    s.type = type, s.count = count, s.badge = c.badge;
    *s.header = RequestHeader{type, 0, sector};
    if (type == kOut) memcpy(s.data, data, count * proto::disk::kSectorSize);
    auto saved = c.defer();
    if (!saved.ok()) return saved.error();  // the slot stays free
    s.reply = saved.value();
    s.busy = true;
    submit(static_cast<uint32_t>(index));
    return kOk;
}

int64_t info(const proto::disk::Info::Request&, proto::disk::Info::Reply& r, rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    r.sectors = g_sectors;
    r.sector_size = proto::disk::kSectorSize;
    r.read_only = g_read_only;
    copy_string(r.model, sizeof r.model, "virtio-blk");
    return kOk;
}

int64_t read(const proto::disk::Read::Request& q, proto::disk::Read::Reply&, rpc::Call& c) {
    if (int64_t e = admit(c)) return e;
    if (!in_range(q.sector, q.count)) return kErrOutOfRange;
    return start(kIn, q.sector, q.count, nullptr, c);
}

int64_t write(const proto::disk::Write::Request& q, proto::disk::Write::Reply&, rpc::Call& c) {
    if (int64_t e = admit(c)) return e;
    if (!in_range(q.sector, q.count)) return kErrOutOfRange;
    if (c.request_size < proto::disk::Write::kMinRequest + q.count * proto::disk::kSectorSize)
        return kErrInvalidArgument;  // fewer bytes than it says
    if (g_read_only) return kErrReadOnly;
    return start(kOut, q.sector, q.count, q.data, c);
}

int64_t flush(const proto::disk::Flush::Request&, proto::disk::Flush::Reply&, rpc::Call& c) {
    if (int64_t e = admit(c)) return e;
    if (!g_can_flush) return kOk;  // no volatile cache to flush
    return start(kFlush, 0, 0, nullptr, c);
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("virtio_blk");
    if (!find_registers() || !set_up_device()) return 1;
    logf("virtio-blk: %lu sectors (%lu MiB)%s%s", g_sectors, g_sectors / 2048, g_read_only ? ", read-only" : "",
         g_can_flush ? ", write cache flushed on request" : "");
    rpc::Server server(endpoint);
    server.on<proto::disk::Info>(info);
    server.on<proto::disk::Read>(read);
    server.on<proto::disk::Write>(write);
    server.on<proto::disk::Flush>(flush);
    server.on_notification(on_interrupt);
    server.run();
}
