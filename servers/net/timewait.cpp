// A SYN for a connection lwIP holds in TIME-WAIT, and initial sequence
// numbers (lwIP's hooks, port/mica_hooks.h).
//
// The side that closes first keeps the connection's addresses in TIME-WAIT
// for 2 * TCP_MSL, two minutes in lwIP. httpd closes first, and a client may
// well reuse its port within that time: QEMU's user network hands us the
// host's own port numbers (a hostfwd connection from the host's 127.0.0.1:P
// reaches us as 10.0.2.2:P), and the host's kernel reuses a port as soon as
// its side of the old connection is gone. lwIP answers such a SYN with an
// ACK (a sequence number outside the old window) or a reset (inside it):
// the peer's connection fails, or retries until the two minutes are over
// (QEMU gives up after 75 s and the host's client sees a reset). Other
// stacks reopen the connection instead (RFC 1122 4.2.2.13; RFC 6191 without
// timestamps): a SYN whose sequence number lies past the last one received
// ends the TIME-WAIT and goes to the listener, and the new connection's
// initial sequence number lies past the last one we sent, so that nothing
// of the old connection can be taken for the new one.
//
// Initial sequence numbers otherwise follow RFC 6528: a clock ticking every
// 4 µs plus a keyed hash of the connection's addresses (lwIP's own adds up
// its timer ticks, which anyone can guess).
#include "mica/runtime.h"
#include "mica/types.h"

extern "C" {
#include "lwip/def.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "mica_hooks.h"
}

using namespace mica;

namespace {

// A connection just reopened from TIME-WAIT, until it gets its initial
// sequence number (or kept for a while, if the listener dropped the SYN:
// the peer sends it again).
struct Reopened {
    bool used;
    uint32_t local, remote;  // addresses, network order
    uint16_t local_port, remote_port;
    uint32_t floor;  // the new initial sequence number is at least this
    uint64_t until_ns;
};
Reopened g_reopened[8];
uint32_t g_next;
constexpr uint64_t kKeepNs = 2 * TCP_MSL * 1'000'000ull;

uint64_t now_ns() { return static_cast<uint64_t>(sys::clock_monotonic()); }

uint32_t ones_sum(const uint8_t* b, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
    if (n & 1) sum += static_cast<uint32_t>(b[n - 1] << 8);
    return sum;
}

// The TCP checksum of a segment held whole in `tcp`: lwIP checks it too,
// but only after we acted on the segment.
bool checksum_good(const ip_hdr* ip, const uint8_t* tcp, uint16_t length) {
    uint32_t sum = ones_sum(reinterpret_cast<const uint8_t*>(&ip->src), 4, 0);
    sum = ones_sum(reinterpret_cast<const uint8_t*>(&ip->dest), 4, sum);
    sum += IP_PROTO_TCP + length;
    sum = ones_sum(tcp, length, sum);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

tcp_pcb* in_time_wait(uint32_t local, uint16_t local_port, uint32_t remote, uint16_t remote_port) {
    for (tcp_pcb* pcb = tcp_tw_pcbs; pcb; pcb = pcb->next) {
        if (pcb->local_port == local_port && pcb->remote_port == remote_port &&
            ip4_addr_get_u32(ip_2_ip4(&pcb->local_ip)) == local &&
            ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)) == remote)
            return pcb;
    }
    return nullptr;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

}  // namespace

extern "C" int mica_lwip_ip4_input(pbuf* p, netif*) {
    if (p->len < IP_HLEN) return 0;
    const auto* ip = static_cast<const ip_hdr*>(p->payload);
    uint16_t header = IPH_HL_BYTES(ip), total = lwip_ntohs(IPH_LEN(ip));
    if (IPH_V(ip) != 4 || IPH_PROTO(ip) != IP_PROTO_TCP || header < IP_HLEN || total < header + TCP_HLEN ||
        total > p->len || (IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK | IP_MF)))
        return 0;  // not a whole TCP segment in the first buffer: not a SYN we reopen for
    const uint8_t* segment = static_cast<const uint8_t*>(p->payload) + header;
    const auto* tcp = reinterpret_cast<const tcp_hdr*>(segment);
    if ((TCPH_FLAGS(tcp) & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN) return 0;
    uint32_t local = ip->dest.addr, remote = ip->src.addr;
    uint16_t local_port = lwip_ntohs(tcp->dest), remote_port = lwip_ntohs(tcp->src);
    tcp_pcb* old = in_time_wait(local, local_port, remote, remote_port);
    // A socket that was shut down but not closed still holds its pcb: lwIP's
    // rules then, as it is not ours to free.
    if (!old || old->callback_arg) return 0;
    if (!TCP_SEQ_GT(lwip_ntohl(tcp->seqno), old->rcv_nxt)) return 0;  // maybe the old connection's: lwIP's rules
    if (!checksum_good(ip, segment, static_cast<uint16_t>(total - header))) return 0;
    Reopened& r = g_reopened[g_next++ % (sizeof g_reopened / sizeof g_reopened[0])];
    // Past anything the old connection sent, and past its window (as Linux).
    r = Reopened{true, local, remote, local_port, remote_port, old->snd_nxt + 65535 + 2, now_ns() + kKeepNs};
    tcp_abort(old);  // a pcb in TIME-WAIT is freed without a word to the peer
    return 0;        // and the SYN goes on to the listener
}

extern "C" u32_t mica_lwip_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                                   u16_t remote_port) {
    static uint64_t secret;
    if (!secret) secret = uint64_t{LWIP_RAND()} << 32 | LWIP_RAND() | 1;
    uint64_t now = now_ns();
    uint32_t local = ip4_addr_get_u32(ip_2_ip4(local_ip)), remote = ip4_addr_get_u32(ip_2_ip4(remote_ip));
    uint64_t addresses = mix(secret ^ (uint64_t{local} << 32 | remote)) ^ (uint64_t{local_port} << 16 | remote_port);
    auto isn = static_cast<uint32_t>(now / 4000 + mix(secret + addresses));
    for (Reopened& r : g_reopened) {
        if (!r.used) continue;
        if (now > r.until_ns) {
            r.used = false;
        } else if (r.local == local && r.remote == remote && r.local_port == local_port &&
                   r.remote_port == remote_port) {
            r.used = false;
            if (TCP_SEQ_LT(isn, r.floor)) isn = r.floor;
        }
    }
    return isn;
}
