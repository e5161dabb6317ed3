/* lwIP's hooks in Mica's TCP/IP server (LWIP_HOOK_FILENAME in lwipopts.h),
   served by servers/net/timewait.cpp: a SYN that reopens a connection lwIP
   holds in TIME-WAIT, and the initial sequence numbers that go with it. */
#ifndef MICA_LWIP_HOOKS_H
#define MICA_LWIP_HOOKS_H

#include "lwip/arch.h"
#include "lwip/ip_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pbuf;
struct netif;

/* Every IPv4 packet, before lwIP looks at it; never eats it (0). */
int mica_lwip_ip4_input(struct pbuf* p, struct netif* in);
/* The initial sequence number of a new TCP connection. */
u32_t mica_lwip_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                        u16_t remote_port);

#ifdef __cplusplus
}
#endif

#endif
