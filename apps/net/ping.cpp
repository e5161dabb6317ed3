// ping: ICMP echo requests through the TCP/IP server, one a second.
//
//   ping [count=N] [size=BYTES] ADDRESS
#include "mica/net.h"
#include "mica/words.h"

using namespace mica;

int main() {
    Words words(startup().cmdline);
    if (!words.accepts("count size", 1, 1, "ping [count=N] [size=BYTES] A.B.C.D")) return 2;
    uint32_t address;
    if (!net::parse_ipv4(words[0], &address)) {
        print("ping: %s: not an IPv4 address\n", words[0]);
        return 2;
    }
    uint64_t count = Words::parse(words.value("count", "4")), size = Words::parse(words.value("size", "56"));
    if (size > 1472) size = 1472;
    uint64_t answered = 0, total_ns = 0, least = ~0ull, most = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t started = static_cast<uint64_t>(sys::clock_monotonic());
        proto::net::Ping::Reply r;
        int64_t e = net::ping(address, static_cast<uint16_t>(i), static_cast<uint16_t>(size), 1'000'000'000, &r);
        if (e == kErrTimedOut) {
            print("no answer from %s: seq=%lu\n", words[0], i);
        } else if (e < 0) {
            print("ping: %s\n", error_name(e));
            return 1;
        } else {
            ++answered;
            total_ns += r.rtt_ns;
            least = r.rtt_ns < least ? r.rtt_ns : least;
            most = r.rtt_ns > most ? r.rtt_ns : most;
            print("%u bytes from %s: seq=%lu ttl=%u time=%lu.%03lu ms\n", r.size + 8, words[0], i, r.ttl,
                  r.rtt_ns / 1'000'000, r.rtt_ns / 1000 % 1000);
        }
        uint64_t spent = static_cast<uint64_t>(sys::clock_monotonic()) - started;
        if (i + 1 < count && spent < 1'000'000'000) sys::thread_sleep(1'000'000'000 - spent);
    }
    print("%lu sent, %lu answered", count, answered);
    if (answered) {
        uint64_t mean = total_ns / answered;
        print(", time min/avg/max %lu.%03lu/%lu.%03lu/%lu.%03lu ms", least / 1'000'000, least / 1000 % 1000,
              mean / 1'000'000, mean / 1000 % 1000, most / 1'000'000, most / 1000 % 1000);
    }
    print("\n");
    return answered ? 0 : 1;
}
