// ICMP echo for `ping`: requests go out through a raw pcb; the replies
// that match a waiting request finish it (calls.cpp keeps the callers).
#include "calls.h"

extern "C" {
#include "lwip/inet_chksum.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
}

using namespace mica;

namespace net {
namespace {

raw_pcb* g_raw;
constexpr uint16_t kIdentifier = 0x4d69;  // "Mi"

u8_t on_icmp(void*, raw_pcb*, pbuf* p, const ip_addr_t* from) {
    // A raw pcb sees the IP header first.
    if (p->tot_len < sizeof(ip_hdr) || p->len < sizeof(ip_hdr)) return 0;
    const auto* ip = static_cast<const ip_hdr*>(p->payload);
    uint32_t header = IPH_HL_BYTES(ip);
    icmp_echo_hdr echo;
    if (header < sizeof(ip_hdr) || p->tot_len < header + sizeof echo) return 0;
    pbuf_copy_partial(p, &echo, sizeof echo, static_cast<u16_t>(header));
    if (echo.type != ICMP_ER || echo.id != lwip_htons(kIdentifier)) return 0;  // not ours: lwIP goes on
    ping_answered(lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(from))), lwip_ntohs(echo.seqno), IPH_TTL(ip),
                  p->tot_len - header - sizeof echo);
    pbuf_free(p);
    return 1;
}

}  // namespace

void start_ping() {
    g_raw = raw_new(IP_PROTO_ICMP);
    if (g_raw) raw_recv(g_raw, on_icmp, nullptr);
}

int64_t op_ping(const pn::Ping::Request& q, pn::Ping::Reply&, rpc::Call& c) {
    if (!g_raw) return kErrNoMemory;
    if (q.size > 1472) return kErrInvalidArgument;
    pbuf* p = pbuf_alloc(PBUF_IP, static_cast<u16_t>(sizeof(icmp_echo_hdr) + q.size), PBUF_RAM);
    if (!p) return kErrNoMemory;
    auto* echo = static_cast<icmp_echo_hdr*>(p->payload);
    ICMPH_TYPE_SET(echo, ICMP_ECHO);
    ICMPH_CODE_SET(echo, 0);
    echo->id = lwip_htons(kIdentifier);
    echo->seqno = lwip_htons(q.sequence);
    echo->chksum = 0;
    auto* data = reinterpret_cast<uint8_t*>(echo + 1);
    for (uint32_t i = 0; i < q.size; ++i) data[i] = static_cast<uint8_t>(i);
    echo->chksum = inet_chksum(echo, p->len);
    ip_addr_t to;
    ip_addr_set_ip4_u32_val(to, lwip_htonl(q.address));
    if (int64_t e = keep_ping(c, q.timeout_ns, q.sequence, q.address)) {
        pbuf_free(p);
        return e;
    }
    err_t e = raw_sendto(g_raw, p, &to);
    pbuf_free(p);
    (void)e;  // no route: the caller's time runs out, as ping's would
    return kOk;
}

}  // namespace net
