// ext2fs: the file server. Serves an ext2 file system on the disk (disk:,
// found through the namespace) as `file:`, with the file protocol
// (proto/fs.h): requests by path, and open files by node (inode). The
// format itself is lib/ext2; this is the glue: requests in, block reads and
// writes out.
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
#include "mica/clients.h"
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
        return in_pieces(sector, count, [&](uint64_t at, uint32_t n, uint64_t offset) -> int64_t {
            proto::disk::Read::Request q{at, n};
            int64_t e = persist([&] { return rpc::call<proto::disk::Read>(endpoint_, q, &reply_, extras()); });
            if (e < 0) return e;
            if (reply_.count != n) return kErrIo;
            memcpy(out + offset, reply_.data, n * proto::disk::kSectorSize);
            return kOk;
        });
    }

    int64_t write(uint64_t sector, uint32_t count, const void* buffer) override {
        auto* in = static_cast<const uint8_t*>(buffer);
        return in_pieces(sector, count, [&](uint64_t at, uint32_t n, uint64_t offset) -> int64_t {
            write_.sector = at, write_.count = n;
            memcpy(write_.data, in + offset, n * proto::disk::kSectorSize);
            proto::disk::Write::Reply r;
            uint32_t size = proto::disk::Write::kMinRequest + n * proto::disk::kSectorSize;
            int64_t e = persist([&] { return rpc::call<proto::disk::Write>(endpoint_, write_, &r, extras(), size); });
            if (e < 0) return e;
            rpc::crash_point();
            return kOk;
        });
    }

    // File data, in place: a read's reply is received with its header in
    // the room before the buffer, and a write is sent with its header put
    // there, so the data is not copied through reply_ and write_ (what the
    // room held is put back).
    int64_t read_in_place(uint64_t sector, uint32_t count, void* buffer) override {
        constexpr uint32_t kHead = proto::disk::Read::kMinReply;
        auto* out = static_cast<uint8_t*>(buffer);
        return in_pieces(sector, count, [&](uint64_t at, uint32_t n, uint64_t offset) -> int64_t {
            uint32_t got = 0;
            int64_t e = in_room<kHead>(out + offset, [&](uint8_t* head) {
                proto::disk::Read::Request q{at, n};
                int64_t e = persist([&] {
                    return sized_call(proto::disk::Read::kLabel, &q, sizeof q, head, kHead,
                                      kHead + n * proto::disk::kSectorSize);
                });
                memcpy(&got, head + offsetof(proto::disk::Read::Reply, count), sizeof got);
                return e;
            });
            return e < 0 ? e : got != n ? kErrIo : kOk;
        });
    }

    int64_t write_in_place(uint64_t sector, uint32_t count, void* buffer) override {
        constexpr uint32_t kHead = proto::disk::Write::kMinRequest;
        auto* in = static_cast<uint8_t*>(buffer);
        return in_pieces(sector, count, [&](uint64_t at, uint32_t n, uint64_t offset) -> int64_t {
            int64_t e = in_room<kHead>(in + offset, [&](uint8_t* head) {
                proto::disk::Write::Request fixed;  // its fixed part only
                fixed.sector = at, fixed.count = n, fixed.reserved = 0;
                memcpy(head, &fixed, kHead);
                proto::disk::Write::Reply r;
                return persist([&] {
                    return sized_call(proto::disk::Write::kLabel, head, kHead + n * proto::disk::kSectorSize, &r,
                                      sizeof r, sizeof r);
                });
            });
            if (e < 0) return e;
            rpc::crash_point();
            return kOk;
        });
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

    // Runs `piece(sector, n, byte offset)` over the `count` sectors from
    // `sector`, in pieces of at most what one request carries; the first
    // error ends it.
    template <class F>
    static int64_t in_pieces(uint64_t sector, uint32_t count, F piece) {
        for (uint32_t done = 0; done < count;) {
            uint32_t n = count - done < proto::disk::kMaxSectors ? count - done : proto::disk::kMaxSectors;
            if (int64_t e = piece(sector + done, n, uint64_t{done} * proto::disk::kSectorSize); e < 0) return e;
            done += n;
        }
        return kOk;
    }

    // Runs `use(head)` with the kHead bytes before `data` lent to a request's
    // or reply's header, then puts back what they held.
    template <uint32_t kHead, class F>
    static int64_t in_room(uint8_t* data, F use) {
        static_assert(kHead <= kRoom);
        uint8_t saved[kHead];
        memcpy(saved, data - kHead, kHead);
        int64_t e = use(data - kHead);
        memcpy(data - kHead, saved, kHead);
        return e;
    }

    // rpc::call for buffers of our own making: made again as an idempotent
    // operation is (all of the disk protocol is).
    int64_t sized_call(uint64_t label, const void* request, uint32_t request_size, void* reply, uint32_t min_reply,
                       uint32_t reply_size) {
        int64_t e = kErrProtocol;
        for (int i = 0; i < rpc::kRetries; ++i) {
            e = rpc::call_sized(endpoint_, label, request, request_size, reply, min_reply, reply_size, extras());
            if (e != kErrPeerClosed && e != kErrProtocol) break;
        }
        return e;
    }

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

void after_mount(ext2::Volume* v);  // open files: the orphans a mount finds

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
        after_mount(g_volume);
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

// Whether `s` has its NUL among its first `n` bytes: a word at a time (the
// test for a zero byte in a word is exact), for every request's path.
bool ends_within(const char* s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) return true;
    }
    for (; i < n; ++i)
        if (!s[i]) return true;
    return false;
}

bool bounded(const char* path) { return ends_within(path, proto::fs::kPathMax); }

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
    // An answer uses its saved reply up; one that could not be given leaves it.
    if (rpc::reply_later<proto::fs::Truncate>(g_shrink.reply, status, r) < 0) sys::handle_close(g_shrink.reply);
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
    uint32_t bytes;  // of it sent: 0 for an operation whose reply has no data (Close)
};
Pending g_group[kMaxGroup];
uint32_t g_group_size = 0;

// Every reply a change can have is one 32-bit word.
static_assert(sizeof(proto::fs::Write::Reply) == 4 && sizeof(proto::fs::Create::Reply) == 4 &&
              sizeof(proto::fs::Truncate::Reply) == 4 && sizeof(proto::fs::Unlink::Reply) == 4 &&
              sizeof(proto::fs::Mkdir::Reply) == 4 && sizeof(proto::fs::Rmdir::Reply) == 4 &&
              sizeof(proto::fs::Rename::Reply) == 4 && sizeof(proto::fs::Chmod::Reply) == 4 &&
              sizeof(proto::fs::Symlink::Reply) == 4 && sizeof(proto::fs::Link::Reply) == 4 &&
              sizeof(proto::fs::MakeFifo::Reply) == 4 && sizeof(proto::fs::CloseMany::Reply) == 4 &&
              sizeof(proto::fs::Chown::Reply) == 4);

void commit_group() {
    int64_t e = g_volume ? g_volume->commit() : kOk;
    for (uint32_t i = 0; i < g_group_size; ++i) {
        Pending& p = g_group[i];
        int64_t status = p.status < 0 ? p.status : e < 0 ? e : p.status;
        if (rpc::reply_later<proto::fs::Write>(p.reply, status, proto::fs::Write::Reply{p.value}, p.bytes) < 0)
            sys::handle_close(p.reply);  // (an answer given uses the saved reply up)
    }
    g_group_size = 0;
}

// Makes a change (`change` returns its status, and may set *value, the
// reply's word) in the current group; its reply goes out with the group's
// commit, or, if it cannot wait, now (*word then holds the value). `bytes`:
// how much of the word the reply carries (0 for one that carries no data).
template <class F>
int64_t in_group(ext2::Volume* v, rpc::Call& c, F change, uint32_t* word = nullptr, uint32_t bytes = 4) {
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
    g_group[g_group_size++] = Pending{saved.value(), status, value, bytes};
    c.after_quiet();
    return kOk;
}

// --- open files -------------------------------------------------------------------------------

// Who holds which inode open: an entry per client and node, with a count.
// A file whose last name goes while an entry holds it stays as an orphan
// (lib/ext2 keeps the on-disk list) until the last Close. Entries live in
// this incarnation only: nodes carry g_incarnation, so a client with a node
// from before a restart hears kErrStale and holds it again by Reopen. The
// orphans a mount finds wait kGrace for that (clients notice a restart at
// their next request), then go, as do those a crash of the machine left.
struct Hold {
    uint64_t badge;
    uint32_t inode, generation, count;
};
constexpr uint32_t kMaxHolds = 1024;
Hold g_holds[kMaxHolds];
uint32_t g_hold_top;  // entries at and after it are free: the scans stop there

struct Holds {  // the entries in use and the free ones among them
    Hold* begin() const { return g_holds; }
    Hold* end() const { return g_holds + g_hold_top; }
};
uint32_t g_incarnation;

constexpr uint32_t kMaxGrace = 64;
constexpr uint64_t kGrace = 30'000'000'000;
ext2::Node g_grace[kMaxGrace];  // orphans the mount found, not yet held again
uint32_t g_grace_count;
uint64_t g_grace_end;

uint64_t clock_now() { return static_cast<uint64_t>(sys::clock_monotonic()); }

bool held(uint32_t inode) {
    for (const Hold& h : Holds{})
        if (h.count && h.inode == inode) return true;
    for (uint32_t i = 0; i < g_grace_count; ++i)
        if (g_grace[i].inode == inode) return true;
    return false;
}

void after_mount(ext2::Volume* v) {
    v->set_holder(held);
    int64_t n = v->orphans(g_grace, kMaxGrace);
    g_grace_count = n > 0 ? static_cast<uint32_t>(n) : 0;
    g_grace_end = clock_now() + kGrace;
    if (g_grace_count) logf("ext2fs: %u orphaned files wait %lu s to be opened again", g_grace_count, kGrace / 1'000'000'000);
}

// The grace period is over: orphans nobody holds again are freed, those the
// list had beyond kMaxGrace too.
void end_grace() {
    if (!g_volume || g_volume->read_only() || clock_now() < g_grace_end) return;
    g_grace_end = ~0ULL;
    g_grace_count = 0;
    ext2::Node left[kMaxGrace];
    for (int64_t n; (n = g_volume->orphans(left, kMaxGrace)) > 0;) {
        uint32_t freed = 0;
        for (int64_t i = 0; i < n; ++i)
            if (!held(left[i].inode) && g_volume->release(left[i]) == kOk) ++freed;
        if (!freed) break;
    }
}

Hold* hold_of(uint64_t badge, const proto::fs::Node& n) {
    for (Hold& h : Holds{})
        if (h.count && h.badge == badge && h.inode == n.inode && h.generation == n.generation) return &h;
    return nullptr;
}

// One hold less on `h`'s file; the last frees an orphan (the caller commits),
// unless the caller has seen that the file still has a name (`named`).
void drop(Hold& h, bool named = false) {
    if (--h.count) return;
    while (g_hold_top && !g_holds[g_hold_top - 1].count) --g_hold_top;
    if (!named && !held(h.inode)) g_volume->release(ext2::Node{h.inode, h.generation});
}

// Closes what programs that have ended left open: their delegations are
// gone from ns (the shell releases them), as net: finds for sockets. A
// service's badge (the Linux personality's) closes its own (CloseAll).
void sweep(bool now) {
    static uint64_t next;
    if (!now && clock_now() < next) return;
    next = clock_now() + 1'000'000'000;
    for (uint32_t i = 0; i < g_hold_top; ++i) {
        uint64_t badge = g_holds[i].badge;
        bool first = g_holds[i].count && is_delegated(badge);
        for (uint32_t j = 0; first && j < i; ++j) first = !(g_holds[j].count && g_holds[j].badge == badge);
        if (!first || !program_ended(badge)) continue;
        for (Hold& h : Holds{})
            if (h.count && h.badge == badge) h.count = 1, drop(h);
    }
}

// The file `n` names: kErrStale if it is from another incarnation.
int64_t node_for(const proto::fs::Node& n, ext2::Volume** v, ext2::Node* out) {
    if (n.incarnation != g_incarnation) return kErrStale;
    if (int64_t e = volume(v); e < 0) return e;
    *out = ext2::Node{n.inode, n.generation};
    return kOk;
}

// --- the file protocol ---------------------------------------------------------------------

void fill(const ext2::Stat& s, proto::fs::Stat::Reply& r) {
    r.size = visible_size(s.inode, s.size), r.type = s.type, r.mode = s.mode, r.links = s.links, r.inode = s.inode;
    r.blocks = s.blocks512, r.mtime = s.mtime, r.ctime = s.ctime, r.atime = s.atime, r.uid = s.uid, r.gid = s.gid;
    r.generation = s.generation;
}

int64_t stat(const proto::fs::Stat::Request& q, proto::fs::Stat::Reply& r, rpc::Call&) {
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    ext2::Stat s;
    if (int64_t e = v->stat(q.path, &s); e < 0) return e;
    fill(s, r);
    return kOk;
}

// Nothing past the new size of a file being truncated.
uint32_t readable(uint32_t inode, uint64_t offset, uint32_t length) {
    if (!g_shrink.active || inode != g_shrink.inode) return length;
    if (offset >= g_shrink.target) return 0;
    return g_shrink.target - offset < length ? static_cast<uint32_t>(g_shrink.target - offset) : length;
}

int64_t read(const proto::fs::Read::Request& q, proto::fs::Read::Reply& r, rpc::Call& c) {
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    uint32_t length = q.length < sizeof r.data ? q.length : sizeof r.data;
    ext2::Stat s;
    if (g_shrink.active && v->stat(q.path, &s) == kOk) length = readable(s.inode, q.offset, length);
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

int64_t chown(const proto::fs::Chown::Request& q, proto::fs::Chown::Reply&, rpc::Call& c) {
    static_assert(proto::fs::Chown::kKeep == ext2::Volume::kKeepOwner);
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->chown(q.path, q.uid, q.gid); });
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

int64_t make_fifo(const proto::fs::MakeFifo::Request& q, proto::fs::MakeFifo::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    if (int64_t e = volume_for(q.path, &v); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->make_fifo(q.path, q.mode); });
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

// --- open files: the operations ---------------------------------------------------------------

// Holds `node` for `badge` (a table full is swept of ended programs' holds
// first).
int64_t hold(uint64_t badge, ext2::Node node) {
    proto::fs::Node n{node.inode, node.generation, g_incarnation, 0};
    if (Hold* h = hold_of(badge, n)) {
        if (h->count == UINT32_MAX) return kErrLimit;
        ++h->count;
        return kOk;
    }
    for (int pass = 0; pass < 2; ++pass) {
        for (Hold& h : g_holds)
            if (!h.count) {
                h = Hold{badge, node.inode, node.generation, 1};
                if (&h - g_holds >= g_hold_top) g_hold_top = static_cast<uint32_t>(&h - g_holds + 1);
                for (uint32_t i = 0; i < g_grace_count; ++i)  // held again: no longer waiting
                    if (g_grace[i].inode == node.inode) g_grace[i--] = g_grace[--g_grace_count];
                return kOk;
            }
        sweep(true);
    }
    return kErrLimit;
}

int64_t opened(ext2::Volume* v, uint64_t badge, ext2::Node node, proto::fs::Open::Reply& r) {
    ext2::Stat s;
    if (int64_t e = v->stat(node, &s); e < 0) return e;
    if (int64_t e = hold(badge, node); e < 0) return e;
    r.node = proto::fs::Node{node.inode, node.generation, g_incarnation, 0};
    fill(s, r.stat);
    return kOk;
}

int64_t open(const proto::fs::Open::Request& q, proto::fs::Open::Reply& r, rpc::Call& c) {
    // The path ends within what came (what lies beyond is an earlier request's).
    size_t carried = c.request_size - offsetof(proto::fs::Open::Request, path);
    if (!ends_within(q.path, carried)) return kErrInvalidArgument;
    ext2::Volume* v;  // (the path is bounded: it ends within the request)
    if (int64_t e = volume(&v); e < 0) return e;
    if (q.flags & ~(proto::fs::kOpenCreate | proto::fs::kOpenExclusive | proto::fs::kOpenMode | proto::fs::kOpenRead))
        return kErrInvalidArgument;
    ext2::Node node;
    int64_t e = v->node(q.path, &node);
    bool make = q.flags & proto::fs::kOpenCreate && (e == kErrNotFound || (e == kOk && q.flags & proto::fs::kOpenExclusive));
    if (make) {
        if (must_wait()) return c.postpone();
        v->set_deferred(true);  // made and given its mode in one transaction
        e = v->create(q.path, q.flags & proto::fs::kOpenExclusive);
        if (e == kOk && q.flags & proto::fs::kOpenMode && (q.mode & 07777) != 0644) e = v->chmod(q.path, q.mode);
        v->set_deferred(false);
        int64_t committed = v->commit();
        if (e < 0 || (e = committed) < 0 || (e = v->node(q.path, &node)) < 0) return e;
        r.created = 1;
    }
    if (e < 0 || (e = opened(v, c.badge, node, r)) < 0) return e;
    if (q.flags & proto::fs::kOpenRead && r.stat.type == proto::fs::kFile) {
        int64_t n = v->read(node, 0, r.data, readable(node.inode, 0, proto::fs::kOpenReadBytes));
        r.size = n > 0 ? static_cast<uint32_t>(n) : 0;  // (a failed read: the client reads later)
        c.reply_size = proto::fs::Open::kMinReply + r.size;
    }
    return kOk;
}

int64_t reopen(const proto::fs::Reopen::Request& q, proto::fs::Reopen::Reply& r, rpc::Call& c) {
    ext2::Volume* v;
    if (int64_t e = volume(&v); e < 0) return e;
    return opened(v, c.badge, ext2::Node{q.node.inode, q.node.generation}, r);
}

// One hold less on h now, unless it is an orphan's last: only that changes
// the disk, and the caller drops it in a commit (true).
bool drop_unless_orphan(Hold& h) {
    ext2::Stat s;
    bool looked = h.count == 1 && g_volume->stat(ext2::Node{h.inode, h.generation}, &s) == kOk;
    if (looked && !s.links) return true;
    drop(h, looked);  // a name seen: no second look at the inode
    return false;
}

int64_t close(const proto::fs::Close::Request& q, proto::fs::Close::Reply&, rpc::Call& c) {
    if (q.node.incarnation != g_incarnation) return kOk;  // nobody holds it since the restart
    Hold* h = hold_of(c.badge, q.node);
    if (!h) return kErrNotFound;
    if (!drop_unless_orphan(*h)) return kOk;
    if (must_wait()) return c.postpone();
    return in_group(g_volume, c, [&](uint32_t*) { return drop(*h), int64_t{kOk}; }, nullptr, 0);
}

int64_t close_many(const proto::fs::CloseMany::Request& q, proto::fs::CloseMany::Reply& r, rpc::Call& c) {
    if (q.count > proto::fs::CloseMany::kMax ||
        c.request_size < proto::fs::CloseMany::kMinRequest + q.count * sizeof(proto::fs::Node))
        return kErrInvalidArgument;  // says more than it carries
    if (must_wait()) return c.postpone();
    // As close: holds of named files go now; the last holds of orphans
    // together, in one commit.
    Hold* orphans[proto::fs::CloseMany::kMax];
    uint32_t count = 0;
    for (uint32_t i = 0; i < q.count; ++i) {
        const proto::fs::Node& n = q.nodes[i];
        Hold* h = n.incarnation == g_incarnation ? hold_of(c.badge, n) : nullptr;
        for (uint32_t j = 0; h && j < count; ++j)
            if (orphans[j] == h) h = nullptr;  // its only hold, named twice: let go once
        if (!h) continue;
        ++r.closed;
        if (drop_unless_orphan(*h)) orphans[count++] = h;
    }
    if (!count) return kOk;
    uint32_t closed = r.closed;  // the reply's word, sent with the commit
    return in_group(
        g_volume, c,
        [&](uint32_t* value) {
            for (uint32_t i = 0; i < count; ++i) drop(*orphans[i]);
            *value = closed;
            return int64_t{kOk};
        },
        &r.closed);
}

int64_t close_all(const proto::fs::CloseAll::Request&, proto::fs::CloseAll::Reply& r, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    for (Hold& h : Holds{})
        if (h.count && h.badge == c.badge) h.count = 1, drop(h), ++r.closed;
    return kOk;
}

int64_t node_stat(const proto::fs::NodeStat::Request& q, proto::fs::NodeStat::Reply& r, rpc::Call&) {
    ext2::Volume* v;
    ext2::Node node;
    if (int64_t e = node_for(q.node, &v, &node); e < 0) return e;
    ext2::Stat s;
    if (int64_t e = v->stat(node, &s); e < 0) return e;
    fill(s, r);
    return kOk;
}

int64_t node_read(const proto::fs::NodeRead::Request& q, proto::fs::NodeRead::Reply& r, rpc::Call& c) {
    ext2::Volume* v;
    ext2::Node node;
    if (int64_t e = node_for(q.node, &v, &node); e < 0) return e;
    uint32_t length = readable(node.inode, q.offset, q.length < sizeof r.data ? q.length : sizeof r.data);
    // The data goes out from the file-data cache (read into it first if it
    // was not there): the kernel copies it to the client, in the call that
    // waits for the next request, and nothing copies it into the reply
    // buffer first (Call::reply_data; the cache is not touched before that
    // call). What does not lie there in one piece (holes) is read into the
    // reply as any other read.
    const void* data;
    int64_t n = v->view(node, q.offset, length, &data);
    if (n < 0) return n;
    if (data) {
        c.reply_data = data;
        c.reply_size = static_cast<uint32_t>(n);  // the data alone: its size is the status
        return n;
    }
    n = v->read(node, q.offset, r.data, length);
    if (n < 0) return n;
    c.reply_size = static_cast<uint32_t>(n);  // the data alone: its size is the status
    return n;
}

int64_t node_write(const proto::fs::NodeWrite::Request& q, proto::fs::NodeWrite::Reply& r, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    ext2::Node node;
    if (int64_t e = node_for(q.node, &v, &node); e < 0) return e;
    if (q.length > sizeof q.data || c.request_size < proto::fs::NodeWrite::kMinRequest + q.length)
        return kErrInvalidArgument;  // says more than it carries
    return in_group(
        v, c,
        [&](uint32_t* written) {
            int64_t n = v->write(node, q.offset, q.data, q.length);
            if (n < 0) return n;
            *written = static_cast<uint32_t>(n);
            return int64_t{kOk};
        },
        &r.written);
}

// A truncate by node is done in one go (the steps of a long shrink above go
// by path).
int64_t node_truncate(const proto::fs::NodeTruncate::Request& q, proto::fs::NodeTruncate::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    ext2::Node node;
    if (int64_t e = node_for(q.node, &v, &node); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->truncate(node, q.size); });
}

int64_t set_times(const proto::fs::SetTimes::Request& q, proto::fs::SetTimes::Reply&, rpc::Call& c) {
    if (must_wait()) return c.postpone();
    ext2::Volume* v;
    ext2::Node node;
    if (int64_t e = node_for(q.node, &v, &node); e < 0) return e;
    return in_group(v, c, [&](uint32_t*) { return v->set_times(node, q.atime, q.mtime); });
}

// Idle for a while: the journal is emptied (its blocks are all in place
// already), so that the disk is clean without a recovery; programs that
// ended let go of their files, and the orphans' grace period may end.
constexpr uint64_t kCheckpointAfter = 100'000'000;
void checkpoint() {
    if (!g_volume) return;
    sweep(false);
    end_grace();
    g_volume->checkpoint();
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
    g_incarnation = static_cast<uint32_t>(clock_now() >> 10) | 1;  // a different one each time
    ext2::Volume* v;
    volume(&v);  // mount now if the disk is there (errors are logged; requests try again)
    rpc::Server<29> server(endpoint);
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
    server.on<proto::fs::Chown>(chown);
    server.on<proto::fs::Symlink>(symlink);
    server.on<proto::fs::MakeFifo>(make_fifo);
    server.on<proto::fs::Link>(link);
    server.on<proto::fs::Open>(open);
    server.on<proto::fs::Reopen>(reopen);
    server.on<proto::fs::Close>(close);
    server.on<proto::fs::CloseMany>(close_many);
    server.on<proto::fs::CloseAll>(close_all);
    server.on<proto::fs::NodeStat>(node_stat);
    server.on<proto::fs::NodeRead>(node_read);
    server.on<proto::fs::NodeWrite>(node_write);
    server.on<proto::fs::NodeTruncate>(node_truncate);
    server.on<proto::fs::SetTimes>(set_times);
    server.on_background(shrink_step);
    server.on_idle(checkpoint, kCheckpointAfter);
    server.on_quiet(commit_group);
    server.run();
}
