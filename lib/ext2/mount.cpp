// Mounting: the superblock and group descriptors are checked once here, so
// the rest of the library can rely on the geometry (but not on anything an
// inode or directory says).
#include "internal.h"

namespace ext2::detail {

namespace {
constexpr uint32_t kCacheBytes = 256 * 1024;

int64_t refuse(Fs* fs, int64_t error) {
    delete fs;
    return error;
}
}  // namespace

uint8_t dirent_type(uint16_t mode) {
    switch (mode & kModeTypeMask) {
        case kModeFile: return 1;
        case kModeDir: return 2;
        case 0x2000: return 3;  // character device
        case 0x6000: return 4;  // block device
        case kModeFifo: return 5;
        case 0xC000: return 6;  // socket
        case kModeSymlink: return 7;
        default: return 0;
    }
}

uint32_t api_type(uint16_t mode) {
    switch (mode & kModeTypeMask) {
        case kModeFile: return kFile;
        case kModeDir: return kDirectory;
        case kModeSymlink: return kSymlink;
        default: return kOther;
    }
}

Fs::~Fs() {
    delete[] head;
    journal_free(journal);
    delete[] gdt;
    delete[] gdt_dirty;
    delete[] run_memory;
    delete[] data_memory;
    delete[] data_tags;
}

// The file-data cache is a bonus: no memory for it is no error, and it is
// not asked for again.
bool Fs::data_allocate() {
    if (data_tried) return false;
    data_tried = true;
    uint32_t slots = kDataCacheBytes / block_size;
    // Aligned to a block: a block-aligned read answered from the cache
    // starts on a page, so the kernel copies it whole pages at a time. The
    // first slot has the device's room before it too (the others have the
    // slot before theirs).
    data_memory = new (std::nothrow) uint8_t[kDataCacheBytes + block_size + BlockDevice::kRoom];
    data_tags = new (std::nothrow) DataTag[slots];
    if (!data_memory || !data_tags) return false;
    uintptr_t at = reinterpret_cast<uintptr_t>(data_memory) + BlockDevice::kRoom;
    data = data_memory + BlockDevice::kRoom + (block_size - at % block_size) % block_size;
    data_slots = slots;
    data_clear(0, slots);
    return true;
}

uint64_t Fs::max_file_size() const {
    // What the block map can address, kept well inside 32-bit i_blocks.
    uint64_t p = pointers;
    uint64_t blocks = 12 + p + p * p + p * p * p;
    uint64_t limit = uint64_t{1} << 40;
    return blocks * block_size < limit ? blocks * block_size : limit;
}

int64_t Fs::need_large_file() {
    uint32_t ro = get32(super + sb::kRoCompat);
    if (ro & kRoCompatLargeFile) return kOk;
    if (rev == 0) return kErrOutOfRange;  // revision 0 has no feature flags
    put32(super + sb::kRoCompat, ro | kRoCompatLargeFile);
    super_dirty = true;
    return kOk;
}

int64_t Fs::commit() {
    if (super_dirty) put32(super + sb::kWtime, now());
    if (journal && !read_only) {
        int64_t r = journal_commit();
        if (r < 0) return r;  // nothing goes in place that is not committed
    }
    return write_in_place();
}

int64_t Fs::write_in_place() {
    int64_t result = cache.flush();
    // Descriptors and superblock last: their counts describe the bitmaps.
    for (uint32_t i = 0; i < gdt_blocks; ++i) {
        if (!gdt_dirty[i]) continue;
        int64_t r = device->write(sector_of(first_data_block + 1 + i), sectors_per_block,
                                  gdt + size_t{i} * block_size);
        if (r < 0) {
            if (result == kOk) result = r;
        } else {
            gdt_dirty[i] = false;
        }
    }
    if (super_dirty) {
        int64_t r = device->write(2, 2, super);
        if (r < 0) {
            if (result == kOk) result = r;
        } else {
            super_dirty = false;
        }
    }
    return result;
}

namespace {

char g_refusal[96];

// What `bits` of the incompat (or ro_compat) field name, as e2fsprogs
// calls them: the first one this library does not implement.
const char* feature_name(uint32_t bits, bool ro) {
    struct Feature {
        uint32_t bit;
        const char* name;
    };
    static const Feature kIncompat[] = {{0x1, "compression"}, {0x4, "needs_recovery"}, {0x8, "journal_dev"}, {0x10, "meta_bg"},
                     {0x40, "extents"}, {0x80, "64bit"}, {0x100, "mmp"}, {0x200, "flex_bg"}, {0x400, "ea_inode"},
                     {0x1000, "dirdata"}, {0x2000, "metadata_csum_seed"}, {0x4000, "large_dir"},
                     {0x8000, "inline_data"}, {0x10000, "encrypt"}, {0x20000, "casefold"}},
                         kRoCompat[] = {{0x4, "btree_dir"}, {0x8, "huge_file"}, {0x10, "uninit_bg"}, {0x20, "dir_nlink"},
                     {0x40, "extra_isize"}, {0x100, "quota"}, {0x200, "bigalloc"}, {0x400, "metadata_csum"},
                     {0x1000, "readonly"}, {0x2000, "project"}, {0x8000, "verity"}};
    const Feature* table = ro ? kRoCompat : kIncompat;
    size_t count = ro ? sizeof kRoCompat / sizeof kRoCompat[0] : sizeof kIncompat / sizeof kIncompat[0];
    for (size_t i = 0; i < count; ++i)
        if (bits & table[i].bit) return table[i].name;
    return "unknown";
}

}  // namespace

int64_t unsupported_feature(const char* what, const char* name) {
    size_t n = 0;
    const char* parts[] = {what, " '", name, "' is not supported"};
    for (const char* p : parts)
        for (; *p && n + 1 < sizeof g_refusal; ++p) g_refusal[n++] = *p;
    g_refusal[n] = '\0';
    return mica::kErrUnsupported;
}

int64_t Fs::load(BlockDevice* dev) {
    device = dev;
    names.changed();  // loaded again after a replay: what was looked up before counts no more
    last_ino = 0;
    uint64_t sectors = dev->sector_count();
    if (sectors < kHeadBytes / kSectorSize) return kErrCorrupt;
    // One read for the superblock, the block that holds it and the first
    // block of the group descriptors (a restarted file server mounts in
    // fewer device round trips).
    head = new (std::nothrow) uint8_t[kHeadBytes];
    if (!head) return kErrNoMemory;
    int64_t r = dev->read(0, kHeadBytes / kSectorSize, head);
    if (r < 0) return r;
    memcpy(super, head + 1024, sizeof super);
    if (get16(super + sb::kMagic) != kMagic) return kErrCorrupt;

    rev = get32(super + sb::kRevLevel);
    if (rev > 1) return unsupported_feature("ext2 revision", rev == 2 ? "2" : "above 1");
    uint32_t log = get32(super + sb::kLogBlockSize);
    if (log > 2) return unsupported_feature("block size", "above 4 KiB");
    block_size = 1024u << log;
    sectors_per_block = block_size / kSectorSize;
    pointers = block_size / 4;

    uint32_t compat = rev ? get32(super + sb::kCompat) : 0;
    uint32_t incompat = rev ? get32(super + sb::kIncompat) : 0;
    uint32_t ro_compat = rev ? get32(super + sb::kRoCompat) : 0;
    uint32_t known = kIncompatFiletype | (compat & kCompatHasJournal ? kIncompatRecover : 0);
    if (incompat & ~known) return unsupported_feature("ext4 feature", feature_name(incompat & ~known, false));
    filetype = incompat & kIncompatFiletype;
    read_only = ro_compat & ~(kRoCompatSparseSuper | kRoCompatLargeFile);
    if (read_only) unsupported_feature("writing with the feature", feature_name(read_only, true));

    blocks_count = get32(super + sb::kBlocksCount);
    first_data_block = get32(super + sb::kFirstDataBlock);
    blocks_per_group = get32(super + sb::kBlocksPerGroup);
    inodes_count = get32(super + sb::kInodesCount);
    inodes_per_group = get32(super + sb::kInodesPerGroup);
    inode_size = rev ? get16(super + sb::kInodeSize) : 128;
    first_ino = rev ? get32(super + sb::kFirstIno) : 11;

    if (first_data_block != (block_size == 1024 ? 1u : 0u)) return kErrCorrupt;
    if (blocks_count <= first_data_block + 2) return kErrCorrupt;
    if (uint64_t{blocks_count} * sectors_per_block > sectors) return kErrCorrupt;
    if (blocks_per_group < 8 || blocks_per_group > 8 * block_size) return kErrCorrupt;
    if (inodes_per_group == 0 || inodes_per_group > 8 * block_size) return kErrCorrupt;
    if (inode_size < 128 || inode_size > block_size || (inode_size & (inode_size - 1)))
        return kErrCorrupt;
    uint64_t group_count = (uint64_t{blocks_count} - first_data_block + blocks_per_group - 1) /
                           blocks_per_group;
    if (uint64_t{inodes_count} != group_count * inodes_per_group) return kErrCorrupt;
    groups = static_cast<uint32_t>(group_count);
    if (first_ino <= kRootIno || first_ino > inodes_count) return kErrCorrupt;
    if (get32(super + sb::kFreeBlocks) > blocks_count ||
        get32(super + sb::kFreeInodes) > inodes_count)
        return kErrCorrupt;
    itable_blocks = static_cast<uint32_t>(
        (uint64_t{inodes_per_group} * inode_size + block_size - 1) / block_size);

    gdt_blocks = static_cast<uint32_t>((group_count * gd::kSize + block_size - 1) / block_size);
    if (uint64_t{first_data_block} + 1 + gdt_blocks > blocks_count) return kErrCorrupt;
    gdt = new (std::nothrow) uint8_t[size_t{gdt_blocks} * block_size];
    gdt_dirty = new (std::nothrow) bool[gdt_blocks];
    run_memory = new (std::nothrow) uint8_t[kMaxRunBytes + BlockDevice::kRoom];
    if (!gdt || !gdt_dirty || !run_memory) return kErrNoMemory;
    run = run_memory + BlockDevice::kRoom;
    if (data_slots) data_clear(0, data_slots);
    for (uint32_t i = 0; i < gdt_blocks; ++i) {
        gdt_dirty[i] = false;
        uint8_t* to = gdt + size_t{i} * block_size;
        uint64_t at = uint64_t{first_data_block + 1 + i} * block_size;
        r = at + block_size <= kHeadBytes ? (memcpy(to, head + at, block_size), kOk)
                                          : dev->read(sector_of(first_data_block + 1 + i), sectors_per_block, to);
        if (r < 0) return r;
    }
    for (uint32_t g = 0; g < groups; ++g) {
        const uint8_t* d = group(g);
        uint32_t first = first_data_block + g * blocks_per_group;
        uint32_t in_group = blocks_count - first < blocks_per_group ? blocks_count - first
                                                                    : blocks_per_group;
        uint32_t table = get32(d + gd::kInodeTable);
        if (!block_valid(get32(d + gd::kBlockBitmap)) || !block_valid(get32(d + gd::kInodeBitmap)) ||
            !block_valid(table) || uint64_t{table} + itable_blocks > blocks_count)
            return kErrCorrupt;
        if (get16(d + gd::kFreeBlocks) > in_group || get16(d + gd::kFreeInodes) > inodes_per_group ||
            get16(d + gd::kUsedDirs) > inodes_per_group)
            return kErrCorrupt;
    }

    uint32_t capacity = kCacheBytes / block_size;
    r = cache.init(dev, block_size, capacity);
    if (r < 0) return r;

    DiskInode root;
    r = read_inode(kRootIno, &root);
    if (r < 0) return r;
    if (!is_dir(root)) return kErrCorrupt;
    if (compat & kCompatHasJournal) {
        bool replayed;
        r = journal_open(&replayed);
        if (r == kErrCorrupt && !(incompat & kIncompatRecover)) {
            // A damaged journal, and the file system says it holds nothing
            // to recover: served read-only rather than written unjournaled.
            journal_free(journal);
            journal = nullptr;
            read_only = true;
            unsupported_feature("writing with a damaged", "journal");
            delete[] head;
            head = nullptr;
            return kOk;
        }
        if (r < 0) return r;
        if (replayed) return kReplayed;
        cache.set_commit([](void* fs) { return static_cast<Fs*>(fs)->commit(); }, this);
    }
    delete[] head;
    head = nullptr;
    return kOk;
}

}  // namespace ext2::detail

namespace ext2 {

using namespace detail;

const char* Volume::refusal() { return g_refusal; }

int64_t Volume::mount(BlockDevice* device, Volume** out) {
    g_refusal[0] = '\0';
    journal_replayed(true);
    if (!device || !out) return kErrInvalidArgument;
    Fs* fs = new (std::nothrow) Fs;
    if (!fs) return kErrNoMemory;
    int64_t r = fs->load(device);
    if (r == kReplayed) {  // what was loaded may have changed: start again
        delete fs;
        fs = new (std::nothrow) Fs;
        if (!fs) return kErrNoMemory;
        r = fs->load(device);
        if (r == kReplayed) r = kErrCorrupt;  // a log that is still not empty
    }
    if (r < 0) return refuse(fs, r);
    Volume* v = new (std::nothrow) Volume(fs);
    if (!v) return refuse(fs, kErrNoMemory);
    *out = v;
    return kOk;
}

Volume::~Volume() {
    checkpoint();  // nothing should be pending; just in case a write-back failed
    delete fs_;
}

bool Volume::read_only() const { return fs_->read_only; }

void Volume::set_clock(uint32_t (*now)()) { fs_->clock = now; }

int64_t Volume::statfs(FsStat* out) {
    const uint8_t* s = fs_->super;
    out->block_size = fs_->block_size;
    out->blocks = fs_->blocks_count;
    out->free_blocks = get32(s + sb::kFreeBlocks);
    out->inodes = fs_->inodes_count;
    out->free_inodes = get32(s + sb::kFreeInodes);
    memcpy(out->label, s + sb::kVolumeName, 16);
    out->label[16] = '\0';
    return kOk;
}

int64_t Volume::sync() {
    int64_t r = fs_->commit();
    if (r < 0) return r;
    if (fs_->journal && !fs_->read_only) return fs_->checkpoint();
    return fs_->device->flush();
}

bool Volume::journaled() const { return fs_->journal; }

void Volume::set_deferred(bool on) { fs_->deferred = on; }

int64_t Volume::commit() { return fs_->commit(); }

uint32_t Volume::replayed() { return journal_replayed(false); }

int64_t Volume::checkpoint() {
    int64_t r = fs_->commit();
    if (r < 0 || !fs_->journal || fs_->read_only) return r;
    return fs_->checkpoint();  // nothing to do if the log is empty
}

}  // namespace ext2
