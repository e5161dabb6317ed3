#include "mica/files.h"

#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/ns.h"

namespace mica::files {

namespace {

// Large requests live here, not on a thread's stack; one caller at a time.
proto::fs::Write::Request g_write_request;
proto::fs::NodeWrite::Request g_node_write;
// read_view's replies: by path a Read reply, by node the data alone (NodeRead).
// Page-aligned: the kernel copies a reply in pieces that end at page
// boundaries of either side, so a block-aligned reply from the file server's
// cache (page-aligned too) comes in whole pages.
union ReadReply {
    proto::fs::Read::Reply by_path;
    char by_node[proto::fs::kChunk];
};
alignas(4096) ReadReply g_read;

// A request by node; if the server restarted since the node was handed out
// (kErrStale), the file is held again and the request made once more.
template <class F>
int64_t by_node(const Name& n, F request) {
    int64_t e = request();
    if (e != kErrStale) return e;
    proto::fs::Reopen::Request q{n.node};
    static proto::fs::Reopen::Reply r;  // 4 KiB of room for data it never has: not on the stack
    if (int64_t re = rpc::call<proto::fs::Reopen>(n.endpoint, q, &r); re < 0) return re;
    n.node = r.node;
    return request();
}

// NodeRead, its bytes received straight into `into` (room for `length`):
// the reply is the data alone (proto/fs.h). Made again as rpc::call makes
// an idempotent operation again.
int64_t node_read(const Name& n, uint64_t offset, void* into, uint32_t length) {
    proto::fs::NodeRead::Request q{n.node, offset, length, 0};
    int64_t e = kErrProtocol;
    for (int i = 0; i < rpc::kRetries; ++i) {
        IpcBuffer b;
        b.send_data = &q, b.send_size = sizeof q;
        b.recv_data = into, b.recv_capacity = length;
        Message m{proto::fs::NodeRead::kLabel, 0, 0, 0};
        e = sys::ipc_call(n.endpoint, m, &b);
        if (e >= 0) {
            for (uint32_t h = 0; h < b.recv_handle_count; ++h) sys::handle_close(b.recv_handles[h]);
            e = static_cast<int64_t>(m.label);
            if (!proto::fs::NodeRead::reply_ok(e, b.recv_size, length)) e = kErrProtocol;
        }
        if (e != kErrPeerClosed && e != kErrProtocol) break;
    }
    return e;
}

}  // namespace

Handle scheme_endpoint(const char* scheme) {
    static struct {
        char scheme[32];
        Handle endpoint;
    } known[12];
    static int known_count = 0;
    for (int i = 0; i < known_count; ++i)
        if (!strcmp(known[i].scheme, scheme)) return known[i].endpoint;
    proto::ns::Lookup::Request q{};
    copy_string(q.scheme, sizeof q.scheme, scheme);
    proto::ns::Lookup::Reply r;
    Handle h = kNoHandle;
    if (rpc::call<proto::ns::Lookup>(startup_handle(kSlotNamespace), q, &r, rpc::Extras{.received_handle = &h}) != kOk)
        return kNoHandle;
    if (known_count < 12) {
        copy_string(known[known_count].scheme, sizeof known[known_count].scheme, scheme);
        known[known_count++].endpoint = h;
    }
    return h;
}

int64_t resolve(const char* name, const char* cwd, Name* out) {
    int64_t e = fold_name(name, cwd, out);
    if (e != kOk) return e;
    out->endpoint = scheme_endpoint(out->scheme);
    return out->endpoint == kNoHandle ? kErrNotFound : kOk;
}

int64_t read(const Name& n, uint64_t offset, void* buffer, uint32_t length) {
    length = length < proto::fs::kChunk ? length : proto::fs::kChunk;
    if (n.node.inode) return by_node(n, [&] { return node_read(n, offset, buffer, length); });
    const void* data;
    int64_t got = read_view(n, offset, length, &data);
    if (got > 0) memcpy(buffer, data, static_cast<size_t>(got));
    return got;
}

int64_t read_view(const Name& n, uint64_t offset, uint32_t length, const void** data) {
    length = length < proto::fs::kChunk ? length : proto::fs::kChunk;
    if (n.node.inode) {
        *data = g_read.by_node;
        return by_node(n, [&] { return node_read(n, offset, g_read.by_node, length); });
    }
    static proto::fs::Read::Request q;
    copy_string(q.path, sizeof q.path, n.path);
    q.offset = offset, q.length = length;
    int64_t e = rpc::call<proto::fs::Read>(n.endpoint, q, &g_read.by_path);
    if (e < 0) return e;
    *data = g_read.by_path.data;
    return g_read.by_path.size <= length ? g_read.by_path.size : length;
}

int64_t write(const Name& n, uint64_t offset, const void* buffer, uint32_t length) {
    if (length > proto::fs::kChunk) return kErrInvalidArgument;
    copy_string(g_write_request.path, sizeof g_write_request.path, n.path);
    auto* data = static_cast<const uint8_t*>(buffer);
    // A short write (the disk filled part-way) is asked again for the rest,
    // so that the caller hears the server's reason (no space left) for it.
    while (length > 0) {
        proto::fs::Write::Reply r;
        int64_t e;
        if (n.node.inode) {
            g_node_write.offset = offset, g_node_write.length = length;
            memcpy(g_node_write.data, data, length);
            e = by_node(n, [&] {
                g_node_write.node = n.node;
                return rpc::call<proto::fs::NodeWrite>(n.endpoint, g_node_write, &r, {},
                                                       proto::fs::NodeWrite::kMinRequest + length);
            });
        } else {
            g_write_request.offset = offset, g_write_request.length = length;
            memcpy(g_write_request.data, data, length);
            e = rpc::call<proto::fs::Write>(n.endpoint, g_write_request, &r, {}, proto::fs::Write::kMinRequest + length);
        }
        if (e < 0) return e;
        if (r.written == 0 || r.written > length) return kErrIo;  // no progress, and no reason
        offset += r.written, data += r.written, length -= r.written;
    }
    return kOk;
}

int64_t stat(const Name& n, proto::fs::Stat::Reply* out) {
    *out = {};
    if (n.node.inode)
        return by_node(n, [&] { return rpc::call<proto::fs::NodeStat>(n.endpoint, proto::fs::NodeStat::Request{n.node}, out); });
    static proto::fs::Stat::Request q;
    copy_string(q.path, sizeof q.path, n.path);
    return rpc::call<proto::fs::Stat>(n.endpoint, q, out);
}

int64_t truncate(const Name& n, uint64_t size) {
    if (n.node.inode) {
        proto::fs::NodeTruncate::Reply r;
        return by_node(n, [&] { return rpc::call<proto::fs::NodeTruncate>(n.endpoint, {n.node, size}, &r); });
    }
    static proto::fs::Truncate::Request t;
    copy_string(t.path, sizeof t.path, n.path);
    t.size = size;
    proto::fs::Truncate::Reply tr;
    return rpc::call<proto::fs::Truncate>(n.endpoint, t, &tr);
}

int64_t chown(const Name& n, uint32_t uid, uint32_t gid) {
    proto::fs::Chown::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    q.uid = uid, q.gid = gid;
    proto::fs::Chown::Reply r;
    return rpc::call<proto::fs::Chown>(n.endpoint, q, &r);
}

int64_t chmod(const Name& n, uint32_t mode) {
    proto::fs::Chmod::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    q.mode = mode & 07777;
    proto::fs::Chmod::Reply r;
    return rpc::call<proto::fs::Chmod>(n.endpoint, q, &r);
}

int64_t create(const Name& n, bool exclusive) {
    proto::fs::Create::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    q.exclusive = exclusive;
    proto::fs::Create::Reply r;
    return rpc::call<proto::fs::Create>(n.endpoint, q, &r);
}

int64_t open(Name& n, uint32_t flags, proto::fs::Stat::Reply* out, uint32_t mode, bool* created, const void** first,
             uint32_t* first_size) {
    static proto::fs::Open::Request q;
    static proto::fs::Open::Reply r;
    size_t length = copy_string(q.path, sizeof q.path, n.path);
    q.flags = flags | (first ? proto::fs::kOpenRead : 0u), q.mode = mode;
    if (first) *first = r.data, *first_size = 0;
    int64_t e = rpc::call<proto::fs::Open>(n.endpoint, q, &r, {},
                                           static_cast<uint32_t>(offsetof(proto::fs::Open::Request, path) + length + 1));
    if (created) *created = e == kOk && r.created;
    if (e == kOk) {
        n.node = r.node;
        *out = r.stat;
        if (first) *first_size = r.size <= sizeof r.data ? r.size : 0;
        return kOk;
    }
    n.node = {};
    if (e != kErrUnsupported) return e;
    if (flags & proto::fs::kOpenCreate && (e = create(n, flags & proto::fs::kOpenExclusive)) < 0) return e;
    return stat(n, out);
}

int64_t close(Name& n) {
    if (!n.node.inode) return kOk;
    proto::fs::Close::Reply r;
    int64_t e = rpc::call<proto::fs::Close>(n.endpoint, proto::fs::Close::Request{n.node}, &r);
    n.node = {};
    return e;
}

int64_t set_times(const Name& n, uint32_t atime, uint32_t mtime) {
    if (!n.node.inode) return kErrUnsupported;
    proto::fs::SetTimes::Reply r;
    return by_node(n, [&] { return rpc::call<proto::fs::SetTimes>(n.endpoint, {n.node, atime, mtime}, &r); });
}

int64_t make_empty(const Name& n) {
    int64_t e = create(n);
    return e < 0 ? e : truncate(n, 0);
}

uint32_t crc32(uint32_t crc, const void* data, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    auto* p = static_cast<const uint8_t*>(data);
    crc = ~crc;
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

}  // namespace mica::files
