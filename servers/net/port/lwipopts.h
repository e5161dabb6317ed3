/* lwIP's configuration for Mica's TCP/IP server (servers/net): one thread,
   the raw (callback) API, IPv4 only, memory from fixed pools and one heap
   sized here, all inside the server's quota (the manifest's quota=). */
#ifndef MICA_LWIPOPTS_H
#define MICA_LWIPOPTS_H

/* One thread, no operating-system layer: the server calls lwIP from its
   message loop and runs its timers (sys_check_timeouts) there. */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_CALLBACK_API 1

/* Protocols. */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define SO_REUSE 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_HOSTNAME 1

/* Loopback: 127.0.0.1 on its own interface, and packets to the machine's
   own address looped back too (netif_poll_all in the server's loop). */
#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_LOOPBACK_MAX_PBUFS 256

/* TCP: full-size segments, window scaling (a 96 KiB receive window), and
   out-of-order segments kept rather than dropped. */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2
#define TCP_WND (96 * 1024)
#define TCP_SND_BUF (48 * 1024)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT (TCP_SND_BUF / 2)
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_PBUFS 64
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 64
#define LWIP_TCP_KEEPALIVE 1

/* Hooks (port/mica_hooks.h, timewait.cpp): a SYN with a sequence number
   past what a connection in TIME-WAIT last received opens a new connection
   (RFC 1122 4.2.2.13, RFC 6191), where lwIP alone would answer it with an
   ACK or a reset for the 2 * TCP_MSL (two minutes) the old one waits; and
   initial sequence numbers from a clock and the connection's addresses
   (RFC 6528), kept past the old connection's when it reopens. */
#define LWIP_HOOK_FILENAME "mica_hooks.h"
#define LWIP_HOOK_IP4_INPUT(p, in) mica_lwip_ip4_input(p, in)
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
    mica_lwip_tcp_isn(local_ip, local_port, remote_ip, remote_port)

/* Memory: every limit is a number here. */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (384 * 1024)
#define MEMP_NUM_PBUF 128
#define MEMP_NUM_RAW_PCB 8
#define MEMP_NUM_UDP_PCB 32
#define MEMP_NUM_TCP_PCB 96
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_TCP_SEG 512
#define MEMP_NUM_REASSDATA 8
#define MEMP_NUM_FRAG_PBUF 32
#define MEMP_NUM_ARP_QUEUE 64
#define PBUF_POOL_SIZE 256
#define ARP_TABLE_SIZE 16
#define ARP_QUEUEING 1

#define LWIP_CHKSUM_ALGORITHM 3
#define LWIP_STATS 0
#define LWIP_DEBUG 0

#endif
