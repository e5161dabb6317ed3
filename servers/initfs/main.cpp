// initfs: the boot file system, read-only, served as the scheme `initfs:`
// from the archive the boot loader brought (a ustar file; see
// tools/mkinitfs.py). Startup slots: kSlotEndpoint; kSlotModule, the archive.
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/tar.h"
#include "proto/fs.h"
#include "mica/strings.h"

using namespace mica;

namespace {

const uint8_t* g_archive;
size_t g_size;

// Copies `path` without leading and trailing slashes; false if unterminated.
bool normalize(const char* in, char* out) {
    size_t n = strnlen(in, proto::fs::kPathMax);
    if (n == proto::fs::kPathMax) return false;
    while (*in == '/') ++in, --n;
    while (n && in[n - 1] == '/') --n;
    memcpy(out, in, n);
    out[n] = '\0';
    return true;
}

bool find(const char* path, tar::Entry* out) {
    bool found = false;
    tar::for_each(g_archive, g_size, [&](const tar::Entry& e) {
        if (strcmp(e.path, path) != 0) return true;
        *out = e;
        found = true;
        return false;
    });
    return found;
}

int64_t stat(const proto::fs::Stat::Request& q, proto::fs::Stat::Reply& r, rpc::Call&) {
    char path[proto::fs::kPathMax];
    if (!normalize(q.path, path)) return kErrInvalidArgument;
    tar::Entry e;
    if (path[0] == '\0') {
        r.type = proto::fs::kDirectory;
        return kOk;
    }
    if (!find(path, &e)) return kErrNotFound;
    r.size = e.size;
    r.type = e.directory ? proto::fs::kDirectory : proto::fs::kFile;
    return kOk;
}

int64_t read(const proto::fs::Read::Request& q, proto::fs::Read::Reply& r, rpc::Call& c) {
    char path[proto::fs::kPathMax];
    if (!normalize(q.path, path)) return kErrInvalidArgument;
    tar::Entry e;
    if (!find(path, &e)) return kErrNotFound;
    if (e.directory) return kErrIsDirectory;
    c.reply_size = proto::fs::Read::kMinReply;
    if (q.offset >= e.size) return 0;
    uint64_t n = e.size - q.offset;
    if (n > q.length) n = q.length;
    if (n > sizeof r.data) n = sizeof r.data;
    memcpy(r.data, e.data + q.offset, n);
    r.size = static_cast<uint32_t>(n);
    c.reply_size += r.size;
    return static_cast<int64_t>(n);
}

int64_t readdir(const proto::fs::ReadDir::Request& q, proto::fs::ReadDir::Reply& r, rpc::Call&) {
    char dir[proto::fs::kPathMax];
    if (!normalize(q.path, dir)) return kErrInvalidArgument;
    size_t dir_len = strlen(dir);
    tar::Entry e;
    if (dir_len && (!find(dir, &e) || !e.directory)) return kErrNotFound;
    uint32_t index = 0;
    bool found = false;
    tar::for_each(g_archive, g_size, [&](const tar::Entry& entry) {
        // A direct child: "dir/name" with no further '/'.
        const char* p = entry.path;
        if (dir_len) {
            if (strncmp(p, dir, dir_len) != 0 || p[dir_len] != '/') return true;
            p += dir_len + 1;
        }
        if (!*p || strchr(p, '/')) return true;
        if (index++ != q.index) return true;
        size_t n = strnlen(p, sizeof r.name - 1);
        memcpy(r.name, p, n);
        r.name[n] = '\0';
        r.size = entry.size;
        r.type = entry.directory ? proto::fs::kDirectory : proto::fs::kFile;
        found = true;
        return false;
    });
    return found ? kOk : kErrNotFound;
}

}  // namespace

int main() {
    const StartupInfo& info = startup();
    const Handle endpoint = service_endpoint("initfs");
    if (startup_handle(kSlotModule) == kNoHandle) return 1;
    // The archive's size comes from init, which has it from the kernel.
    uint64_t size = 0;
    char size_text[24];
    if (!cmdline_value("size", size_text, sizeof size_text)) return 1;
    for (const char* p = size_text; *p >= '0' && *p <= '9'; ++p) size = size * 10 + (*p - '0');
    uintptr_t at = reserve_address_range(size);
    if (sys::vm_map(info.self_process, at, startup_handle(kSlotModule), 0, (size + kPageSize - 1) & ~(kPageSize - 1),
                    kVmRead) != kOk)
        return 2;
    g_archive = reinterpret_cast<const uint8_t*>(at);
    g_size = size;
    rpc::Server server(endpoint);
    server.on<proto::fs::Stat>(stat);
    server.on<proto::fs::Read>(read);
    server.on<proto::fs::ReadDir>(readdir);
    server.run();
}
