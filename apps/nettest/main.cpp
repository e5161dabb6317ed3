// nettest: the network driver tested without the network stack. It plays
// the TCP/IP server's part of proto/netdev.h: makes the frames memory and a
// notification, attaches, and sends raw Ethernet frames to QEMU's user
// networking (ARP requests for its gateway 10.0.2.2, more at once than the
// driver has transmit buffers, and a DHCP DISCOVER), waiting for the answers
// in the receive ring. Then it hands the driver bad slots, a garbled ring
// index and bad attachments, which must cost only themselves. With kill=yes
// it also kills the driver through init: the new incarnation must answer
// Kick with kErrBadState (it knows no stack) and, attached again, carry
// frames again.
//
//   nettest [burst=N] [kill=yes]
//
// Needs a network card (./mica run --net user) and a `program nettest
// uses=netdev control=yes` line in the manifest. Ends with "nettest: passed"
// and status 0, or "nettest: FAILED" and status 1.
#include "mica/control.h"
#include "mica/files.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/init.h"
#include "proto/netdev.h"

using namespace mica;
namespace netdev = proto::netdev;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kAnswerWithin = 5'000 * kMs;
constexpr uint8_t kGuest[4] = {10, 0, 2, 15};    // what QEMU's DHCP gives the first guest
constexpr uint8_t kGateway[4] = {10, 0, 2, 2};   // QEMU's gateway (and DHCP server)
constexpr uint32_t kMinFrame = 60;               // Ethernet's shortest, without the FCS

int g_failures;

void fail(const char* what, int64_t e = kOk) {
    print("nettest: FAILED: %s%s%s\n", what, e != kOk ? ": " : "", e != kOk ? error_name(e) : "");
    ++g_failures;
}

uint64_t now() { return static_cast<uint64_t>(sys::clock_monotonic()); }

// --- the stack's side of the rings ----------------------------------------------------

struct Stack {
    Handle driver = kNoHandle;
    Handle memory = kNoHandle;  // the frames memory, mapped at `f`
    Handle wake = kNoHandle;    // signalled by the driver
    netdev::Frames* f = nullptr;
    uint32_t transmit_head = 0, receive_tail = 0;
    uint8_t mac[6] = {};
};
Stack g;

// Empty rings, then Attach (the memory, read-write) and Wake (bit 0).
int64_t attach() {
    g.f->receive.head = 0;
    g.f->receive.tail = 0;
    g.f->transmit.head = 0;
    g.f->transmit.tail = 0;
    g.transmit_head = g.receive_tail = 0;
    HandleResult memory = sys::handle_duplicate(g.memory, kRightsSame);
    if (!memory.ok()) return memory.error();
    netdev::Attach::Reply r;
    rpc::Extras x{.send_handle = memory.value(), .send_rights = kRightRead | kRightWrite | kRightMap};
    if (int64_t e = rpc::call<netdev::Attach>(g.driver, netdev::Attach::Request{}, &r, x); e < 0) return e;
    memcpy(g.mac, r.mac, sizeof g.mac);
    HandleResult signal = sys::handle_duplicate(g.wake, kRightSignal | kRightTransfer);
    if (!signal.ok()) return signal.error();
    netdev::Wake::Reply wr;
    return rpc::call<netdev::Wake>(g.driver, netdev::Wake::Request{1}, &wr,
                                   rpc::Extras{.send_handle = signal.value(), .send_rights = kRightSignal});
}

int64_t kick() {
    netdev::Kick::Reply r;
    return rpc::call<netdev::Kick>(g.driver, netdev::Kick::Request{}, &r);
}

int64_t info(netdev::Info::Reply* r) { return rpc::call<netdev::Info>(g.driver, netdev::Info::Request{}, r); }

// Puts a slot in the transmit ring (the driver sees it at the next Kick):
// `length` bytes of `frame`, or, with no frame, only the length (a bad one).
bool put(const uint8_t* frame, uint32_t length) {
    if (g.transmit_head - __atomic_load_n(&g.f->transmit.tail, __ATOMIC_ACQUIRE) >= netdev::kSlots) return false;
    netdev::Slot& s = g.f->transmit_slots[g.transmit_head % netdev::kSlots];
    if (frame) memcpy(s.data, frame, length);
    s.length = length;
    __atomic_store_n(&g.f->transmit.head, ++g.transmit_head, __ATOMIC_RELEASE);
    return true;
}

// Hands each received frame to `take` until it returns true (then true) or
// `timeout_ns` passes (then false). It looks at the ring again only when
// the driver signals: a driver that forgets to fails here.
template <class Take>
bool receive_until(uint64_t timeout_ns, Take take) {
    uint64_t deadline = now() + timeout_ns;
    for (;;) {
        uint32_t head = __atomic_load_n(&g.f->receive.head, __ATOMIC_ACQUIRE);
        if (head - g.receive_tail > netdev::kSlots) {
            fail("the driver's receive head ran past the ring");
            return false;
        }
        while (g.receive_tail != head) {
            const netdev::Slot& s = g.f->receive_slots[g.receive_tail % netdev::kSlots];
            bool done = s.length <= netdev::kMaxFrame && take(s.data, s.length);
            if (s.length == 0 || s.length > netdev::kMaxFrame) fail("the driver delivered a frame of a bad length");
            __atomic_store_n(&g.f->receive.tail, ++g.receive_tail, __ATOMIC_RELEASE);
            if (done) return true;
        }
        uint64_t t = now();
        if (t >= deadline || sys::notification_wait(g.wake, deadline - t) < 0) return false;
    }
}

// --- frames ------------------------------------------------------------------------------------

void put16(uint8_t* at, uint16_t v) { at[0] = static_cast<uint8_t>(v >> 8), at[1] = static_cast<uint8_t>(v); }
uint16_t get16(const uint8_t* at) { return static_cast<uint16_t>(at[0] << 8 | at[1]); }

// An Ethernet header: to `to`, from us, of `type`. Returns where its payload goes.
uint8_t* ethernet(uint8_t* frame, const uint8_t* to, uint16_t type) {
    memcpy(frame, to, 6);
    memcpy(frame + 6, g.mac, 6);
    put16(frame + 12, type);
    return frame + 14;
}

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Who has 10.0.2.2? Tell 10.0.2.15.
uint32_t arp_request(uint8_t* frame) {
    memset(frame, 0, kMinFrame);
    uint8_t* a = ethernet(frame, kBroadcast, 0x0806);
    put16(a, 1), put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, put16(a + 6, 1);  // Ethernet, IPv4, request
    memcpy(a + 8, g.mac, 6), memcpy(a + 14, kGuest, 4);
    memcpy(a + 24, kGateway, 4);
    return kMinFrame;
}

// An ARP reply from 10.0.2.2 to us: its MAC into `mac`.
bool arp_reply(const uint8_t* frame, uint32_t length, uint8_t* mac) {
    const uint8_t* a = frame + 14;
    if (length < 42 || get16(frame + 12) != 0x0806 || get16(a + 6) != 2) return false;
    if (memcmp(a + 14, kGateway, 4) != 0 || memcmp(a + 18, g.mac, 6) != 0) return false;
    memcpy(mac, a + 8, 6);
    return true;
}

uint16_t ip_checksum(const uint8_t* header, uint32_t length) {
    uint32_t sum = 0;
    for (uint32_t i = 0; i < length; i += 2) sum += get16(header + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

constexpr uint32_t kXid = 0x4d494341;  // "MICA"
constexpr uint8_t kDhcpMagic[4] = {99, 130, 83, 99};
// BOOTP's fixed part, then the options field at its full 312 bytes (QEMU's
// DHCP server ignores shorter requests).
constexpr uint32_t kBootpBytes = 236 + 312;

// A DHCP DISCOVER, broadcast, asking for the answer to be broadcast too.
uint32_t dhcp_discover(uint8_t* frame) {
    constexpr uint32_t kIpBytes = 20 + 8 + kBootpBytes;
    memset(frame, 0, 14 + kIpBytes);
    uint8_t* ip = ethernet(frame, kBroadcast, 0x0800);
    ip[0] = 0x45, put16(ip + 2, kIpBytes), ip[8] = 64, ip[9] = 17;  // IPv4, TTL 64, UDP
    memset(ip + 16, 0xff, 4);                                       // from 0.0.0.0 to 255.255.255.255
    put16(ip + 10, ip_checksum(ip, 20));
    uint8_t* udp = ip + 20;
    put16(udp, 68), put16(udp + 2, 67), put16(udp + 4, 8 + kBootpBytes);  // no UDP checksum (0)
    uint8_t* b = udp + 8;
    b[0] = 1, b[1] = 1, b[2] = 6;  // a request, Ethernet addresses
    b[4] = kXid >> 24, b[5] = kXid >> 16 & 0xff, b[6] = kXid >> 8 & 0xff, b[7] = kXid & 0xff;
    put16(b + 10, 0x8000);  // broadcast the answer: we have no address yet
    memcpy(b + 28, g.mac, 6);
    uint8_t* o = b + 236;
    memcpy(o, kDhcpMagic, 4);
    const uint8_t options[] = {53, 1, 1, 55, 3, 1, 3, 6, 255};  // DISCOVER; mask, router, DNS
    memcpy(o + 4, options, sizeof options);
    return 14 + kIpBytes;
}

// A DHCP OFFER for our DISCOVER: the address offered and the server's.
bool dhcp_offer(const uint8_t* frame, uint32_t length, uint8_t* offered, uint8_t* server) {
    const uint8_t* ip = frame + 14;
    if (length < 14 + 20 + 8 + 240 || get16(frame + 12) != 0x0800 || (ip[0] >> 4) != 4 || ip[9] != 17) return false;
    uint32_t ihl = (ip[0] & 0xf) * 4u;
    const uint8_t* udp = ip + ihl;
    const uint8_t* b = udp + 8;
    const uint8_t* end = frame + length;
    if (b + 240 > end || get16(udp) != 67 || get16(udp + 2) != 68 || b[0] != 2) return false;
    if (static_cast<uint32_t>(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7]) != kXid) return false;
    if (memcmp(b + 236, kDhcpMagic, 4) != 0) return false;
    memcpy(offered, b + 16, 4);
    memcpy(server, ip + 12, 4);
    bool is_offer = false;
    for (const uint8_t* o = b + 240; o < end && *o != 255;) {
        if (*o == 0) {
            ++o;
            continue;
        }
        if (o + 2 > end || o + 2 + o[1] > end) break;
        if (o[0] == 53 && o[1] == 1) is_offer = o[2] == 2;
        if (o[0] == 54 && o[1] == 4) memcpy(server, o + 2, 4);
        o += 2 + o[1];
    }
    return is_offer;
}

// --- the steps ----------------------------------------------------------------------------------

// `count` ARP requests in the ring at once, one Kick; every one must be
// answered. True when all were.
bool arp_burst(uint32_t count, const char* when) {
    uint8_t frame[kMinFrame];
    uint32_t length = arp_request(frame);
    for (uint32_t i = 0; i < count; ++i)
        if (!put(frame, length)) {
            fail("the transmit ring stayed full");
            return false;
        }
    if (int64_t e = kick(); e < 0) {
        fail("Kick", e);
        return false;
    }
    uint32_t answers = 0;
    uint8_t mac[6] = {};
    receive_until(kAnswerWithin, [&](const uint8_t* data, uint32_t n) {
        answers += arp_reply(data, n, mac);
        return answers == count;
    });
    print("nettest: %s: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x (%u of %u ARP requests answered)\n", when, mac[0],
          mac[1], mac[2], mac[3], mac[4], mac[5], answers, count);
    if (answers != count) fail("ARP requests went unanswered");
    return answers == count;
}

// Nothing pending, one frame sent: the driver must signal (the frame went
// out of the transmit ring, and its answer comes in).
void wake_signalled() {
    sys::notification_wait(g.wake, 0);
    uint8_t frame[kMinFrame];
    if (!put(frame, arp_request(frame)) || kick() < 0) return fail("sending an ARP request");
    int64_t bits = sys::notification_wait(g.wake, kAnswerWithin);
    print("nettest: Wake signalled: %s\n", bits > 0 ? "yes" : error_name(bits));
    if (bits <= 0) fail("the driver did not signal the Wake notification");
    uint8_t mac[6];
    if (!receive_until(kAnswerWithin, [&](const uint8_t* data, uint32_t n) { return arp_reply(data, n, mac); }))
        fail("no answer to an ARP request");
}

void dhcp() {
    static uint8_t frame[netdev::kMaxFrame];
    if (!put(frame, dhcp_discover(frame)) || kick() < 0) return fail("sending a DHCP DISCOVER");
    uint8_t offered[4] = {}, server[4] = {};
    auto offer = [&](const uint8_t* data, uint32_t n) { return dhcp_offer(data, n, offered, server); };
    if (!receive_until(kAnswerWithin, offer)) return fail("no DHCP OFFER");
    print("nettest: DHCP offer of %u.%u.%u.%u from %u.%u.%u.%u\n", offered[0], offered[1], offered[2], offered[3],
          server[0], server[1], server[2], server[3]);
}

void print_counters(const char* when) {
    netdev::Info::Reply r;
    if (int64_t e = info(&r); e < 0) return fail("Info", e);
    const netdev::Counters& c = r.counters;
    print("nettest: %s: received %lu (%lu bytes), transmitted %lu (%lu bytes), dropped %lu, errors %lu\n", when,
          c.received, c.received_bytes, c.transmitted, c.transmitted_bytes, c.dropped, c.errors);
}

uint64_t errors() {
    netdev::Info::Reply r;
    return info(&r) == kOk ? r.counters.errors : ~0ULL;
}

// Slots of length 0 and past kMaxFrame are skipped and counted; a head that
// runs more than the ring ahead makes the driver start again from it. The
// good frames after each must still go out.
void garbage() {
    uint64_t before = errors();
    put(nullptr, 0), put(nullptr, netdev::kMaxFrame + 1), put(nullptr, 0xffffffff);
    if (!arp_burst(1, "after three bad slots")) return;
    uint64_t after = errors();
    if (after != before + 3) fail("bad slots were not counted as errors");
    g.transmit_head += 1000;  // garbage: as if the stack had scribbled on its head
    __atomic_store_n(&g.f->transmit.head, g.transmit_head, __ATOMIC_RELEASE);
    if (int64_t e = kick(); e < 0) return fail("Kick after a garbled head", e);
    if (g.f->transmit.tail != g.transmit_head) fail("the driver did not start again from the garbled head");
    if (errors() != after + 1) fail("a garbled head was not counted as an error");
    arp_burst(1, "after a garbled head");
}

// Attachments the driver must refuse (too small a memory object, not a
// memory object, nothing), keeping the one it has.
void refused_attachments() {
    HandleResult small = sys::memory_create(kPageSize);
    HandleResult other = sys::notification_create();
    if (!small.ok() || !other.ok()) return fail("making the objects for the refused attachments");
    netdev::Attach::Reply r;
    int64_t too_small = rpc::call<netdev::Attach>(g.driver, {}, &r, rpc::Extras{.send_handle = small.value()});
    int64_t not_memory = rpc::call<netdev::Attach>(g.driver, {}, &r, rpc::Extras{.send_handle = other.value()});
    int64_t nothing = rpc::call<netdev::Attach>(g.driver, {}, &r);
    print("nettest: attachments refused: too small: %s; a notification: %s; no handle: %s\n", error_name(too_small),
          error_name(not_memory), error_name(nothing));
    if (too_small != kErrOutOfRange || not_memory != kErrWrongType || nothing != kErrInvalidArgument)
        fail("a bad attachment was not refused as it should be");
    arp_burst(1, "after refused attachments");
}

// --- a new incarnation of the driver -------------------------------------------------------------

int64_t control(Handle init, const char* service, proto::init::KillHow how) {
    proto::init::Kill::Request q{};
    copy_string(q.name, sizeof q.name, service);
    q.how = how;
    q.injected = 1;
    proto::init::Kill::Reply r;
    return rpc::call<proto::init::Kill>(init, q, &r);
}

void restart() {
    Handle init = startup_handle(kSlotControl);
    if (init == kNoHandle) return fail("kill=yes needs init's control (a program line with control=yes)");
    // The real stack (net:) would attach to the new incarnation within
    // 200 ms and spoil the look at an unattached driver: it is made to
    // stop answering first, so that it does nothing until init, seconds
    // later, finds it hung and restarts it.
    uint64_t stack = running_pid("net");
    if (stack && control(init, "net", proto::init::kHang) < 0) return fail("holding the network stack");
    uint64_t before = running_pid("netdev");
    if (int64_t e = control(init, "netdev", proto::init::kKill); e < 0) return fail("killing netdev", e);
    uint64_t pid = 0, t0 = now();
    while (now() - t0 < kAnswerWithin && ((pid = running_pid("netdev")) == 0 || pid == before))
        sys::thread_sleep(10 * kMs);
    if (!pid || pid == before) return fail("no new incarnation of netdev");
    print("nettest: netdev killed (pid %lu), a new incarnation runs (pid %lu)\n", before, pid);
    uint8_t frame[kMinFrame];
    put(frame, arp_request(frame));
    if (running_pid("net") != stack) {
        // init's liveness probe (every 2 s) came in the moment net: hung, and
        // the new net: attached first: there is no unattached driver to see.
        print("nettest: net: was restarted before the look; the unattached driver is not seen\n");
    } else {
        int64_t e = kick();
        print("nettest: Kick to the new incarnation: %s\n", error_name(e));
        if (e != kErrBadState) fail("Kick before attaching again was not bad_state");
        netdev::Info::Reply info_reply;
        if (info(&info_reply) != kOk || info_reply.attached) fail("the new incarnation says it is attached");
    }
    if (int64_t a = attach(); a < 0) return fail("attaching again", a);
    arp_burst(4, "attached again");
}

}  // namespace

int main() {
    Words args(startup().cmdline);
    if (!args.accepts("burst kill", 0, 0, "nettest [burst=N] [kill=yes]")) return 2;
    uint32_t burst = static_cast<uint32_t>(Words::parse(args.value("burst", "48")));
    if (burst == 0 || burst > netdev::kSlots) {
        print("nettest: burst is 1 to %u\n", netdev::kSlots);
        return 2;
    }
    g.driver = files::scheme_endpoint("netdev");
    if (g.driver == kNoHandle) {
        print("nettest: no netdev: (no network card, or no manifest line granting it)\n");
        return 1;
    }
    HandleResult memory = sys::memory_create(netdev::kFramesBytes);
    HandleResult wake = sys::notification_create();
    if (!memory.ok() || !wake.ok()) {
        print("nettest: cannot make the frames memory and the notification\n");
        return 1;
    }
    g.memory = memory.value(), g.wake = wake.value();
    uintptr_t at = reserve_address_range(netdev::kFramesBytes);
    if (int64_t e = sys::vm_map(startup().self_process, at, g.memory, 0, netdev::kFramesBytes, kVmRead | kVmWrite);
        e != kOk) {
        print("nettest: cannot map the frames memory: %s\n", error_name(e));
        return 1;
    }
    g.f = reinterpret_cast<netdev::Frames*>(at);
    netdev::Info::Reply r;
    if (int64_t e = info(&r); e < 0) {  // kErrPeerClosed: init found no card and gave the driver up
        print("nettest: netdev: does not answer (%s): no network card?\n", error_name(e));
        return 1;
    }
    if (int64_t e = attach(); e < 0) {
        fail("Attach", e);
        return 1;
    }
    if (int64_t e = info(&r); e < 0) {
        fail("Info", e);
        return 1;
    }
    print("nettest: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s, MTU %u, %s\n", r.model, r.mac[0], r.mac[1],
          r.mac[2], r.mac[3], r.mac[4], r.mac[5], r.link_up ? "up" : "down", r.mtu,
          r.attached ? "attached" : "NOT attached");
    if (!r.attached) fail("Info says not attached");
    wake_signalled();
    arp_burst(burst, "burst");
    dhcp();
    garbage();
    refused_attachments();
    print_counters("counters");
    if (!strcmp(args.value("kill", "no"), "yes")) {
        restart();
        print_counters("counters of the new incarnation");
    }
    print("nettest: %s\n", g_failures ? "FAILED" : "passed");
    return g_failures ? 1 : 0;
}
