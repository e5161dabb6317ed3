// httpd: serves files read-only over HTTP/1.0 (GET and HEAD), one
// connection at a time, from a directory of any file scheme (file:/ by
// default). A directory is answered with the list of its names.
//
//   httpd [port=80] [root=file:/]
#include "format.h"
#include "mica/files.h"
#include "mica/net.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

char g_root[proto::fs::kPathMax];
char g_request[4096];
uint8_t g_chunk[proto::fs::kChunk];

int64_t answer(net::Socket& s, const char* status, const char* type, uint64_t length) {
    char head[256];
    size_t n = format_to(head, sizeof head,
                         "HTTP/1.0 %s\r\nServer: mica-httpd\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
                         "Connection: close\r\n\r\n",
                         status, type, length);
    return net::send_all(s, head, n < sizeof head ? n : sizeof head - 1);
}

int64_t error(net::Socket& s, const char* status) {
    char body[96];
    size_t n = format_to(body, sizeof body, "%s\n", status);
    if (int64_t e = answer(s, status, "text/plain", n)) return e;
    return net::send_all(s, body, n);
}

bool ends_with(const char* text, const char* end) {
    size_t a = strlen(text), b = strlen(end);
    return a >= b && strcmp(text + a - b, end) == 0;
}

const char* type_of(const char* path) {
    if (ends_with(path, ".html")) return "text/html";
    if (ends_with(path, ".txt") || ends_with(path, ".md") || ends_with(path, "/README")) return "text/plain";
    return "application/octet-stream";
}

// The end of the request's head (a blank line) has arrived.
bool whole_head(const char* text, size_t length) {
    for (size_t i = 0; i + 1 < length; ++i) {
        if (text[i] == '\n' && (text[i + 1] == '\n' || (text[i + 1] == '\r' && i + 2 < length && text[i + 2] == '\n')))
            return true;
    }
    return false;
}

int64_t listing(net::Socket& s, const files::Name& n, bool head) {
    // Twice: once to learn the length, once to send.
    uint64_t length = 0;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) {
            if (int64_t e = answer(s, "200 OK", "text/plain", length)) return e;
            if (head) return kOk;
        }
        proto::fs::ReadDir::Request q{};
        copy_string(q.path, sizeof q.path, n.path);
        for (uint32_t i = 0; i < 100'000; ++i) {
            q.index = i;
            proto::fs::ReadDir::Reply r;
            if (rpc::call<proto::fs::ReadDir>(n.endpoint, q, &r) < 0) break;
            q.cursor = r.next;
            char line[proto::fs::kNameMax + 4];
            size_t k = format_to(line, sizeof line, "%s%s\n", r.name, r.type == proto::fs::kDirectory ? "/" : "");
            if (pass == 0) length += k;
            else if (int64_t e = net::send_all(s, line, k)) return e;
        }
    }
    return kOk;
}

int64_t serve(net::Socket& s) {
    size_t used = 0;
    while (used < sizeof g_request - 1) {
        int64_t n = net::receive(s, g_request + used, static_cast<uint32_t>(sizeof g_request - 1 - used));
        if (n <= 0) return n;
        used += static_cast<size_t>(n);
        g_request[used] = 0;
        if (whole_head(g_request, used)) break;
    }
    bool head = strncmp(g_request, "HEAD ", 5) == 0;
    if (!head && strncmp(g_request, "GET ", 4) != 0) return error(s, "405 Method Not Allowed");
    char* path = g_request + (head ? 5 : 4);
    char* end = path;
    while (*end && *end != ' ' && *end != '\r' && *end != '\n' && *end != '?') ++end;
    *end = 0;
    if (path[0] != '/') return error(s, "400 Bad Request");
    // The path is folded below the root: ".." cannot climb out of it.
    char name[proto::fs::kPathMax];
    size_t k = format_to(name, sizeof name, ".%s", path);
    if (k >= sizeof name) return error(s, "414 URI Too Long");
    files::Name n;
    if (files::resolve(name, g_root, &n) < 0) return error(s, "404 Not Found");
    proto::fs::Stat::Reply st;
    if (files::stat(n, &st) < 0) return error(s, "404 Not Found");
    if (st.type == proto::fs::kDirectory) return listing(s, n, head);
    if (int64_t e = answer(s, "200 OK", type_of(n.path), st.size)) return e;
    for (uint64_t offset = 0; !head && offset < st.size;) {
        int64_t got = files::read(n, offset, g_chunk, sizeof g_chunk);
        if (got <= 0) return got < 0 ? got : kErrIo;  // the file shrank: the client sees a short body
        if (int64_t e = net::send_all(s, g_chunk, static_cast<size_t>(got))) return e;
        offset += static_cast<uint64_t>(got);
    }
    return kOk;
}

}  // namespace

int main() {
    Words words(startup().cmdline);
    if (!words.accepts("port root", 0, 0, "httpd [port=80] [root=file:/]")) return 2;
    uint64_t port = Words::parse(words.value("port", "80"));
    files::Name root;
    if (port == 0 || port > 65535 || files::resolve(words.value("root", "file:/"), words.value("cwd", "file:/"), &root) < 0) {
        print("httpd: bad port or root\n");
        return 2;
    }
    copy_string(g_root, sizeof g_root, root.text);
    net::Socket listener;
    int64_t e = net::open(&listener, proto::net::kStream);
    if (e >= 0) e = net::bind(listener, 0, static_cast<uint16_t>(port));
    if (e >= 0) e = net::listen(listener, 16);
    if (e < 0) {
        print("httpd: cannot listen on port %lu: %s\n", port, error_name(e));
        return 1;
    }
    print("httpd: serving %s on port %lu\n", g_root, port);
    for (;;) {
        net::Socket c;
        if ((e = net::accept(listener, &c)) < 0) {
            print("httpd: accept: %s\n", error_name(e));
            return 1;
        }
        serve(c);
        net::close(c);
    }
}
