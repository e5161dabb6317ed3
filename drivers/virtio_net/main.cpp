// virtio-net: the driver for QEMU's virtio network card (virtio 1.x, the
// modern PCI transport: -device virtio-net-pci,disable-legacy=on), serving
// Ethernet frames as `netdev:` (proto/netdev.h).
//
// Like virtio-blk it touches only what init claimed for it: the device's
// BARs and configuration space, its interrupt line (arriving on our
// endpoint), and DMA memory init keeps across our incarnations (dma=), so
// that a device still writing a received frame for a dead incarnation
// writes there and nowhere else; the new incarnation resets the device
// first. The transport, the queues and the DMA memory are drivers/virtio's.
//
// Features: VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC and VIRTIO_NET_F_STATUS
// only. No offloads and no merged receive buffers, so every frame in either
// direction is one buffer: the 12-byte virtio-net header, then the frame.
// Queue 0 receives, queue 1 transmits; each has kBuffers buffers in DMA
// memory, one descriptor each, so a descriptor's index names its buffer.
// All receive buffers stay offered to the device; a frame it fills is copied
// to the stack's receive ring (or dropped when that is full: the device
// never waits for the stack) and the buffer offered again at once.
// Transmit slots the stack filled are copied into free transmit buffers on
// Kick, and on the interrupt that frees buffers, as long as there are some.
//
// The frames memory is the stack's: it can change any byte of it at any
// moment. Every length and index is read once, checked, and only the copy
// is used; the driver keeps its own copies of the indices it produces (the
// receive ring's head, the transmit ring's tail) and never trusts the ones
// read back.
#include "mica/clients.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/netdev.h"
#include "virtio/dma.h"
#include "virtio/queue.h"
#include "virtio/transport.h"

using namespace mica;
namespace netdev = proto::netdev;

namespace {

constexpr uint64_t kFeatureMac = 1ULL << 5;      // VIRTIO_NET_F_MAC: the configuration holds the MAC
constexpr uint64_t kFeatureStatus = 1ULL << 16;  // VIRTIO_NET_F_STATUS: ... and the link state
constexpr uint16_t kLinkUp = 1;                  // VIRTIO_NET_S_LINK_UP
constexpr uint32_t kMtu = 1500;

// Before every frame, both ways (virtio 1.x, 5.1.6). Zero on transmit: no
// checksum to fill in, no segmentation.
struct NetHeader {
    uint8_t flags, gso_type;
    uint16_t header_length, gso_size, checksum_start, checksum_offset, buffers;
};
static_assert(sizeof(NetHeader) == 12);

constexpr uint16_t kReceiveQueue = 0, kTransmitQueue = 1;
constexpr uint16_t kBuffers = 32;  // per direction, and each queue's size
constexpr uint32_t kBufferBytes = 2048;
static_assert(sizeof(NetHeader) + netdev::kMaxFrame <= kBufferBytes);
static_assert(virtio::Queue::bytes(kBuffers) <= kPageSize);

// DMA memory: page 0 the receive queue, page 1 the transmit queue, then the
// receive buffers, then the transmit buffers (dma=136 in the manifest).
constexpr size_t kDmaBytes = 2 * kPageSize + 2 * kBuffers * kBufferBytes;

virtio::Transport g_device("virtio-net");
virtio::Queue g_receive, g_transmit;
virtio::DmaMemory g_dma;
uint8_t g_mac[6];
bool g_has_status;
netdev::Counters g_counters;

uint64_t buffer_offset(uint16_t queue, uint16_t i) {
    return 2 * kPageSize + (queue * kBuffers + i) * kBufferBytes;
}

// A transmit buffer the device has (busy) and the frame length it holds.
struct Sending {
    bool busy;
    uint32_t length;
};
Sending g_sending[kBuffers];

// --- the stack's frames memory ---------------------------------------------------------

struct Attachment {
    netdev::Frames* frames = nullptr;  // mapped at one of g_windows while attached
    Handle memory = kNoHandle;
    uint32_t receive_head = 0;   // ours to produce
    uint32_t transmit_tail = 0;  // ours to consume
    bool moved = false;          // frames received or transmit room freed since the last wake-up
};
Attachment g_attached;
// Where frames memory is mapped: a new attachment in the window the current
// one does not use, so that one that cannot be mapped leaves it in place.
uintptr_t g_windows[2];

Handle g_wake = kNoHandle;
uint64_t g_wake_bits;

uint32_t load(const volatile uint32_t& at) { return __atomic_load_n(&at, __ATOMIC_ACQUIRE); }
void store(volatile uint32_t& at, uint32_t value) { __atomic_store_n(&at, value, __ATOMIC_RELEASE); }

void detach() {
    if (!g_attached.frames) return;
    sys::vm_unmap(startup().self_process, reinterpret_cast<uintptr_t>(g_attached.frames), netdev::kFramesBytes);
    sys::handle_close(g_attached.memory);
    g_attached = Attachment{};
}

// Tells the stack, if it asked (Wake), that frames moved.
void wake_stack() {
    if (!g_attached.moved) return;
    g_attached.moved = false;
    if (g_wake != kNoHandle) sys::notification_signal(g_wake, g_wake_bits);
}

// --- the device ----------------------------------------------------------------------------

bool link_up() {
    if (!g_has_status) return true;  // a device that cannot tell is always up
    volatile uint8_t* config = g_device.device_config();
    return (config[6] | config[7] << 8) & kLinkUp;
}

void read_mac() {
    volatile uint8_t* config = g_device.device_config();
    uint8_t generation;
    do {
        generation = g_device.config_generation();
        for (int i = 0; i < 6; ++i) g_mac[i] = config[i];
    } while (generation != g_device.config_generation());
}

void offer_receive_buffer(uint16_t i) {
    g_receive.descriptor(i) =
        virtio::Descriptor{g_dma.phys + buffer_offset(kReceiveQueue, i), kBufferBytes, virtio::kDeviceWrites, 0};
    g_receive.offer(i);
}

// The device initialisation sequence (virtio 1.x, 3.1.1), every receive
// buffer offered.
bool set_up_device() {
    uint64_t features;
    if (!g_device.negotiate(kFeatureMac | kFeatureStatus, &features)) return false;
    if (!(features & kFeatureMac)) {
        logf("virtio-net: the device has no MAC address of its own (VIRTIO_NET_F_MAC)");
        g_device.fail();
        return false;
    }
    g_has_status = features & kFeatureStatus;
    if (!virtio::map_dma("virtio-net", kDmaBytes, &g_dma) ||
        !g_receive.set_up(g_device, kReceiveQueue, kBuffers, g_dma.at, g_dma.phys) ||
        !g_transmit.set_up(g_device, kTransmitQueue, kBuffers, g_dma.at + kPageSize, g_dma.phys + kPageSize)) {
        g_device.fail();
        return false;
    }
    for (uint16_t i = 0; i < kBuffers; ++i) offer_receive_buffer(i);
    g_device.ready();
    g_receive.notify();
    read_mac();
    return true;
}

// --- receiving -------------------------------------------------------------------------------

// A frame the device wrote (`written` bytes with the header) into the
// stack's receive ring, or dropped.
void deliver(const uint8_t* buffer, uint32_t written) {
    if (written <= sizeof(NetHeader) || written - sizeof(NetHeader) > netdev::kMaxFrame) {
        ++g_counters.dropped;  // a frame no device should give
        return;
    }
    uint32_t length = written - static_cast<uint32_t>(sizeof(NetHeader));
    netdev::Frames* f = g_attached.frames;
    if (!f) {
        ++g_counters.dropped;
        return;
    }
    uint32_t queued = g_attached.receive_head - load(f->receive.tail);
    if (queued > netdev::kSlots) ++g_counters.errors;  // a tail the stack garbled: no room we can trust
    if (queued >= netdev::kSlots) {
        ++g_counters.dropped;
        return;
    }
    netdev::Slot& slot = f->receive_slots[g_attached.receive_head % netdev::kSlots];
    memcpy(slot.data, buffer + sizeof(NetHeader), length);
    slot.length = length;
    store(f->receive.head, ++g_attached.receive_head);  // after the slot (release)
    ++g_counters.received;
    g_counters.received_bytes += length;
    g_attached.moved = true;
}

void receive() {
    bool offered = false;
    uint32_t head, written;
    while (g_receive.take_used(&head, &written)) {
        if (head >= kBuffers) continue;  // not a chain we offered
        deliver(g_dma.at + buffer_offset(kReceiveQueue, static_cast<uint16_t>(head)), written);
        offer_receive_buffer(static_cast<uint16_t>(head));
        offered = true;
    }
    if (offered) g_receive.notify();
}

// --- transmitting ---------------------------------------------------------------------------

// Frees the buffers the device has sent.
void reap_transmitted() {
    uint32_t head, written;
    while (g_transmit.take_used(&head, &written)) {
        if (head >= kBuffers || !g_sending[head].busy) continue;
        g_sending[head].busy = false;
        ++g_counters.transmitted;
        g_counters.transmitted_bytes += g_sending[head].length;
    }
}

int free_transmit_buffer() {
    for (uint16_t i = 0; i < kBuffers; ++i)
        if (!g_sending[i].busy) return i;
    return -1;
}

// Moves what the stack put in its transmit ring to the device, as far as
// there are free buffers, and at most a ring's worth at a time (a stack that
// keeps filling it from another CPU does not keep us here: its next Kick
// brings us back). A slot with a bad length is skipped and counted; a head
// that runs more than the ring ahead is garbage, and the ring starts again
// from it.
void transmit() {
    netdev::Frames* f = g_attached.frames;
    if (!f) return;
    bool offered = false;
    for (uint32_t taken = 0; taken < netdev::kSlots; ++taken) {
        uint32_t head = load(f->transmit.head);
        uint32_t pending = head - g_attached.transmit_tail;
        if (pending == 0) break;
        if (pending > netdev::kSlots) {
            ++g_counters.errors;
            g_attached.transmit_tail = head;
            store(f->transmit.tail, head);
            g_attached.moved = true;
            break;
        }
        int buffer = free_transmit_buffer();
        if (buffer < 0) break;  // the device's interrupt brings us back
        const netdev::Slot& slot = f->transmit_slots[g_attached.transmit_tail % netdev::kSlots];
        uint32_t length = __atomic_load_n(&slot.length, __ATOMIC_RELAXED);  // once: the stack may change it
        if (length == 0 || length > netdev::kMaxFrame) {
            ++g_counters.errors;
        } else {
            auto i = static_cast<uint16_t>(buffer);
            uint8_t* to = g_dma.at + buffer_offset(kTransmitQueue, i);
            memset(to, 0, sizeof(NetHeader));
            memcpy(to + sizeof(NetHeader), slot.data, length);
            g_transmit.descriptor(i) = virtio::Descriptor{g_dma.phys + buffer_offset(kTransmitQueue, i),
                                                          static_cast<uint32_t>(sizeof(NetHeader)) + length, 0, 0};
            g_sending[i] = Sending{true, length};
            g_transmit.offer(i);
            offered = true;
        }
        store(f->transmit.tail, ++g_attached.transmit_tail);
        g_attached.moved = true;
    }
    if (offered) g_transmit.notify();
}

void on_interrupt(uint64_t) {
    uint8_t status = g_device.interrupt_status();  // reading it lowers the interrupt line
    if (status & 2) logf("virtio-net: link %s", link_up() ? "up" : "down");
    reap_transmitted();
    receive();
    transmit();
    wake_stack();
    sys::irq_ack(startup_handle(kSlotIrq));
}

// --- requests ---------------------------------------------------------------------------------

int64_t info(const netdev::Info::Request&, netdev::Info::Reply& r, rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    memcpy(r.mac, g_mac, sizeof r.mac);
    r.link_up = link_up();
    r.attached = g_attached.frames != nullptr;
    r.mtu = kMtu;
    r.counters = g_counters;
    copy_string(r.model, sizeof r.model, "virtio-net");
    return kOk;
}

int64_t attach(const netdev::Attach::Request&, netdev::Attach::Reply& r, rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    if (c.received_handle == kNoHandle) return kErrInvalidArgument;
    // Mapped whole or refused: too small a memory object is out_of_range,
    // one without read, write and map rights access_denied, anything else
    // wrong_type.
    uintptr_t window = reinterpret_cast<uintptr_t>(g_attached.frames) == g_windows[0] ? g_windows[1] : g_windows[0];
    if (int64_t e = sys::vm_map(startup().self_process, window, c.received_handle, 0, netdev::kFramesBytes,
                                kVmRead | kVmWrite);
        e != kOk)
        return e;
    detach();
    g_attached.memory = c.take_handle();
    g_attached.frames = reinterpret_cast<netdev::Frames*>(window);
    memcpy(r.mac, g_mac, sizeof r.mac);
    r.link_up = link_up();
    r.mtu = kMtu;
    return kOk;
}

int64_t wake(const netdev::Wake::Request& q, netdev::Wake::Reply&, rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    HandleInfo h{};
    if (q.bits == 0 || q.bits >> 63 || sys::handle_info(c.received_handle, &h) != kOk ||
        h.type != ObjectType::notification)
        return kErrInvalidArgument;
    if (!(h.rights & kRightSignal)) return kErrAccessDenied;
    if (g_wake != kNoHandle) sys::handle_close(g_wake);
    g_wake = c.take_handle();
    g_wake_bits = q.bits;
    return kOk;
}

int64_t kick(const netdev::Kick::Request&, netdev::Kick::Reply&, rpc::Call& c) {
    if (!client_allowed(c.badge)) return kErrAccessDenied;
    if (!g_attached.frames) return kErrBadState;
    reap_transmitted();
    transmit();
    wake_stack();
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("virtio_net");
    if (!g_device.find_registers() || !set_up_device()) return 1;
    for (uintptr_t& window : g_windows) window = reserve_address_range(netdev::kFramesBytes);
    logf("virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s", g_mac[0], g_mac[1], g_mac[2], g_mac[3], g_mac[4],
         g_mac[5], link_up() ? "up" : "down");
    rpc::Server server(endpoint);
    server.on<netdev::Info>(info);
    server.on<netdev::Attach>(attach);
    server.on<netdev::Wake>(wake);
    server.on<netdev::Kick>(kick);
    server.on_notification(on_interrupt);
    server.run();
}
