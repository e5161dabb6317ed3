// ifconfig: the network interfaces, as the TCP/IP server (net:) sees them:
// address, netmask, gateway, MAC, driver and counters.
#include "mica/net.h"
#include "mica/words.h"

using namespace mica;

int main() {
    Words words(startup().cmdline);
    if (!words.accepts("", 0, 0, "ifconfig")) return 2;
    for (uint32_t i = 0;; ++i) {
        proto::net::Interface::Reply r;
        int64_t e = net::interface(i, &r);
        if (e == kErrNotFound && i > 0) return 0;
        if (e < 0) {
            print("ifconfig: net: %s\n", error_name(e));
            return 1;
        }
        char address[16], mask[16], gateway[16];
        net::format_ipv4(r.address, address);
        net::format_ipv4(r.netmask, mask);
        net::format_ipv4(r.gateway, gateway);
        print("%-5s %s%s%s\n", r.name, r.up ? "up" : "down", r.link_up ? ", link up" : ", no link",
              r.dhcp ? ", address by DHCP" : "");
        print("      inet %s netmask %s gateway %s mtu %u\n", address, mask, gateway, r.mtu);
        if (r.driver[0] && r.mac[0] | r.mac[1] | r.mac[2] | r.mac[3] | r.mac[4] | r.mac[5])
            print("      ether %02x:%02x:%02x:%02x:%02x:%02x (%s)\n", r.mac[0], r.mac[1], r.mac[2], r.mac[3], r.mac[4],
                  r.mac[5], r.driver);
        if (r.received | r.transmitted)
            print("      received %lu frames (%lu bytes), sent %lu frames (%lu bytes), dropped %lu\n", r.received,
                  r.received_bytes, r.transmitted, r.transmitted_bytes, r.dropped);
    }
}
