// The Ethernet interface (eth0): lwIP's netif over a network driver's
// netdev: protocol (proto/netdev.h).
#pragma once

#include <stdint.h>

#include "mica/types.h"

struct netif;

namespace net::device {

// Finds netdev:, attaches to it and adds eth0, configured from the command
// line (ip=A.B.C.D/N, gateway=A.B.C.D) or else by DHCP. False when there is
// no driver: the server then serves the loopback alone.
bool start(mica::Handle wake);

// The driver signalled: frames to take, or room to send.
void receive();
// Tells the driver about frames queued since the last call.
void flush();
// Attaches again if the driver restarted (called from the timer too).
void check();

netif* interface();  // eth0, or nullptr
struct Counters {
    uint64_t received, transmitted, received_bytes, transmitted_bytes, dropped;
};
const Counters& counters();
const char* driver_name();
bool address_from_dhcp();

}  // namespace net::device
