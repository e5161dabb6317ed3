// ext2fs: the file server. Serves an ext2 file system on the disk (disk:,
// found through the namespace) as `file:`, with the stateless file protocol
// (proto/fs.h). The format itself is lib/ext2; this is the glue: requests
// in, block reads and writes out.
//
// Nothing acknowledged lives only here: lib/ext2 writes every block an
// operation changed before the operation returns, so this server can be
// killed between any two requests and restarted without loss (the restart
// tests do exactly that). On an ext3 disk each operation is a journal
// transaction, committed and flushed before the reply: killed in the middle
// of one, the next incarnation's mount replays what was committed. A disk
// request caught in the disk driver's crash is made again until the
// driver's next incarnation answers it.
// Startup slots: kSlotEndpoint, kSlotNamespace, kSlotLog.
#include <new>

#include "ext2/volume.h"
#include "mica/log.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/disk.h"
#include "proto/fs.h"
#include "proto/ns.h"
#include "proto/rtc.h"

using namespace mica;

namespace {

Handle lookup(const char* scheme) {
    proto::ns::Lookup::Request q{};
    copy_string(q.scheme, sizeof q.scheme, scheme);
    proto::ns::Lookup::Reply r;
    Handle h = kNoHandle;
    int64_t e = rpc::call<proto::ns::Lookup>(startup_handle(kSlotNamespace), q, &r, rpc::Extras{.received_handle = &h});
    return e == kOk ? h : kNoHandle;
}

// --- the disk, through the disk: protocol ---------------------------------------------

// How often a disk request may meet a driver that dies before the file
// server reports an I/O error. A request made again waits on the disk's
// endpoint (which outlives the driver's incarnations) until the next
// incarnation receives it: no polling, no pause; each wait is bounded.
constexpr int kDiskAttempts = 40;
constexpr uint64_t kDiskTimeout = 10'000'000'000;

class Disk final : public ext2::BlockDevice {
public:
    explicit Disk(Handle endpoint, uint64_t sectors) : endpoint_(endpoint), sectors_(sectors) {}

    int64_t read(uint64_t sector, uint32_t count, void* buffer) override {
        auto* out = static_cast<uint8_t*>(buffer);
        while (count > 0) {
            uint32_t n = count < proto::disk::kMaxSectors ? count : proto::disk::kMaxSectors;
            proto::disk::Read::Request q{sector, n};
            int64_t e = persist([&] { return rpc::call<proto::disk::Read>(endpoint_, q, &reply_, extras()); });
            if (e < 0) return e;
            if (reply_.count != n) return kErrIo;
            memcpy(out, reply_.data, n * proto::disk::kSectorSize);
            out += n * proto::disk::kSectorSize, sector += n, count -= n;
        }
        return kOk;
    }

    int64_t write(uint64_t sector, uint32_t count, const void* buffer) override {
        auto* in = static_cast<const uint8_t*>(buffer);
        while (count > 0) {
            uint32_t n = count < proto::disk::kMaxSectors ? count : proto::disk::kMaxSectors;
            write_.sector = sector, write_.count = n;
            memcpy(write_.data, in, n * proto::disk::kSectorSize);
            proto::disk::Write::Reply r;
            uint32_t size = proto::disk::Write::kMinRequest + n * proto::disk::kSectorSize;
            int64_t e = persist([&] { return rpc::call<proto::disk::Write>(endpoint_, write_, &r, extras(), size); });
            if (e < 0) return e;
            rpc::crash_point();
            in += n * proto::disk::kSectorSize, sector += n, count -= n;
        }
        return kOk;
    }

    int64_t flush() override {
        proto::disk::Flush::Request q{};
        proto::disk::Flush::Reply r;
        int64_t e = persist([&] { return rpc::call<proto::disk::Flush>(endpoint_, q, &r, extras()); });
        if (e >= 0) rpc::crash_point();
        return e;
    }

    uint64_t sector_count() const override { return sectors_; }

private:
    static rpc::Extras extras() { return rpc::Extras{.timeout_ns = kDiskTimeout}; }

    template <class F>
    int64_t persist(F request) {
        int64_t e = kErrIo;
        for (int i = 0; i < kDiskAttempts; ++i) {
            e = request();
            if (e != kErrPeerClosed && e != kErrTimedOut) break;
        }
        if (e == kErrPeerClosed || e == kErrTimedOut) {
            logf("ext2fs: the disk does not answer (%s)", error_name(e));
            return kErrIo;
        }
        return e;
    }

    Handle endpoint_;
    uint64_t sectors_;
    proto::disk::Read::Reply reply_;
    proto::disk::Write::Request write_;
};

// --- the clock for timestamps ---------------------------------------------------------

uint64_t g_epoch_offset = 0;  // seconds since 1970 at monotonic time 0

uint64_t days_from_civil(uint64_t y, unsigned m, unsigned d) {
    // Days since 1970-01-01 (proleptic Gregorian calendar).
    y -= m <= 2;
    uint64_t era = y / 400, yoe = y - era * 400;
    uint64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void read_clock() {
    Handle rtc = lookup("rtc");
    if (rtc == kNoHandle) return;
    proto::rtc::Now::Request q{};
    proto::rtc::Now::Reply r;
    if (rpc::call<proto::rtc::Now>(rtc, q, &r, rpc::Extras{.timeout_ns = 1'000'000'000}) == kOk && r.year >= 1970) {
        uint64_t now = days_from_civil(r.year, r.month, r.day) * 86400 + r.hour * 3600 + r.minute * 60 + r.second;
        g_epoch_offset = now - static_cast<uint64_t>(sys::clock_monotonic()) / 1'000'000'000;
    }
    sys::handle_close(rtc);
}

// The wall clock, read from the RTC at the first time stamp an incarnation
// writes (once, whatever the answer): a restart does not wait for it.
uint32_t now() {
    static bool read = false;
    if (!read) {
        read = true;
        read_clock();
    }
    if (!g_epoch_offset) return 0;
    return static_cast<uint32_t>(g_epoch_offset + static_cast<uint64_t>(sys::clock_monotonic()) / 1'000'000'000);
}

// --- the volume -------------------------------------------------------------------------

ext2::Volume* g_volume = nullptr;
Disk* g_disk = nullptr;

// Mounts on first use (and tries again on later requests if that failed:
// the disk may have been restarting).
int64_t volume(ext2::Volume** out) {
    if (!g_volume) {
        if (!g_disk) {
            Handle disk = lookup("disk");
            if (disk == kNoHandle) return kErrNotFound;
            proto::disk::Info::Request q{};
            proto::disk::Info::Reply r;
            int64_t e = rpc::call<proto::disk::Info>(disk, q, &r, rpc::Extras{.timeout_ns = kDiskTimeout});
            if (e < 0) {
                sys::handle_close(disk);
                logf("ext2fs: no disk (%s)", error_name(e));
                return e == kErrPeerClosed ? kErrNotFound : e;
            }
            g_disk = new (std::nothrow) Disk(disk, r.sectors);
            if (!g_disk) return kErrNoMemory;
        }
        int64_t began = sys::clock_monotonic();
        int64_t e = ext2::Volume::mount(g_disk, &g_volume);
        uint64_t took = static_cast<uint64_t>(sys::clock_monotonic() - began) / 1000;  // µs
        if (e == kErrUnsupported) {
            static bool said = false;  // once, not at every request
            if (!said) logf("file: %s; the disk is left untouched", ext2::Volume::refusal());
            said = true;
            return e;
        }
        if (e < 0) {
            logf("ext2fs: cannot mount the disk (%s)", error_name(e));
            return e;
        }
        g_volume->set_clock(now);
        ext2::FsStat s;
        g_volume->statfs(&s);
        logf("ext2fs: mounted '%s' in %lu.%03lu ms: %lu of %lu blocks of %u bytes free, %u of %u inodes free%s%s",
             s.label, took / 1000, took % 1000, s.free_blocks, s.blocks, s.block_size, s.free_inodes, s.inodes,
             g_volume->journaled() ? ", journaled" : "", g_volume->read_only() ? ", read-only" : "");
        if (uint32_t n = ext2::Volume::replayed()) logf("ext2fs: the journal held %u committed transactions: replayed", n);
        if (g_volume->read_only()) logf("file: %s: the disk is mounted read-only", ext2::Volume::refusal());
    }
    *out = g_volume;
    return kOk;
}

bool bounded(const char* path) { return strnlen(path, proto::fs::kPathMax) < proto::fs::kPathMax; }

// The volume a request on `path` goes to, or why there is none.
int64_t volume_for(const char* path, ext2::Volume** v) { return bounded(path) ? volume(v) : kErrNameTooLong; }

// --- long work in bounded steps ------------------------------------------------------------

// A truncate that frees much (a sparse file of thousands of indirect
// blocks takes seconds) is done in steps of at most about 50 ms, each a
// complete, consistent truncate to a size between the old and the new one;
// between steps the server answers other clients and the liveness probe.
// Meanwhile every request that changes the file system waits (postponed)
// until it is done, and the file's size reads as its new size, so nobody
// sees one in between. Reads below the new size are untouched by it.
struct Shrink {
    bool active = false;
    char path[proto::fs::kPathMax];
    uint32_t inode = 0;
    uint64_t size = 0, target = 0;
    uint64_t chunk = 64ULL << 20;  // logical bytes per truncate, adapted to what a step costs
    Handle reply = kNoHandle;
};
Shrink g_shrink;

constexpr uint64_t kStepBudget = 50'000'000;
constexpr uint64_t kQuickShrink = 1 << 20;  // at most this much goes at once

void shrink_done(int64_t status) {
    proto::fs::Truncate::Reply r{};
    rpc::reply_later<proto::fs::Truncate>(g_shrink.reply, status, r);
    sys::handle_close(g_shrink.reply);
    g_shrink.active = false;
}

bool shrink_step() {
    if (!g_shrink.active) return false;
    auto now = [] { return static_cast<uint64_t>(sys::clock_monotonic()); };
    uint64_t start = now();
    while (g_shrink.size > g_shrink.target && now() - start < kStepBudget) {
        uint64_t left = g_shrink.size - g_shrink.target;
        uint64_t next = left > g_shrink.chunk ? g_shrink.size - g_shrink.chunk : g_shrink.target;
        uint64_t began = now();
        if (int64_t e = g_volume->truncate(g_shrink.path, next); e < 0) {
            shrink_done(e);
            return false;
        }
        g_shrink.size = next;
        uint64_t took = now() - began;
        if (took < kStepBudget / 10 && g_shrink.chunk < (1ULL << 40)) g_shrink.chunk *= 2;
        else if (took > kStepBudget / 2 && g_shrink.chunk > (1 << 20)) g_shrink.chunk /= 2;
    }
    if (g_shrink.size > g_shrink.target) return true;
    shrink_done(kOk);
    return false;
}

// A change waits while a long truncate runs.
bool must_wait() { return g_shrink.active; }

// The size a client sees of inode `inode` now.
uint64_t visible_size(uint32_t inode, uint64_t size) {
    return g_shrink.active && inode == g_shrink.inode && size > g_shrink.target ? g_shrink.target : size;
}

// --- group commit ---------------------------------------------------------------------------

// A change is made at once, but its answer waits until no other request is
// waiting: then one commit (one journal transaction, one pair of flushes)
// makes every change of the group durable, and each client gets its answer.
// A lone client sees no difference; clients that write at the same time
// share the commits.
constexpr uint32_t kMaxGroup = 16;
struct Pending {
    Handle reply;
    int64_t status;
    uint32_t value;  // the reply's one word (Write: bytes written)
};
Pending g_group[kMaxGroup];
uint32_t g_group_size = 0;

// Every reply a change can have is one 32-bit word.
static_assert(sizeof(proto::fs::Write::Reply) == 4 && sizeof(proto::fs::Create::Reply) == 4 &&
              sizeof(proto::fs::Truncate::Reply) == 4 && sizeof(proto::fs::Unlink::Reply) == 4 &&
              sizeof(proto::fs::Mkdir::Reply) == 4 && sizeof(proto::fs::Rmdir::Reply) == 4 &&
              sizeof(proto::fs::Rename::Reply) == 4 && sizeof(proto::fs::Chmod::Reply) == 4 &&
              sizeof(proto::fs::Symlink::Reply) == 4 && sizeof(proto::fs::Link::Reply) == 4);

void commit_group() {
    int64_t e = g_volume ? g_volume->commit() : kOk;
    for (uint32_t i = 0; i < g_group_size; ++i) {
        Pending& p = g_group[i];
        int64_t status = p.status < 0 ? p.status : e < 0 ? e : p.status;
        rpc::reply_later<proto::fs::Write>(p.reply, status, proto::fs::Write::Reply{p.value});
        sys::handle_close(p.reply);
    }
    g_group_size = 0;
}

// Makes a change (`change` returns its status, and may set *value, the
// reply's word) in the current group; its reply goes out with the group's
// commit, or, if it cannot wait, now (*word then holds the value).
template <class F>
int64_t in_group(ext2::Volume* v, rpc::Call& c, F change, uint32_t* word = nullptr) {
    if (g_group_size == kMaxGroup) commit_group();
    v->set_deferred(true);
    uint32_t value = 0;
    int64_t status = change(&value);
    v->set_deferred(false);
    HandleResult saved = c.defer();
    if (!saved.ok()) {  // the reply cannot wait: commit now and answer as usual
        if (word) *word = value;
        int64_t e = v->commit();
        return status < 0 ? status : e < 0 ? e : status;
    }
    g_group[g_group_size++] = Pending{saved.value(), status, value};
    c.after_quiet();
    return kOk;
}

// --- the file protocol ---------------------------------------------------------------------

int64_t stat(const proto::fs::Stat::Request& q, proto::fs::Stat::Reply& r, rpc::Call&) {
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    ext2::Stat s;
    if (int64_t e = v->stat(q.path, &s); e < 0) return e;
    r.size = visible_size(s.inode, s.size), r.type = s.type, r.mode = s.mode, r.links = s.links, r.inode = s.inode;
    r.blocks = s.blocks512, r.mtime = s.mtime, r.ctime = s.ctime, r.atime = s.atime, r.uid = s.uid, r.gid = s.gid;
    return kOk;
}

int64_t read(const proto::fs::Read::Request& q, proto::fs::Read::Reply& r, rpc::Call& c) {
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    uint32_t length = q.length < sizeof r.data ? q.length : sizeof r.data;
    if (g_shrink.active) {  // nothing past the new size of a file being truncated
        ext2::Stat s;
        if (v->stat(q.path, &s) == kOk && s.inode == g_shrink.inode)
            length = q.offset >= g_shrink.target ? 0 : g_shrink.target - q.offset < length ? g_shrink.target - q.offset : length;
    }
    int64_t n = v->read(q.path, q.offset, r.data, length);
    if (n < 0) return n;
    r.size = static_cast<uint32_t>(n);
    c.reply_size = proto::fs::Read::kMinReply + r.size;
    return n;
}

int64_t readdir(const proto::fs::ReadDir::Request& q, proto::fs::ReadDir::Reply& r, rpc::Call&) {
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    static ext2::DirEntry entry;
    // Where the last listing step left off: each step reads on from there.
    if (int64_t e = v->readdir_from(q.path, q.cursor, &entry, &r.next); e < 0) return e;
    copy_string(r.name, sizeof r.name, entry.name);
    r.type = entry.type;
    r.size = 0;
    ext2::Stat s;
    if (v->stat_entry(entry, &s) == kOk) r.size = visible_size(s.inode, s.size);
    return kOk;
}

int64_t write(const proto::fs::Write::Request& q, proto::fs::Write::Reply& r, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    if (q.length > sizeof q.data || c.request_size < proto::fs::Write::kMinRequest + q.length)
        return kErrInvalidArgument;  // says more than it carries
    return in_group(
        v, c,
        [&](uint32_t* written) {
            int64_t n = v->write(q.path, q.offset, q.data, q.length);
            if (n < 0) return n;
            *written = static_cast<uint32_t>(n);
            return int64_t{kOk};
        },
        &r.written);
}

int64_t create(const proto::fs::Create::Request& q, proto::fs::Create::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->create(q.path, q.exclusive != 0); });
}

int64_t truncate(const proto::fs::Truncate::Request& q, proto::fs::Truncate::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    ext2::Stat s;
    if (int64_t e = v->stat(q.path, &s); e < 0) return e;
    if (q.size >= s.size || s.size - q.size <= kQuickShrink)
        return in_group(v, c, [&](uint32_t*) { return v->truncate(q.path, q.size); });
    HandleResult reply = c.defer();
    if (!reply.ok()) return reply.error();
    g_shrink = Shrink{};
    g_shrink.active = true;
    copy_string(g_shrink.path, sizeof g_shrink.path, q.path);
    g_shrink.inode = s.inode, g_shrink.size = s.size, g_shrink.target = q.size;
    g_shrink.reply = reply.value();
    c.start_background();
    return kOk;
}

int64_t unlink(const proto::fs::Unlink::Request& q, proto::fs::Unlink::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->unlink(q.path); });
}

int64_t chmod(const proto::fs::Chmod::Request& q, proto::fs::Chmod::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->chmod(q.path, q.mode); });
}

int64_t mkdir(const proto::fs::Mkdir::Request& q, proto::fs::Mkdir::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->mkdir(q.path); });
}

int64_t rmdir(const proto::fs::Rmdir::Request& q, proto::fs::Rmdir::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->rmdir(q.path); });
}

int64_t rename(const proto::fs::Rename::Request& q, proto::fs::Rename::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    if (!bounded(q.to)) return kErrNameTooLong;
    ext2::Volume* v;
    if (int64_t e = volume_for(q.from, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->rename(q.from, q.to); });
}

int64_t symlink(const proto::fs::Symlink::Request& q, proto::fs::Symlink::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    if (!bounded(q.target)) return kErrNameTooLong;
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->symlink(q.path, q.target); });
}

int64_t link(const proto::fs::Link::Request& q, proto::fs::Link::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    if (!bounded(q.to)) return kErrNameTooLong;
    ext2::Volume* v;
    if (int64_t e = volume_for(q.from, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->link(q.from, q.to); });
}

int64_t sync(const proto::fs::Sync::Request& q, proto::fs::Sync::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return v->sync();
}

// Idle for a while: the journal is emptied (its blocks are all in place
// already), so that the disk is clean without a recovery.
constexpr uint64_t kCheckpointAfter = 100'000'000;
void checkpoint() {
    if (g_volume) g_volume->checkpoint();
}

int64_t statfs(const proto::fs::StatFs::Request&, proto::fs::StatFs::Reply& r, rpc::Call&) {
    ext2::Volume* v;
    if (int64_t e = volume_for("", &v); e < 0) return e;
    ext2::FsStat s;
    if (int64_t e = v->statfs(&s); e < 0) return e;
    r.block_size = s.block_size, r.blocks = s.blocks, r.free_blocks = s.free_blocks;
    r.inodes = s.inodes, r.free_inodes = s.free_inodes;
    copy_string(r.label, sizeof r.label, s.label);
    return kOk;
}

}  // namespace

int main() {
    const Handle endpoint = service_endpoint("ext2fs");
    ext2::Volume* v;
    volume(&v);  // mount now if the disk is there (errors are logged; requests try again)
    rpc::Server<18> server(endpoint);
    server.on<proto::fs::Stat>(stat);
    server.on<proto::fs::Read>(read);
    server.on<proto::fs::ReadDir>(readdir);
    server.on<proto::fs::Write>(write);
    server.on<proto::fs::Create>(create);
    server.on<proto::fs::Truncate>(truncate);
    server.on<proto::fs::Unlink>(unlink);
    server.on<proto::fs::Mkdir>(mkdir);
    server.on<proto::fs::Rmdir>(rmdir);
    server.on<proto::fs::Rename>(rename);
    server.on<proto::fs::Sync>(sync);
    server.on<proto::fs::StatFs>(statfs);
    server.on<proto::fs::Chmod>(chmod);
    server.on<proto::fs::Symlink>(symlink);
    server.on<proto::fs::Link>(link);
    server.on_background(shrink_step);
    server.on_idle(checkpoint, kCheckpointAfter);
    server.on_quiet(commit_group);
    server.run();
}
