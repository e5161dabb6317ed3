// netbench: TCP over the loopback for `./mica bench` — a 1-byte round trip
// between two threads (`net.tcp.rr`: client send, server receive and send
// back, client receive: four calls to net: and lwIP's whole path twice),
// timed with the cycle counter (instructions under -icount), and a stream
// of 8 MiB one way (`net.tcp.stream`, MiB/s by the clock). The echoing
// thread makes its calls with buffers of its own: the socket library's are
// for one thread.
//
// `netbench serve [port=80]` is the other end of tools/linux_pipe/
// net_throughput.py --mica, with the protocol of that tool's Linux guest
// (tcp_stream.c), so that streams between the host and Mica and between the
// host and Linux are timed alike: "PING" -> "PONG"; "GET N" -> N MiB, then
// the end; "PUT N" and N MiB -> "OK <bytes>"; "QUIT" ends it. One line, then
// the data, per connection.
#include "format.h"
#include "mica/files.h"
#include "mica/net.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;
namespace pn = proto::net;

namespace {

constexpr int kRounds = 2000;
constexpr uint16_t kPort = 5001;
uint64_t g_samples[kRounds];
pn::Send::Request g_echo_send;
pn::Receive::Reply g_echo_receive;
uint8_t g_chunk[pn::kChunk];

uint64_t ticks() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return static_cast<uint64_t>(hi) << 32 | lo;
}

// Accepts one connection and sends back each byte that comes, until the end.
void echo(void* arg) {
    auto* listener = static_cast<net::Socket*>(arg);
    net::Socket c;
    if (net::accept(*listener, &c) < 0) return;
    Handle server = files::scheme_endpoint("net");
    for (;;) {
        pn::Receive::Request q{c.id, 0, pn::kChunk};
        if (rpc::call<pn::Receive>(server, q, &g_echo_receive) < 0 || g_echo_receive.size == 0) break;
        if (g_echo_receive.size > 1) continue;  // the stream: taken, not sent back
        g_echo_send.socket = c.id, g_echo_send.length = 1, g_echo_send.data[0] = g_echo_receive.data[0];
        pn::Send::Reply r;
        if (rpc::call<pn::Send>(server, g_echo_send, &r, {}, pn::Send::kMinRequest + 1) < 0) break;
    }
    pn::Close::Request q{c.id};
    pn::Close::Reply r;
    rpc::call<pn::Close>(server, q, &r);
}

int fail(const char* what, int64_t e) {
    print("netbench: %s: %s\n", what, error_name(e));
    return 1;
}

// One connection of `serve`: false after QUIT.
bool serve_one(net::Socket& c) {
    char line[32];
    uint32_t length = 0, have = 0;
    int64_t got = 0;
    while (length < sizeof line - 1) {  // the request line (data may follow it in the same chunk)
        if ((got = net::receive(c, g_chunk, sizeof g_chunk)) <= 0) return true;
        uint32_t i = 0;
        while (i < got && g_chunk[i] != '\n' && length < sizeof line - 1) line[length++] = static_cast<char>(g_chunk[i++]);
        if (i < got) {
            have = static_cast<uint32_t>(got) - i - 1;  // bytes of data after the newline
            break;
        }
    }
    line[length] = '\0';
    uint64_t mib = 0;
    for (const char* d = line + 4; *d >= '0' && *d <= '9'; ++d) mib = mib * 10 + static_cast<uint64_t>(*d - '0');
    if (!strcmp(line, "PING")) {
        net::send_all(c, "PONG\n", 5);
    } else if (!strncmp(line, "GET ", 4)) {
        for (uint64_t sent = 0; sent < mib << 20; sent += sizeof g_chunk)
            if (net::send_all(c, g_chunk, sizeof g_chunk) < 0) break;
    } else if (!strncmp(line, "PUT ", 4)) {
        uint64_t total = have;
        while (total < mib << 20 && (got = net::receive(c, g_chunk, sizeof g_chunk)) > 0) total += static_cast<uint64_t>(got);
        char answer[32];
        net::send_all(c, answer, format_to(answer, sizeof answer, "OK %lu\n", total));
    } else if (!strcmp(line, "QUIT")) {
        return false;
    }
    return true;
}

int serve(uint16_t port) {
    net::Socket listener;
    int64_t e = net::open(&listener, pn::kStream);
    if (e >= 0) e = net::bind(listener, 0, port);
    if (e >= 0) e = net::listen(listener, 4);
    if (e < 0) return fail("listening", e);
    print("netbench: serving streams on port %u\n", port);
    for (bool more = true; more;) {
        net::Socket c;
        if ((e = net::accept(listener, &c)) < 0) return fail("accepting", e);
        more = serve_one(c);
        net::close(c);
    }
    net::close(listener);
    return 0;
}

}  // namespace

int main() {
    Words words(startup().cmdline);
    if (words.count() >= 1 && !strcmp(words[0], "serve")) {
        if (!words.accepts("port", 1, 1, "netbench serve [port=N]")) return 2;
        return serve(static_cast<uint16_t>(Words::parse(words.value("port", "80"))));
    }
    if (!words.accepts("", 0, 0, "netbench [serve [port=N]]")) return 2;
    net::Socket listener, s;
    int64_t e = net::open(&listener, pn::kStream);
    if (e >= 0) e = net::bind(listener, 0x7f000001, kPort);
    if (e >= 0) e = net::listen(listener, 1);
    if (e < 0) return fail("listening", e);
    if (int64_t t = start_thread(echo, &listener, 15); t < 0) return fail("starting the echo thread", t);
    e = net::open(&s, pn::kStream);
    if (e >= 0) e = net::connect(s, 0x7f000001, kPort);
    if (e < 0) return fail("connecting", e);
    uint8_t byte = 'x';
    for (int i = -10; i < kRounds; ++i) {  // the first ten warm the path
        uint64_t t0 = ticks();
        if ((e = net::send(s, &byte, 1)) < 0 || (e = net::receive(s, &byte, 1)) <= 0) return fail("a round trip", e);
        if (i >= 0) g_samples[i] = ticks() - t0;
    }
    for (int i = 1; i < kRounds; ++i)  // insertion sort: the median, least and most
        for (int j = i; j > 0 && g_samples[j - 1] > g_samples[j]; --j) {
            uint64_t t = g_samples[j];
            g_samples[j] = g_samples[j - 1], g_samples[j - 1] = t;
        }
    print("bench net.tcp.rr.median %lu ticks\n", g_samples[kRounds / 2]);
    print("bench net.tcp.rr.min %lu ticks\n", g_samples[0]);
    print("bench net.tcp.rr.max %lu ticks\n", g_samples[kRounds - 1]);
    constexpr uint64_t kStream = 8 << 20;
    uint64_t started = static_cast<uint64_t>(sys::clock_monotonic());
    for (uint64_t sent = 0; sent < kStream; sent += sizeof g_chunk)
        if ((e = net::send_all(s, g_chunk, sizeof g_chunk)) < 0) return fail("streaming", e);
    uint64_t ns = static_cast<uint64_t>(sys::clock_monotonic()) - started;
    uint64_t centi = ns ? kStream * 100 * 1'000'000'000 / ns / (1 << 20) : 0;
    print("bench net.tcp.stream %lu.%02lu MiB/s\n", centi / 100, centi % 100);
    net::close(s);
    net::close(listener);
    print("netbench-done\n");
    return 0;
}
