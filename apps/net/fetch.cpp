// fetch: gets a file over HTTP (GET, HTTP/1.0) and saves it, or prints it
// when no file is named; says how many bytes came and their CRC-32.
//
//   fetch http://A.B.C.D[:PORT]/PATH [FILE]
#include "format.h"
#include "mica/files.h"
#include "mica/net.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

uint8_t g_buffer[proto::fs::kChunk];

bool parse_url(const char* url, uint32_t* address, uint16_t* port, const char** path) {
    if (strncmp(url, "http://", 7) != 0) return false;
    char host[24];
    const char* p = url + 7;
    size_t n = 0;
    while (p[n] && p[n] != ':' && p[n] != '/' && n < sizeof host - 1) host[n] = p[n], ++n;
    host[n] = 0;
    if (!net::parse_ipv4(host, address)) return false;
    p += n;
    *port = 80;
    if (*p == ':') {
        uint32_t value = 0;
        for (++p; *p >= '0' && *p <= '9' && value <= 65535; ++p) value = value * 10 + static_cast<uint32_t>(*p - '0');
        if (value == 0 || value > 65535) return false;
        *port = static_cast<uint16_t>(value);
    }
    *path = *p ? p : "/";
    return *p == 0 || *p == '/';
}

}  // namespace

int main() {
    Words words(startup().cmdline);
    if (!words.accepts("", 1, 2, "fetch http://A.B.C.D[:PORT]/PATH [FILE]")) return 2;
    uint32_t address;
    uint16_t port;
    const char* path;
    if (!parse_url(words[0], &address, &port, &path)) {
        print("fetch: %s: not an http://A.B.C.D[:PORT]/PATH address\n", words[0]);
        return 2;
    }
    files::Name out;
    bool to_file = words.count() == 2;
    if (to_file) {
        int64_t e = files::resolve(words[1], words.value("cwd", "file:/"), &out);
        if (e >= 0) e = files::make_empty(out);
        if (e < 0) {
            print("fetch: %s: %s\n", words[1], error_name(e));
            return 1;
        }
    }
    uint64_t started = static_cast<uint64_t>(sys::clock_monotonic());
    net::Socket s;
    int64_t e = net::open(&s, proto::net::kStream);
    if (e >= 0) e = net::connect(s, address, port);
    char request[1200];
    char host[16];
    net::format_ipv4(address, host);
    size_t n = format_to(request, sizeof request, "GET %s HTTP/1.0\r\nHost: %s:%u\r\nUser-Agent: mica-fetch\r\n\r\n",
                         path, host, port);
    if (e >= 0 && n >= sizeof request) e = kErrNameTooLong;
    if (e >= 0) e = net::send_all(s, request, n);
    if (e < 0) {
        print("fetch: %s: %s\n", words[0], error_name(e));
        return 1;
    }
    // The head: up to the blank line; the status line says whether a body follows.
    size_t used = 0;
    size_t body = 0;
    while (!body) {
        int64_t got = net::receive(s, g_buffer + used, static_cast<uint32_t>(sizeof g_buffer - used));
        if (got <= 0) {
            print("fetch: %s: %s\n", words[0], got < 0 ? error_name(got) : "no answer");
            return 1;
        }
        used += static_cast<size_t>(got);
        for (size_t i = 0; i + 3 < used && !body; ++i)
            if (memcmp(g_buffer + i, "\r\n\r\n", 4) == 0) body = i + 4;
        if (!body && used == sizeof g_buffer) {
            print("fetch: %s: the answer's head is too long\n", words[0]);
            return 1;
        }
    }
    if (memcmp(g_buffer, "HTTP/1.", 7) != 0 || used < 12 || memcmp(g_buffer + 9, "200", 3) != 0) {
        size_t end = 0;
        while (end < body && g_buffer[end] != '\r') ++end;
        g_buffer[end] = 0;
        print("fetch: %s: %s\n", words[0], reinterpret_cast<char*>(g_buffer));
        return 1;
    }
    // The body ends at Content-Length when the head says it, else when the
    // server closes (HTTP/1.0).
    uint64_t expected = ~0ull;
    for (size_t i = 0; i + 16 < body; ++i) {
        if (g_buffer[i] != '\n') continue;
        const char* line = reinterpret_cast<const char*>(g_buffer + i + 1);
        const char* name = "content-length:";
        size_t k = 0;
        while (name[k] && (line[k] | 0x20) == name[k]) ++k;
        if (name[k]) continue;
        expected = 0;
        for (line += k; *line == ' ';) ++line;
        for (; *line >= '0' && *line <= '9'; ++line) expected = expected * 10 + static_cast<uint64_t>(*line - '0');
    }
    uint64_t total = 0;
    uint32_t crc = 0;
    auto take = [&](const uint8_t* data, size_t length) -> int64_t {
        crc = files::crc32(crc, data, length);
        int64_t w = kOk;
        if (to_file) w = files::write(out, total, data, static_cast<uint32_t>(length));
        else print("%.*s", static_cast<int>(length), reinterpret_cast<const char*>(data));
        total += length;
        return w < 0 ? w : kOk;
    };
    if (int64_t w = take(g_buffer + body, used - body)) e = w;
    while (e >= 0 && total < expected) {
        int64_t got = net::receive(s, g_buffer, sizeof g_buffer);
        if (got <= 0) {
            e = got;
            break;
        }
        e = take(g_buffer, static_cast<size_t>(got));
    }
    net::close(s);
    if (e < 0 || (expected != ~0ull && total != expected)) {
        print("fetch: %s: %s after %lu bytes\n", words[0], e < 0 ? error_name(e) : "the body is not as long as said",
              total);
        return 1;
    }
    uint64_t ms = (static_cast<uint64_t>(sys::clock_monotonic()) - started) / 1'000'000;
    print("fetch: %lu bytes, crc32 %08x (%lu ms)\n", total, crc, ms);
    return 0;
}
