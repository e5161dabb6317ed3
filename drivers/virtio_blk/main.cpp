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
//
// The virtio PCI transport, the queue and the DMA memory are drivers/virtio's
// (shared with virtio-net); what is here is the block device's own.
#include "mica/clients.h"
#include "mica/log.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/disk.h"
#include "virtio/dma.h"
#include "virtio/queue.h"
#include "virtio/transport.h"

using namespace mica;

namespace {

constexpr uint64_t kFeatureFlush = 1u << 9;     // VIRTIO_BLK_F_FLUSH
constexpr uint64_t kFeatureReadOnly = 1u << 5;  // VIRTIO_BLK_F_RO

struct RequestHeader {
    uint32_t type;  // 0 read, 1 write, 4 flush
    uint32_t reserved;
    uint64_t sector;
};
enum RequestType : uint32_t { kIn = 0, kOut = 1, kFlush = 4 };

virtio::Transport g_device("virtio-blk");
virtio::Queue g_queue;
uint64_t g_sectors;
bool g_read_only, g_can_flush;

// --- DMA memory: the queue and one area per slot -----------------------------------

constexpr uint32_t kSlots = 8;
constexpr uint32_t kDataBytes = proto::disk::kMaxSectors * proto::disk::kSectorSize;
constexpr uint16_t kQueueSize = 32;  // at most; 3 descriptors a slot
static_assert(virtio::Queue::bytes(kQueueSize) <= kPageSize);

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

// Layout: page 0 the queue; then per slot a page that starts with its
// header and status byte, and its data buffer. A read is answered from the
// buffer itself: the reply's fixed part is written in the last bytes of the
// page before it, so the data is not copied into a reply first, and goes
// out page-aligned (the kernel copies it to the file server in whole pages).
constexpr size_t kSlotBytes = kPageSize + kDataBytes;
constexpr size_t kDmaBytes = kPageSize + kSlots * kSlotBytes;  // dma=292 in the manifest
constexpr uint32_t kReadHead = proto::disk::Read::kMinReply;
static_assert(kReadHead == offsetof(proto::disk::Read::Reply, data) && kReadHead <= kPageSize - 32 &&
              sizeof(proto::disk::Read::Reply::data) == kDataBytes);

void lay_out_slots(const virtio::DmaMemory& dma) {
    for (uint32_t i = 0; i < kSlots; ++i) {
        Slot& s = g_slots[i];
        size_t at = kPageSize + i * kSlotBytes;
        s.header = reinterpret_cast<RequestHeader*>(dma.at + at);
        s.status = dma.at + at + 16;
        s.data = dma.at + at + kPageSize;
        s.header_phys = dma.phys + at;
        s.status_phys = s.header_phys + 16;
        s.data_phys = dma.phys + at + kPageSize;
    }
}

// The device initialisation sequence (virtio 1.x, 3.1.1).
bool set_up_device() {
    uint64_t features;
    if (!g_device.negotiate(kFeatureFlush | kFeatureReadOnly, &features)) return false;
    g_can_flush = features & kFeatureFlush;
    g_read_only = features & kFeatureReadOnly;
    virtio::DmaMemory dma;
    if (!virtio::map_dma("virtio-blk", kDmaBytes, &dma)) {
        g_device.fail();
        return false;
    }
    lay_out_slots(dma);
    uint16_t max = g_device.queue_max(0);
    if (max < 3 * kSlots) {
        logf("virtio-blk: the device's request queue is too small (%u)", max);
        g_device.fail();
        return false;
    }
    if (!g_queue.set_up(g_device, 0, max < kQueueSize ? max : kQueueSize, dma.at, dma.phys)) {
        g_device.fail();
        return false;
    }
    g_device.ready();
    volatile uint8_t* config = g_device.device_config();
    g_sectors = *reinterpret_cast<volatile uint32_t*>(config) |
                static_cast<uint64_t>(*reinterpret_cast<volatile uint32_t*>(config + 4)) << 32;
    return true;
}

// --- requests --------------------------------------------------------------------------

void submit(uint32_t index) {
    Slot& s = g_slots[index];
    auto first = static_cast<uint16_t>(3 * index);
    auto next = [&](uint16_t i) { return static_cast<uint16_t>(first + i); };
    g_queue.descriptor(first) = virtio::Descriptor{s.header_phys, sizeof(RequestHeader), virtio::kNext, next(1)};
    if (s.type == kFlush) {
        g_queue.descriptor(first).next = next(2);
    } else {
        uint16_t flags = virtio::kNext | (s.type == kIn ? virtio::kDeviceWrites : 0);
        g_queue.descriptor(next(1)) =
            virtio::Descriptor{s.data_phys, s.count * proto::disk::kSectorSize, flags, next(2)};
    }
    g_queue.descriptor(next(2)) = virtio::Descriptor{s.status_phys, 1, virtio::kDeviceWrites, 0};
    *s.status = 0xff;
    g_queue.offer(first);
    g_queue.notify();
}

void complete(Slot& s) {
    s.busy = false;
    int64_t status = *s.status == 0 ? kOk : kErrIo;
    if (s.type == kIn) {
        // The data goes back from the DMA buffer, the reply's fixed part
        // before it (see lay_out_slots); the reply is as long as the data.
        proto::disk::Read::Reply head;  // its fixed part only
        head.count = status == kOk ? s.count : 0, head.reserved = 0;
        memcpy(s.data - kReadHead, &head, kReadHead);
        const auto& r = *reinterpret_cast<const proto::disk::Read::Reply*>(s.data - kReadHead);
        rpc::reply_later<proto::disk::Read>(s.reply, status, r, kReadHead + head.count * proto::disk::kSectorSize);
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
    uint32_t head, written;
    while (g_queue.take_used(&head, &written))
        if (head % 3 == 0 && head / 3 < kSlots && g_slots[head / 3].busy) complete(g_slots[head / 3]);
}

void on_interrupt(uint64_t) {
    g_device.interrupt_status();  // reading it lowers the interrupt line
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
    if (!g_device.find_registers() || !set_up_device()) return 1;
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
