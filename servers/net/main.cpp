// net: the TCP/IP server. lwIP (Debian's source package, compiled as
// published; servers/net/port is our side of it) runs here on one thread,
// with its timers driven from the message loop, over two interfaces: the
// loopback (127.0.0.1) and eth0, a network driver's netdev: (device.cpp).
// Programs reach it through net: sockets (proto/net.h, calls.cpp).
//
// A waker thread turns the driver's signals and the passing of time into a
// Tick message, so that the loop needs no second place to wait.
#include "calls.h"
#include "device.h"
#include "mica/log.h"
#include "mica/process.h"
#include "mica/strings.h"
#include "format.h"
#include "sockets.h"

extern "C" {
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
}

using namespace mica;

namespace {

struct Tick {
    static constexpr uint64_t kLabel = 0xbf0;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};

Handle g_endpoint = kNoHandle, g_wake = kNoHandle;
constexpr uint64_t kTickNs = 20'000'000;  // lwIP's shortest timer is 100 ms (IP reassembly, ARP), TCP's 250 ms

// Whatever a message set going: frames looped back, timers due, frames
// for the driver, and requests that can now finish.
void after() {
    for (int i = 0; i < 16; ++i) {
        netif_poll_all();
        bool more = false;
        netif* n;
        NETIF_FOREACH(n) more |= n->loop_first != nullptr;
        if (!more) break;
    }
    sys_check_timeouts();
    net::device::flush();
    net::settle();
}

void waker(void*) {
    for (;;) {
        sys::notification_wait(g_wake, kTickNs);
        Tick::Request q{};
        Tick::Reply r;
        rpc::call<Tick>(g_endpoint, q, &r);
    }
}

int64_t tick(const Tick::Request&, Tick::Reply&, rpc::Call&) {
    net::device::receive();
    net::device::check();
    net::sweep();
    return kOk;
}

uint32_t host_order(const ip4_addr_t* a) { return lwip_ntohl(ip4_addr_get_u32(a)); }

int64_t interface(const proto::net::Interface::Request& q, proto::net::Interface::Reply& r, rpc::Call&) {
    netif* n = nullptr;
    uint32_t i = 0;
    netif* each;
    NETIF_FOREACH(each) {
        if (i++ == q.index) n = each;
    }
    if (!n) return kErrNotFound;
    bool eth = n == net::device::interface();
    format_to(r.name, sizeof r.name, "%s", eth ? "eth0" : "lo");
    memcpy(r.mac, n->hwaddr, 6);
    r.up = netif_is_up(n);
    r.link_up = netif_is_link_up(n);
    r.address = host_order(netif_ip4_addr(n));
    r.netmask = host_order(netif_ip4_netmask(n));
    r.gateway = host_order(netif_ip4_gw(n));
    r.mtu = n->mtu;
    if (eth) {
        const net::device::Counters& c = net::device::counters();
        r.dhcp = net::device::address_from_dhcp();
        r.received = c.received, r.transmitted = c.transmitted;
        r.received_bytes = c.received_bytes, r.transmitted_bytes = c.transmitted_bytes;
        r.dropped = c.dropped;
        copy_string(r.driver, sizeof r.driver, net::device::driver_name());
    } else {
        copy_string(r.driver, sizeof r.driver, "loopback");
    }
    return kOk;
}

// Every handler runs `after` once it is done.
template <class Op, int64_t (*handler)(const typename Op::Request&, typename Op::Reply&, rpc::Call&)>
int64_t then_after(const typename Op::Request& q, typename Op::Reply& r, rpc::Call& c) {
    int64_t status = handler(q, r, c);
    after();
    return status;
}

}  // namespace

int main() {
    g_endpoint = service_endpoint("net");
    lwip_init();  // adds the loopback interface
    net::start_sockets();
    net::start_ping();
    auto wake = sys::notification_create();
    if (!wake.ok()) return 1;
    g_wake = wake.value();
    if (!net::device::start(g_wake)) logf("net: no network device; the loopback alone");
    if (start_thread(waker, nullptr, 16, 16 * 1024) < 0) return 1;
    namespace pn = proto::net;
    rpc::Server<20> server(g_endpoint);
    server.on<Tick>(then_after<Tick, tick>);
    server.on<pn::Socket>(then_after<pn::Socket, net::op_socket>);
    server.on<pn::Bind>(then_after<pn::Bind, net::op_bind>);
    server.on<pn::Listen>(then_after<pn::Listen, net::op_listen>);
    server.on<pn::Accept>(then_after<pn::Accept, net::op_accept>);
    server.on<pn::Connect>(then_after<pn::Connect, net::op_connect>);
    server.on<pn::Send>(then_after<pn::Send, net::op_send>);
    server.on<pn::Receive>(then_after<pn::Receive, net::op_receive>);
    server.on<pn::Close>(then_after<pn::Close, net::op_close>);
    server.on<pn::Shutdown>(then_after<pn::Shutdown, net::op_shutdown>);
    server.on<pn::Forget>(then_after<pn::Forget, net::op_forget>);
    server.on<pn::Wait>(then_after<pn::Wait, net::op_wait>);
    server.on<pn::Status>(then_after<pn::Status, net::op_status>);
    server.on<pn::Notify>(net::op_notify);
    server.on<pn::Watch>(net::op_watch);
    server.on<pn::Interface>(interface);
    server.on<pn::Ping>(then_after<pn::Ping, net::op_ping>);
    server.run();
}
