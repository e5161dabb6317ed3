// eth0: frames between lwIP and the driver through the shared rings of
// proto/netdev.h. We produce the transmit ring and consume the receive
// ring; the driver's side of each index is read with care, since a dying
// driver may leave anything there.
#include "device.h"

#include "mica/files.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/netdev.h"

extern "C" {
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"
}

using namespace mica;
namespace nd = proto::netdev;

namespace net::device {
namespace {

Handle g_driver = kNoHandle;
Handle g_memory = kNoHandle;  // the rings, ours; the driver gets a copy
Handle g_wake = kNoHandle;    // what the driver signals
nd::Frames* g_frames = nullptr;
netif g_netif;
bool g_up = false, g_attached = false, g_dhcp = false;
bool g_kick_due = false;
uint32_t g_mtu = 1500;
Counters g_counters;
char g_model[24];

int64_t attach() {
    g_frames->receive.head = 0;
    g_frames->receive.tail = 0;
    g_frames->transmit.head = 0;
    g_frames->transmit.tail = 0;
    // Fresh copies each time: a handle sent is consumed even when the call
    // then meets a restarting driver (our next check() attaches again).
    auto memory = sys::handle_duplicate(g_memory, kRightRead | kRightWrite | kRightMap | kRightTransfer);
    if (!memory.ok()) return memory.error();
    nd::Attach::Request q{};
    nd::Attach::Reply r;
    rpc::Extras extras{.send_handle = memory.value(), .send_rights = kRightRead | kRightWrite | kRightMap};
    int64_t e = rpc::call<nd::Attach>(g_driver, q, &r, extras);
    if (e < 0) return e;
    auto wake = sys::handle_duplicate(g_wake, kRightSignal | kRightTransfer);
    if (!wake.ok()) return wake.error();
    nd::Wake::Request wq{1};
    nd::Wake::Reply wr;
    extras = rpc::Extras{.send_handle = wake.value(), .send_rights = kRightSignal};
    if ((e = rpc::call<nd::Wake>(g_driver, wq, &wr, extras)) < 0) return e;
    memcpy(g_netif.hwaddr, r.mac, 6);
    g_mtu = r.mtu >= 576 && r.mtu <= 1500 ? r.mtu : 1500;
    g_attached = true;
    if (r.link_up) netif_set_link_up(&g_netif);
    else netif_set_link_down(&g_netif);
    return kOk;
}

err_t transmit(netif*, pbuf* p) {
    nd::Ring& ring = g_frames->transmit;
    uint32_t head = ring.head, tail = ring.tail;
    if (head - tail >= nd::kSlots || p->tot_len > nd::kMaxFrame) {
        ++g_counters.dropped;  // full: TCP sends it again, as after a loss on the wire
        g_kick_due = true;
        return ERR_OK;
    }
    nd::Slot& slot = g_frames->transmit_slots[head % nd::kSlots];
    slot.length = pbuf_copy_partial(p, slot.data, p->tot_len, 0);
    asm volatile("" ::: "memory");
    ring.head = head + 1;
    ++g_counters.transmitted;
    g_counters.transmitted_bytes += slot.length;
    g_kick_due = true;
    return ERR_OK;
}

err_t set_up(netif* n) {
    n->name[0] = 'e', n->name[1] = 't';
    n->output = etharp_output;
    n->linkoutput = transmit;
    n->mtu = static_cast<u16_t>(g_mtu);
    n->hwaddr_len = 6;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

void on_status(netif* n) {
    if (!netif_is_up(n) || ip4_addr_isany_val(*netif_ip4_addr(n))) return;
    char a[16], m[16], g[16];
    ip4addr_ntoa_r(netif_ip4_addr(n), a, sizeof a);
    ip4addr_ntoa_r(netif_ip4_netmask(n), m, sizeof m);
    ip4addr_ntoa_r(netif_ip4_gw(n), g, sizeof g);
    logf("net: eth0 %s netmask %s gateway %s (%s)", a, m, g, g_dhcp ? "DHCP" : "static");
}

// ip=A.B.C.D/N and gateway=A.B.C.D from the command line.
bool static_address(ip4_addr_t* address, ip4_addr_t* mask, ip4_addr_t* gateway) {
    char text[40];
    if (!cmdline_value("ip", text, sizeof text)) return false;
    unsigned bits = 24;
    if (char* slash = strchr(text, '/')) {
        *slash = 0;
        bits = static_cast<unsigned>(Words::parse(slash + 1));
    }
    if (!ip4addr_aton(text, address) || bits == 0 || bits > 32) {
        logf("net: ip=%s is not an address/prefix; using DHCP", text);
        return false;
    }
    ip4_addr_set_u32(mask, lwip_htonl(bits == 32 ? ~0u : ~(~0u >> bits)));
    ip4_addr_set_zero(gateway);
    if (cmdline_value("gateway", text, sizeof text) && !ip4addr_aton(text, gateway)) ip4_addr_set_zero(gateway);
    return true;
}

}  // namespace

bool start(Handle wake) {
    g_driver = files::scheme_endpoint("netdev");
    if (g_driver == kNoHandle) return false;
    nd::Info::Request iq{};
    nd::Info::Reply ir;
    if (rpc::call<nd::Info>(g_driver, iq, &ir) < 0) return false;  // no device: no driver running
    copy_string(g_model, sizeof g_model, ir.model);
    auto memory = sys::memory_create(nd::kFramesBytes);
    if (!memory.ok()) return false;
    uintptr_t at = reserve_address_range(nd::kFramesBytes);
    if (sys::vm_map(startup().self_process, at, memory.value(), 0, nd::kFramesBytes, kVmRead | kVmWrite) != kOk) {
        sys::handle_close(memory.value());
        return false;
    }
    g_memory = memory.value();
    g_frames = reinterpret_cast<nd::Frames*>(at);
    g_wake = wake;
    ip4_addr_t address, mask, gateway;
    bool fixed = static_address(&address, &mask, &gateway);
    if (!fixed) ip4_addr_set_zero(&address), ip4_addr_set_zero(&mask), ip4_addr_set_zero(&gateway);
    if (!netif_add(&g_netif, &address, &mask, &gateway, nullptr, set_up, ethernet_input)) return false;
    if (int64_t e = attach()) {
        logf("net: cannot attach to the network driver (%s)", error_name(e));
        netif_remove(&g_netif);
        return false;
    }
    netif_set_status_callback(&g_netif, on_status);
    netif_set_default(&g_netif);
    netif_set_up(&g_netif);
    g_up = true;
    if (!fixed) {
        g_dhcp = true;
        dhcp_start(&g_netif);
    }
    return true;
}

void receive() {
    if (!g_up) return;
    nd::Ring& ring = g_frames->receive;
    uint32_t head = ring.head, tail = ring.tail;
    if (head - tail > nd::kSlots) tail = head;  // garbled by a dying driver: start over
    for (; tail != head; ++tail) {
        const nd::Slot& slot = g_frames->receive_slots[tail % nd::kSlots];
        uint32_t length = slot.length;
        if (length < 14 || length > nd::kMaxFrame) {
            ++g_counters.dropped;
            continue;
        }
        pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(length), PBUF_POOL);
        if (!p) {
            ++g_counters.dropped;
            continue;
        }
        pbuf_take(p, slot.data, static_cast<u16_t>(length));
        ++g_counters.received;
        g_counters.received_bytes += length;
        if (g_netif.input(p, &g_netif) != ERR_OK) pbuf_free(p);
    }
    asm volatile("" ::: "memory");
    ring.tail = tail;
    // Room in the transmit ring may have been what the driver signalled.
    if (g_frames->transmit.head != g_frames->transmit.tail) g_kick_due = true;
}

void flush() {
    if (!g_up || !g_kick_due) return;
    g_kick_due = false;
    nd::Kick::Request q{};
    nd::Kick::Reply r;
    int64_t e = rpc::call<nd::Kick>(g_driver, q, &r, rpc::Extras{.timeout_ns = 50'000'000});
    if (e == kErrBadState) {
        g_attached = false;
        check();
    }
}

// The link as the driver last said (Attach or Info). Down, lwIP routes
// nothing through eth0: a connect fails at once (unreachable), and what
// established connections send waits in TCP's retransmission until the link
// is back; up again, DHCP confirms the address (lwIP's dhcp_network_changed).
namespace {
void set_link(bool up) {
    if (up == netif_is_link_up(&g_netif)) return;
    if (up) netif_set_link_up(&g_netif);
    else netif_set_link_down(&g_netif);
    logf("net: eth0 link %s", up ? "up" : "down");
}
}  // namespace

// A new incarnation of the driver knows no stack: transmitting finds
// that out (Kick), but a stack that only waits to receive would not, so
// every kCheckNs the driver is asked whether we are still attached. The
// same answer brings the link's state (the driver learns a change from the
// device's configuration-change interrupt).
constexpr uint64_t kCheckNs = 200'000'000;

void check() {
    if (!g_up) return;
    uint64_t now = static_cast<uint64_t>(sys::clock_monotonic());
    static uint64_t next_check;
    if (g_attached && now >= next_check) {
        next_check = now + kCheckNs;
        nd::Info::Request q{};
        nd::Info::Reply r;
        if (rpc::call<nd::Info>(g_driver, q, &r, rpc::Extras{.timeout_ns = 50'000'000}) == kOk) {
            if (!r.attached) g_attached = false;
            else set_link(r.link_up != 0);
        }
    }
    if (!g_attached && attach() == kOk) logf("net: attached to the network driver again");
}

netif* interface() { return g_up ? &g_netif : nullptr; }
const Counters& counters() { return g_counters; }
const char* driver_name() { return g_model; }
bool address_from_dhcp() { return g_dhcp; }

}  // namespace net::device
