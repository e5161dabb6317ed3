// The ext3 journal, in the JBD2 on-disk format that mke2fs makes and e2fsck
// and Linux read: every operation's metadata is logged as one transaction
// and committed before the operation returns (see README.md, "Journal").
//
// The log lives in the blocks of the journal inode. Block 0 is the journal
// superblock; a transaction is descriptor blocks (a tag per logged block),
// the block copies, revoke blocks, and a commit block. All its integers are
// big-endian. This library writes transactions from the log's first block
// on, and after each commit writes the blocks in place too (without a
// flush): the next commit's first flush makes them stable, and moves the
// log's start to that commit's transaction, so a replay has at most one to
// write; a checkpoint needs only a flush to make the log empty again.
#include "internal.h"

namespace ext2::detail {

namespace {

constexpr uint32_t kJournalMagic = 0xC03B3998;
enum : uint32_t { kDescriptor = 1, kCommit = 2, kSuperV1 = 3, kSuperV2 = 4, kRevoke = 5 };
enum : uint16_t { kTagEscape = 1, kTagSameUuid = 2, kTagLast = 8 };
constexpr uint32_t kIncompatRevoke = 0x1;
constexpr uint32_t kHeaderBytes = 12, kTagBytes = 8, kUuidBytes = 16, kRevokeHeaderBytes = 16;

// Journal superblock byte offsets.
namespace jsb {
constexpr uint32_t kBlockSize = 12, kMaxLen = 16, kFirst = 20, kSequence = 24, kStart = 28,
                   kErrno = 32, kCompat = 36, kIncompat = 40, kRoCompat = 44, kUuid = 48;
}

uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24), p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8), p[3] = static_cast<uint8_t>(v);
}
void put_be16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8), p[1] = static_cast<uint8_t>(v); }

// Transaction ids wrap: a is after b.
bool after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

const char* journal_feature(uint32_t compat, uint32_t incompat) {
    if (compat & 1) return "journal_checksum";
    if (incompat & 0x2) return "journal_64bit";
    if (incompat & 0x4) return "journal_async_commit";
    if (incompat & 0x8) return "journal_checksum_v2";
    if (incompat & 0x10) return "journal_checksum_v3";
    if (incompat & 0x20) return "fast_commit";
    return "an unknown journal feature";
}

// An open-addressing set of block numbers, each kept plus one (0 marks an
// empty slot; block 0 holds the superblock when blocks are 4 KiB).
struct BlockSet {
    uint32_t* slots = nullptr;
    uint32_t capacity = 0, count = 0;
    uint32_t* values = nullptr;  // the second word, for a map (revoke: the sequence)

    ~BlockSet() {
        delete[] slots;
        delete[] values;
    }
    bool init(uint32_t entries, bool map) {
        capacity = 16;
        while (capacity < entries * 2) capacity *= 2;
        slots = new (std::nothrow) uint32_t[capacity];
        if (map) values = new (std::nothrow) uint32_t[capacity];
        if (!slots || (map && !values)) return false;
        clear();
        return true;
    }
    void clear() {
        for (uint32_t i = 0; i < capacity; ++i) slots[i] = 0;
        count = 0;
    }
    uint32_t* find(uint32_t block) {  // its slot, or the empty one it would take
        uint32_t key = block + 1, i = (key * 2654435761u) & (capacity - 1);
        while (slots[i] && slots[i] != key) i = (i + 1) & (capacity - 1);
        return &slots[i];
    }
    bool contains(uint32_t block) { return *find(block) == block + 1; }
    uint32_t value(uint32_t block) { return values[find(block) - slots]; }
    // False when full (the caller sized it for the worst case).
    bool add(uint32_t block, uint32_t value = 0) {
        uint32_t* s = find(block);
        if (*s != block + 1) {
            if (count + 1 > capacity / 2) return false;
            *s = block + 1, ++count;
            if (values) values[s - slots] = value;
        } else if (values && after(value, values[s - slots])) {
            values[s - slots] = value;
        }
        return true;
    }
    void remove(uint32_t block) {  // rehashes the run after it
        uint32_t* s = find(block);
        if (*s != block + 1) return;
        *s = 0, --count;
        for (uint32_t i = ((s - slots) + 1) & (capacity - 1); slots[i]; i = (i + 1) & (capacity - 1)) {
            uint32_t b = slots[i] - 1, v = values ? values[i] : 0;
            slots[i] = 0, --count;
            add(b, v);
        }
    }
};

}  // namespace

struct Journal {
    uint32_t* phys = nullptr;  // log block -> device block (0: not looked up yet)
    DiskInode inode;           // the journal's, whose map that is
    uint32_t first = 0, maxlen = 0;
    uint32_t head = 0;          // where the next transaction goes
    bool live = false;          // the log holds transactions not yet checkpointed
    uint32_t sequence = 0;      // the next transaction's id
    uint8_t uuid[kUuidBytes];
    uint8_t* super = nullptr;   // the journal superblock, as on disk
    uint8_t* block = nullptr;   // staging for descriptor, revoke and commit blocks
    uint8_t* copy = nullptr;    // an escaped block copy
    uint8_t* block0 = nullptr;  // the file system block holding the superblock
    uint32_t super_block = 0;   // which block that is
    BlockSet logged;            // blocks the live log holds copies of
    BlockSet revoked;           // this transaction's revokes
    struct Item {
        uint32_t block;
        const uint8_t* data;
    }* items = nullptr;
    uint32_t item_capacity = 0;

    ~Journal() {
        delete[] phys;
        delete[] super;
        delete[] block;
        delete[] copy;
        delete[] block0;
        delete[] items;
    }
    uint32_t next(uint32_t pos) const { return pos + 1 == maxlen ? first : pos + 1; }
};

void journal_free(Journal* j) { delete j; }

namespace {

// The device block of log block `pos`, looked up in the journal inode's map
// at its first use (a mount walks none of the map it does not need).
int64_t log_block(Fs& fs, Journal& j, uint32_t pos, uint32_t* out) {
    if (!j.phys[pos]) {
        uint32_t b;
        int64_t r = fs.map(j.inode, pos, false, nullptr, &b, nullptr);
        if (r < 0) return r;
        if (b == 0 || !fs.block_valid(b)) return kErrCorrupt;  // a hole in the log
        j.phys[pos] = b;
    }
    *out = j.phys[pos];
    return kOk;
}
int64_t log_read(Fs& fs, Journal& j, uint32_t pos, uint8_t* out) {
    uint32_t b;
    int64_t r = log_block(fs, j, pos, &b);
    return r < 0 ? r : fs.device->read(fs.sector_of(b), fs.sectors_per_block, out);
}
int64_t log_write(Fs& fs, Journal& j, uint32_t pos, const uint8_t* in) {
    uint32_t b;
    int64_t r = log_block(fs, j, pos, &b);
    return r < 0 ? r : fs.device->write(fs.sector_of(b), fs.sectors_per_block, in);
}

void header(uint8_t* b, uint32_t type, uint32_t sequence, uint32_t bytes) {
    memset(b, 0, bytes);
    put_be32(b, kJournalMagic);
    put_be32(b + 4, type);
    put_be32(b + 8, sequence);
}

int64_t write_super(Fs& fs, Journal& j, uint32_t start, uint32_t sequence) {
    put_be32(j.super + jsb::kStart, start);
    put_be32(j.super + jsb::kSequence, sequence);
    return log_write(fs, j, 0, j.super);
}

// One walk over the log from `start`: counts the committed transactions
// (scan), gathers their revokes (revokes), or writes their blocks in place
// (replay). Returns the id after the last committed transaction.
enum class Pass { scan, revokes, replay };

int64_t walk(Fs& fs, Journal& j, Pass pass, uint32_t start, uint32_t sequence, uint32_t end,
             BlockSet& revoked, uint8_t* buf, uint32_t* revoke_records = nullptr) {
    uint32_t pos = start, length = j.maxlen - j.first;
    for (uint32_t steps = 0; steps < length;) {
        if (pass != Pass::scan && !after(end, sequence)) break;
        int64_t r = log_read(fs, j, pos, j.block);
        if (r < 0) return r;
        if (be32(j.block) != kJournalMagic || be32(j.block + 8) != sequence) break;
        uint32_t type = be32(j.block + 4);
        pos = j.next(pos), ++steps;
        if (type == kCommit) {
            ++sequence;
        } else if (type == kRevoke) {
            uint32_t used = be32(j.block + 12);
            if (used > fs.block_size || used < kRevokeHeaderBytes) break;
            if (revoke_records) *revoke_records += (used - kRevokeHeaderBytes) / 4;
            for (uint32_t o = kRevokeHeaderBytes; pass == Pass::revokes && o + 4 <= used; o += 4)
                if (!revoked.add(be32(j.block + o), sequence)) return kErrNoMemory;
        } else if (type == kDescriptor) {
            // Tags name the blocks that follow; a replay needs them after
            // the descriptor's buffer is reused, so it copies them first.
            memcpy(buf, j.block, fs.block_size);
            for (uint32_t o = kHeaderBytes; o + kTagBytes <= fs.block_size && steps < length;) {
                uint32_t target = be32(buf + o);
                uint16_t flags = be16(buf + o + 6);
                o += kTagBytes + (flags & kTagSameUuid ? 0 : kUuidBytes);
                if (pass == Pass::replay && !(revoked.contains(target) && !after(sequence, revoked.value(target)))) {
                    if (target >= fs.blocks_count) return kErrCorrupt;
                    r = log_read(fs, j, pos, j.copy);
                    if (r < 0) return r;
                    if (flags & kTagEscape) put_be32(j.copy, kJournalMagic);
                    r = fs.device->write(fs.sector_of(target), fs.sectors_per_block, j.copy);
                    if (r < 0) return r;
                }
                pos = j.next(pos), ++steps;
                if (flags & kTagLast) break;
            }
        } else {
            break;
        }
    }
    return sequence;
}

// Makes the file system what the committed transactions in the log say.
uint32_t g_replayed = 0;  // transactions the last mount replayed

int64_t replay(Fs& fs, Journal& j) {
    uint32_t start = be32(j.super + jsb::kStart), sequence = be32(j.super + jsb::kSequence);
    if (start < j.first || start >= j.maxlen) return kErrCorrupt;
    uint8_t* buf = new (std::nothrow) uint8_t[fs.block_size];
    if (!buf) return kErrNoMemory;
    BlockSet revoked;
    uint32_t records = 0;  // revoke records in the log (a bound on the blocks they name)
    int64_t end = walk(fs, j, Pass::scan, start, sequence, 0, revoked, buf, &records);
    if (end >= 0 && !revoked.init(records, true)) end = kErrNoMemory;
    if (end >= 0) end = walk(fs, j, Pass::revokes, start, sequence, static_cast<uint32_t>(end), revoked, buf);
    if (end >= 0) end = walk(fs, j, Pass::replay, start, sequence, static_cast<uint32_t>(end), revoked, buf);
    delete[] buf;
    if (end < 0) return end;
    int64_t r = fs.device->flush();
    if (r < 0) return r;
    g_replayed = static_cast<uint32_t>(end) - sequence;
    j.sequence = static_cast<uint32_t>(end);
    r = write_super(fs, j, 0, j.sequence);
    return r < 0 ? r : fs.device->flush();
}

}  // namespace

uint32_t journal_replayed(bool reset) {
    uint32_t n = g_replayed;
    if (reset) g_replayed = 0;
    return n;
}

int64_t Fs::journal_open(bool* replayed) {
    *replayed = false;
    uint32_t ino = get32(super + sb::kJournalInum);
    if (get32(super + sb::kJournalDev) != 0 || ino == 0 || ino >= first_ino)
        return unsupported_feature("journal", "on another device");
    DiskInode in;
    int64_t r = read_inode(ino, &in);
    if (r < 0) return r;
    if (!is_file(in) || file_size(in) < 4 * uint64_t{block_size}) return kErrCorrupt;
    auto* j = new (std::nothrow) Journal;
    if (!j) return kErrNoMemory;
    journal = j;
    j->super = new (std::nothrow) uint8_t[block_size];
    j->block = new (std::nothrow) uint8_t[block_size];
    j->copy = new (std::nothrow) uint8_t[block_size];
    j->block0 = new (std::nothrow) uint8_t[block_size];
    if (!j->super || !j->block || !j->copy || !j->block0) return kErrNoMemory;
    uint32_t b0;
    r = map(in, 0, false, nullptr, &b0, nullptr);
    if (r < 0) return r;
    if (!block_valid(b0)) return kErrCorrupt;
    r = device->read(sector_of(b0), sectors_per_block, j->super);
    if (r < 0) return r;
    const uint8_t* s = j->super;
    uint32_t type = be32(s + 4);
    if (be32(s) != kJournalMagic || (type != kSuperV1 && type != kSuperV2)) return kErrCorrupt;
    j->maxlen = be32(s + jsb::kMaxLen), j->first = be32(s + jsb::kFirst);
    if (be32(s + jsb::kBlockSize) != block_size || j->first == 0 || j->first + 4 > j->maxlen ||
        j->maxlen > file_size(in) / block_size)
        return kErrCorrupt;
    uint32_t compat = type == kSuperV2 ? be32(s + jsb::kCompat) : 0;
    uint32_t incompat = type == kSuperV2 ? be32(s + jsb::kIncompat) : 0;
    if (compat || (incompat & ~kIncompatRevoke))
        return unsupported_feature("journal feature", journal_feature(compat, incompat));
    if (type == kSuperV2 && be32(s + jsb::kRoCompat))
        return unsupported_feature("journal feature", "an unknown read-only one");
    if (be32(s + jsb::kErrno)) return unsupported_feature("journal", "with a recorded error");
    memcpy(j->uuid, s + jsb::kUuid, kUuidBytes);
    // The map is walked lazily (log_block), so holes are looked for here by
    // count: the log's blocks and the indirect blocks that map them.
    uint64_t n = j->maxlen, p = pointers, meta = 0;
    if (n > 12) meta += 1;
    if (n > 12 + p) meta += 1 + (n - 12 - p + p - 1) / p;
    if (n > 12 + p + p * p) meta += 1 + (n - 12 - p - p * p + p * p - 1) / (p * p) + (n - 12 - p - p * p + p - 1) / p;
    if (uint64_t{in.blocks512} * kSectorSize / block_size < n + meta) return kErrCorrupt;
    j->phys = new (std::nothrow) uint32_t[j->maxlen]();
    if (!j->phys) return kErrNoMemory;
    j->inode = in;
    j->phys[0] = b0;
    j->sequence = be32(s + jsb::kSequence);
    j->head = j->first;
    if (be32(s + jsb::kStart) != 0) {
        if (read_only) return unsupported_feature("journal recovery", "with features it cannot write");
        r = replay(*this, *j);
        if (r < 0) return r;
        *replayed = true;
        return kOk;
    }
    // Every block one transaction may log, with the ones a commit adds; the
    // log must hold the largest such transaction.
    j->item_capacity = cache.capacity() + gdt_blocks + 1;
    if (j->item_capacity + j->item_capacity / ((block_size - kHeaderBytes - kUuidBytes) / kTagBytes) + 4 >
        j->maxlen - j->first)
        return unsupported_feature("journal", "this small");
    j->items = new (std::nothrow) Journal::Item[j->item_capacity];
    if (!j->items || !j->logged.init(j->maxlen, false) || !j->revoked.init(j->maxlen, false))
        return kErrNoMemory;
    j->super_block = block_size == 1024 ? 1 : 0;
    memcpy(j->block0, head + size_t{j->super_block} * block_size, block_size);  // in what load read first
    if (get32(super + sb::kIncompat) & kIncompatRecover) {  // a clean log: nothing to recover
        put32(super + sb::kIncompat, get32(super + sb::kIncompat) & ~kIncompatRecover);
        super_dirty = true;
    }
    return kOk;
}

void Fs::journal_revoke(uint32_t block) {
    // A block logged by a live transaction and then freed: if it becomes file
    // data, a replay must not write the old copy over it.
    if (journal && journal->logged.contains(block)) journal->revoked.add(block);
}

int64_t Fs::checkpoint() {
    Journal& j = *journal;
    if (!j.live) return kOk;
    // Every block the log holds was written in place after its commit; once
    // that is stable the log may be emptied.
    int64_t r = device->flush();
    if (r < 0) return r;
    r = write_super(*this, j, 0, j.sequence);
    if (r < 0) return r;
    // The superblock as the last commit left it (not the running
    // operation's changes), saying no recovery is needed.
    uint8_t* committed = block_size == 1024 ? j.block0 : j.block0 + 1024;
    put32(committed + sb::kIncompat, get32(committed + sb::kIncompat) & ~kIncompatRecover);
    put32(super + sb::kIncompat, get32(super + sb::kIncompat) & ~kIncompatRecover);
    r = device->write(2, 2, committed);
    if (r < 0) return r;
    r = device->flush();
    if (r < 0) return r;
    j.live = false;
    j.head = j.first;
    j.logged.clear();
    return kOk;
}

int64_t Fs::journal_commit() {
    Journal& j = *journal;
    uint32_t bs = block_size;
    uint32_t tags_per_descriptor = (bs - kHeaderBytes - kUuidBytes) / kTagBytes;
    uint32_t revokes_per_block = (bs - kRevokeHeaderBytes) / 4;
    // Room for the largest transaction this commit could write; a log that
    // is not empty is checkpointed first if the rest will not hold it.
    uint32_t worst = j.item_capacity + j.item_capacity / tags_per_descriptor + 1 +
                     j.revoked.count / revokes_per_block + 1 + 1;
    if (worst > j.maxlen - j.first) return kErrNoSpace;  // a journal far too small (mount refuses it)
    if (j.live && j.head + worst > j.maxlen) {
        int64_t r = checkpoint();
        if (r < 0) return r;
    }
    if (!j.live) {
        // The first transaction after an empty log: the journal superblock
        // points at it, and the file system says it needs recovery, both
        // stable (with the first flush below) before the commit block is.
        if (!(get32(super + sb::kIncompat) & kIncompatRecover)) {
            put32(super + sb::kIncompat, get32(super + sb::kIncompat) | kIncompatRecover);
            super_dirty = true;
        }
    }
    uint32_t n = 0;
    cache.for_each_dirty([&](uint32_t block, const uint8_t* data) { j.items[n++] = {block, data}; });
    for (uint32_t i = 0; i < gdt_blocks; ++i)
        if (gdt_dirty[i]) j.items[n++] = {first_data_block + 1 + i, gdt + size_t{i} * bs};
    if (super_dirty) {
        if (bs == 1024) {
            memcpy(j.block0, super, 1024);
        } else {
            memcpy(j.block0 + 1024, super, 1024);
        }
        j.items[n++] = {j.super_block, j.block0};
    }
    for (uint32_t i = 0; i < n; ++i) j.revoked.remove(j.items[i].block);  // logged again: no revoke
    if (n == 0 && j.revoked.count == 0) return kOk;

    int64_t r;
    if (!j.live) {
        r = write_super(*this, j, j.head, j.sequence);
        if (r < 0) return r;
    }
    uint32_t pos = j.head;
    // Revokes first (they apply to this transaction and every earlier one).
    for (uint32_t i = 0; i < j.revoked.capacity && j.revoked.count;) {
        header(j.block, kRevoke, j.sequence, bs);
        uint32_t used = kRevokeHeaderBytes;
        for (; i < j.revoked.capacity && used + 4 <= bs; ++i)
            if (j.revoked.slots[i]) put_be32(j.block + used, j.revoked.slots[i] - 1), used += 4;
        put_be32(j.block + 12, used);
        if (used == kRevokeHeaderBytes) break;
        if ((r = log_write(*this, j, pos, j.block)) < 0) return r;
        pos = j.next(pos);
    }
    for (uint32_t i = 0; i < n;) {
        uint32_t count = n - i < tags_per_descriptor ? n - i : tags_per_descriptor;
        header(j.block, kDescriptor, j.sequence, bs);
        uint32_t o = kHeaderBytes;
        for (uint32_t k = 0; k < count; ++k) {
            const Journal::Item& it = j.items[i + k];
            uint16_t flags = static_cast<uint16_t>((k ? kTagSameUuid : 0) | (k + 1 == count ? kTagLast : 0) |
                                                   (be32(it.data) == kJournalMagic ? kTagEscape : 0));
            put_be32(j.block + o, it.block);
            put_be16(j.block + o + 6, flags);
            o += kTagBytes;
            if (k == 0) memcpy(j.block + o, j.uuid, kUuidBytes), o += kUuidBytes;
        }
        if ((r = log_write(*this, j, pos, j.block)) < 0) return r;
        pos = j.next(pos);
        for (uint32_t k = 0; k < count; ++k, ++i) {
            const uint8_t* data = j.items[i].data;
            if (be32(data) == kJournalMagic) {  // escaped: a replay puts the magic back
                memcpy(j.copy, data, bs);
                memset(j.copy, 0, 4);
                data = j.copy;
            }
            if ((r = log_write(*this, j, pos, data)) < 0) return r;
            pos = j.next(pos);
        }
    }
    // Everything the commit block vouches for (and the file data written
    // before this commit: ordered mode) is stable before it is written.
    if ((r = device->flush()) < 0) return r;
    // That flush also made the in-place writes of every earlier transaction
    // stable: the log starts at this one now, so a replay has at most this
    // transaction to write (a lost update of this block only means more).
    if (j.live && (r = write_super(*this, j, j.head, j.sequence)) < 0) return r;
    header(j.block, kCommit, j.sequence, bs);
    if ((r = log_write(*this, j, pos, j.block)) < 0) return r;
    if ((r = device->flush()) < 0) return r;
    j.live = true;
    j.head = j.next(pos);
    ++j.sequence;
    for (uint32_t i = 0; i < n; ++i) j.logged.add(j.items[i].block);
    j.revoked.clear();
    return kOk;
}

}  // namespace ext2::detail
