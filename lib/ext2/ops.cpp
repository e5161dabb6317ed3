// The Volume's operations. Each mutating one ends with commit(): whatever
// happened, success or a failure half-way, every block it changed is on the
// device when it returns.
#include "internal.h"

namespace ext2 {

using namespace detail;

namespace {

int64_t finish(Fs* fs, int64_t result) {
    if (fs->deferred) return result;  // the caller commits for a group of calls
    int64_t r = fs->commit();
    if (result < 0) return result;
    return r < 0 ? r : result;
}

constexpr uint16_t kNewFileMode = kModeFile | 0644, kNewDirMode = kModeDir | 0755;
constexpr uint32_t kMaxAncestors = Volume::kMaxPath;

// Entries naming reserved inodes (bad blocks, resize, journal...) exist only
// in corrupt images; refuse before changing anything.
bool reserved(const Fs* fs, uint32_t ino) { return ino != kRootIno && ino < fs->first_ino; }

// Drops one link to `ino` (from a directory entry already removed); the last
// one frees it, unless the inode is held open: then it becomes an orphan,
// linked into the superblock's list through its dtime (the ext3 layout).
int64_t drop_link(Fs* fs, uint32_t ino, DiskInode& in) {
    if (in.links == 0) return kErrCorrupt;
    in.ctime = fs->now();
    if (--in.links == 0) {
        if (!fs->held || !fs->held(ino)) return fs->release(ino, in);
        in.dtime = get32(fs->super + sb::kLastOrphan);
        put32(fs->super + sb::kLastOrphan, ino);
        fs->super_dirty = true;
    }
    return fs->write_inode(ino, in);
}

// The orphan list is walked at most this far: a longer one is a cycle.
constexpr uint32_t kMaxOrphans = 65536;

// The inode a node names, if it is still that file: a number in range and
// not reserved, in use (a freed inode has mode 0), of the same generation.
int64_t node_at(Fs* fs, Node n, DiskInode* in) {
    if (n.inode == 0 || n.inode > fs->inodes_count || reserved(fs, n.inode)) return kErrNotFound;
    int64_t r = fs->read_inode(n.inode, in);
    if (r < 0) return r;
    return in->mode == 0 || in->generation != n.generation ? kErrNotFound : kOk;
}

// kErrInvalidArgument if `dir` is `ancestor` or lies below it.
int64_t check_not_below(Fs* fs, uint32_t dir, uint32_t ancestor) {
    uint32_t cur = dir;
    for (uint32_t step = 0; step < kMaxAncestors; ++step) {
        if (cur == ancestor) return kErrInvalidArgument;
        if (cur == kRootIno) return kOk;
        DiskInode in;
        int64_t r = fs->read_inode(cur, &in);
        if (r < 0) return r;
        if (!is_dir(in)) return kErrCorrupt;
        uint32_t up;
        r = fs->lookup(cur, in, "..", 2, &up);
        if (r < 0) return r == kErrNotFound ? kErrCorrupt : r;
        if (up == cur) return kErrCorrupt;  // only the root is its own parent
        cur = up;
    }
    return kErrCorrupt;
}

// The entry `path` names: its directory (read), its name there, and its
// inode if it exists (`found`: kOk, kErrNotFound, or what the lookup hit).
struct Named {
    uint32_t parent, ino;
    const char* name;
    uint32_t len;
    DiskInode dir;
    int64_t found;
};

int64_t name_in_dir(Fs* fs, const char* path, Named* n) {
    int64_t r = fs->resolve_parent(path, &n->parent, &n->name, &n->len);
    if (r < 0) return r;
    r = fs->read_inode(n->parent, &n->dir);
    if (r < 0) return r;
    n->found = fs->lookup(n->parent, n->dir, n->name, n->len, &n->ino);
    return kOk;
}

// The inode `path` names, read.
int64_t inode_at(Fs* fs, const char* path, uint32_t* ino, DiskInode* in) {
    int64_t r = fs->resolve(path, ino);
    return r < 0 ? r : fs->read_inode(*ino, in);
}

}  // namespace

namespace {
Stat stat_of(uint32_t ino, const DiskInode& in) {
    uint32_t uid = in.uid | uint32_t{in.osd2[4]} << 16 | uint32_t{in.osd2[5]} << 24;  // with l_i_uid_high
    uint32_t gid = in.gid | uint32_t{in.osd2[6]} << 16 | uint32_t{in.osd2[7]} << 24;
    return Stat{ino, api_type(in.mode), in.mode, in.links, uid, gid,
                file_size(in), in.blocks512, in.atime, in.mtime, in.ctime, in.generation};
}

// What the path and node forms of read, write and truncate share.
int64_t read_from(Fs* fs, uint32_t ino, DiskInode& in, uint64_t offset, void* buffer, uint32_t length) {
    if (is_dir(in)) return kErrIsDirectory;
    if (!is_file(in) && !is_symlink(in)) return kErrInvalidArgument;
    return fs->read_data(ino, in, offset, static_cast<uint8_t*>(buffer), length);
}

int64_t write_to(Fs* fs, uint32_t ino, DiskInode& in, uint64_t offset, const void* buffer, uint32_t length) {
    if (is_dir(in)) return kErrIsDirectory;
    if (!is_file(in)) return kErrInvalidArgument;
    int64_t r = fs->write_data(ino, in, offset, static_cast<const uint8_t*>(buffer), length);
    int64_t w = fs->write_inode(ino, in);
    return finish(fs, r < 0 ? r : (w < 0 ? w : r));
}

int64_t resize_to(Fs* fs, uint32_t ino, DiskInode& in, uint64_t size) {
    if (is_dir(in)) return kErrIsDirectory;
    if (!is_file(in)) return kErrInvalidArgument;
    int64_t r = fs->resize(ino, in, size);
    in.mtime = in.ctime = fs->now();
    int64_t w = fs->write_inode(ino, in);
    return finish(fs, r < 0 ? r : w);
}
}  // namespace

int64_t Volume::stat(const char* path, Stat* out) {
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    *out = stat_of(ino, in);
    return kOk;
}

int64_t Volume::stat_entry(const DirEntry& entry, Stat* out) {
    DiskInode in;
    if (entry.inode == 0 || entry.inode > fs_->inodes_count) return kErrCorrupt;
    int64_t r = fs_->read_inode(entry.inode, &in);
    if (r < 0) return r;
    *out = stat_of(entry.inode, in);
    return kOk;
}

int64_t Volume::read(const char* path, uint64_t offset, void* buffer, uint32_t length) {
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    return r < 0 ? r : read_from(fs_, ino, in, offset, buffer, length);
}

int64_t Volume::write(const char* path, uint64_t offset, const void* buffer, uint32_t length) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    return r < 0 ? r : write_to(fs_, ino, in, offset, buffer, length);
}

int64_t Volume::truncate(const char* path, uint64_t size) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    return r < 0 ? r : resize_to(fs_, ino, in, size);
}

// --- nodes ------------------------------------------------------------------------------

int64_t Volume::node(const char* path, Node* out) {
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    *out = Node{ino, in.generation};
    return kOk;
}

int64_t Volume::stat(Node n, Stat* out) {
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    if (r < 0) return r;
    *out = stat_of(n.inode, in);
    return kOk;
}

int64_t Volume::read(Node n, uint64_t offset, void* buffer, uint32_t length) {
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    return r < 0 ? r : read_from(fs_, n.inode, in, offset, buffer, length);
}

int64_t Volume::view(Node n, uint64_t offset, uint32_t length, const void** data) {
    *data = nullptr;
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    if (r < 0) return r;
    if (!is_file(in)) return kOk;
    uint64_t size = file_size(in);
    if (offset >= size) return kOk;
    if (size - offset < length) length = static_cast<uint32_t>(size - offset);
    if ((*data = fs_->data_view(n.inode, offset, length))) return length;
    if (!fs_->data_ready()) return kOk;
    // Into the cache first (a device error part-way leaves what came before it).
    int64_t got = fs_->read_data(n.inode, in, offset, nullptr, length);
    if (got <= 0) return got;
    *data = fs_->data_view(n.inode, offset, static_cast<uint32_t>(got));
    return *data ? got : 0;
}

int64_t Volume::write(Node n, uint64_t offset, const void* buffer, uint32_t length) {
    if (fs_->read_only) return kErrReadOnly;
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    return r < 0 ? r : write_to(fs_, n.inode, in, offset, buffer, length);
}

int64_t Volume::truncate(Node n, uint64_t size) {
    if (fs_->read_only) return kErrReadOnly;
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    return r < 0 ? r : resize_to(fs_, n.inode, in, size);
}

int64_t Volume::set_times(Node n, uint32_t atime, uint32_t mtime) {
    if (fs_->read_only) return kErrReadOnly;
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    if (r < 0) return r;
    in.atime = atime, in.mtime = mtime, in.ctime = fs_->now();
    return finish(fs_, fs_->write_inode(n.inode, in));
}

void Volume::set_holder(bool (*held)(uint32_t inode)) { fs_->held = held; }

int64_t Volume::release(Node n) {
    if (fs_->read_only) return kOk;
    DiskInode in;
    int64_t r = node_at(fs_, n, &in);
    if (r < 0) return r == kErrNotFound ? kOk : r;
    if (in.links != 0) return kOk;
    // Off the list: the one before it (or the superblock) takes its link.
    uint32_t at = get32(fs_->super + sb::kLastOrphan);
    if (at == n.inode) {
        put32(fs_->super + sb::kLastOrphan, in.dtime);
        fs_->super_dirty = true;
    } else {
        for (uint32_t step = 0;; ++step) {
            if (at == 0 || step == kMaxOrphans || at > fs_->inodes_count || reserved(fs_, at)) return kErrCorrupt;
            DiskInode before;
            if ((r = fs_->read_inode(at, &before)) < 0) return r;
            if (before.dtime == n.inode) {
                before.dtime = in.dtime;
                if ((r = fs_->write_inode(at, before)) < 0) return finish(fs_, r);
                break;
            }
            at = before.dtime;
        }
    }
    return finish(fs_, fs_->release(n.inode, in));
}

int64_t Volume::orphans(Node* out, uint32_t max) {
    uint32_t count = 0;
    uint32_t at = get32(fs_->super + sb::kLastOrphan);
    for (uint32_t step = 0; at != 0; ++step) {
        if (step == kMaxOrphans || at > fs_->inodes_count || reserved(fs_, at)) return kErrCorrupt;
        DiskInode in;
        if (int64_t r = fs_->read_inode(at, &in); r < 0) return r;
        if (count < max) out[count++] = Node{at, in.generation};
        at = in.dtime;
    }
    return count;
}

int64_t Volume::chmod(const char* path, uint32_t mode) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    in.mode = static_cast<uint16_t>((in.mode & 0xf000) | (mode & 07777));
    in.ctime = fs_->now();
    return finish(fs_, fs_->write_inode(ino, in));
}

int64_t Volume::chown(const char* path, uint32_t uid, uint32_t gid) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    auto set = [&](uint16_t* low, size_t high_at, uint32_t id) {
        if (id == kKeepOwner) return;
        *low = static_cast<uint16_t>(id);
        in.osd2[high_at] = static_cast<uint8_t>(id >> 16), in.osd2[high_at + 1] = static_cast<uint8_t>(id >> 24);
    };
    set(&in.uid, 4, uid);  // l_i_uid_high
    set(&in.gid, 6, gid);  // l_i_gid_high
    if (!is_dir(in)) in.mode &= static_cast<uint16_t>(in.mode & 010 ? ~06000 : ~04000);
    in.ctime = fs_->now();
    return finish(fs_, fs_->write_inode(ino, in));
}

namespace {

// A new inode of `mode` (a file or a FIFO: no blocks) named by n.
int64_t make_node(Fs* fs, Named& n, uint16_t mode) {
    uint32_t ino;
    int64_t r = fs->alloc_inode(n.parent, false, &ino);
    if (r < 0) return finish(fs, r);
    DiskInode in;
    r = fs->init_inode(ino, &in, mode);
    if (r >= 0) {
        in.links = 1;
        r = fs->write_inode(ino, in);
    }
    if (r >= 0) r = fs->add_entry(n.parent, n.dir, n.name, n.len, ino, in.mode);
    if (r < 0) fs->release(ino, in);
    return finish(fs, r);
}

}  // namespace

int64_t Volume::create(const char* path, bool exclusive) {
    if (fs_->read_only) return kErrReadOnly;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found == kOk) {
        if (exclusive) return kErrAlreadyExists;
        DiskInode in;
        int64_t r = fs_->read_inode(n.ino, &in);
        if (r < 0) return r;
        return is_dir(in) ? kErrIsDirectory : kOk;
    }
    if (n.found != kErrNotFound) return n.found;
    return make_node(fs_, n, kNewFileMode);
}

int64_t Volume::make_fifo(const char* path, uint32_t mode) {
    if (fs_->read_only) return kErrReadOnly;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found == kOk) return kErrAlreadyExists;
    if (n.found != kErrNotFound) return n.found;
    return make_node(fs_, n, static_cast<uint16_t>(kModeFifo | (mode & 07777)));
}

int64_t Volume::mkdir(const char* path) {
    if (fs_->read_only) return kErrReadOnly;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found == kOk) return kErrAlreadyExists;
    if (n.found != kErrNotFound) return n.found;
    if (n.dir.links >= kLinkMax) return kErrNoSpace;
    uint32_t ino;
    int64_t r = fs_->alloc_inode(n.parent, true, &ino);
    if (r < 0) return finish(fs_, r);
    DiskInode in;
    r = fs_->init_inode(ino, &in, kNewDirMode);
    if (r >= 0) r = fs_->make_dir_block(ino, n.parent, in);
    if (r >= 0) {
        in.links = 2;
        r = fs_->write_inode(ino, in);
    }
    if (r >= 0) r = fs_->add_entry(n.parent, n.dir, n.name, n.len, ino, in.mode);
    if (r < 0) {
        fs_->release(ino, in);
        return finish(fs_, r);
    }
    n.dir.links++;
    return finish(fs_, fs_->write_inode(n.parent, n.dir));
}

int64_t Volume::symlink(const char* path, const char* target) {
    if (fs_->read_only) return kErrReadOnly;
    if (!target) return kErrInvalidArgument;
    size_t length = 0;
    while (length < fs_->block_size && target[length]) ++length;
    if (length == 0) return kErrNotFound;  // as Linux: an empty target is ENOENT
    if (length >= fs_->block_size) return kErrNameTooLong;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found == kOk) return kErrAlreadyExists;
    if (n.found != kErrNotFound) return n.found;
    uint32_t ino;
    int64_t r = fs_->alloc_inode(n.parent, false, &ino);
    if (r < 0) return finish(fs_, r);
    DiskInode in;
    r = fs_->init_inode(ino, &in, kModeSymlink | 0777);
    if (r >= 0) {
        in.links = 1;
        if (length < sizeof in.block) {  // a fast link: the target in the block array, as mke2fs and Linux
            memcpy(in.block, target, length);
            in.size = static_cast<uint32_t>(length);
        } else {  // a slow one: the target in a block of its own
            r = fs_->write_data(ino, in, 0, reinterpret_cast<const uint8_t*>(target), static_cast<uint32_t>(length));
        }
    }
    if (r >= 0) r = fs_->write_inode(ino, in);
    if (r >= 0) r = fs_->add_entry(n.parent, n.dir, n.name, n.len, ino, in.mode);
    if (r < 0) fs_->release(ino, in);
    return finish(fs_, r);
}

int64_t Volume::link(const char* existing, const char* path) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t ino;
    DiskInode in;
    if (int64_t r = inode_at(fs_, existing, &ino, &in); r < 0) return r;
    if (reserved(fs_, ino)) return kErrCorrupt;
    if (is_dir(in)) return kErrIsDirectory;  // no hard links to directories
    if (in.links >= kLinkMax) return mica::kErrLimit;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found == kOk) return kErrAlreadyExists;
    if (n.found != kErrNotFound) return n.found;
    int64_t r = fs_->add_entry(n.parent, n.dir, n.name, n.len, ino, in.mode);
    if (r >= 0) {
        in.links++;
        in.ctime = fs_->now();
        r = fs_->write_inode(ino, in);
    }
    return finish(fs_, r);
}

int64_t Volume::unlink(const char* path) {
    if (fs_->read_only) return kErrReadOnly;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found < 0) return n.found;
    if (reserved(fs_, n.ino)) return kErrCorrupt;
    DiskInode in;
    int64_t r = fs_->read_inode(n.ino, &in);
    if (r < 0) return r;
    if (is_dir(in)) return kErrIsDirectory;
    r = fs_->remove_entry(n.parent, n.dir, n.name, n.len);
    if (r >= 0) r = drop_link(fs_, n.ino, in);
    return finish(fs_, r);
}

int64_t Volume::rmdir(const char* path) {
    if (fs_->read_only) return kErrReadOnly;
    Named n;
    if (int64_t r = name_in_dir(fs_, path, &n); r < 0) return r;
    if (n.found < 0) return n.found;
    if (n.ino == kRootIno) return kErrInvalidArgument;
    if (reserved(fs_, n.ino)) return kErrCorrupt;
    DiskInode in;
    int64_t r = fs_->read_inode(n.ino, &in);
    if (r < 0) return r;
    if (!is_dir(in)) return kErrNotDirectory;
    r = fs_->dir_empty(in);
    if (r < 0) return r;
    if (r == 0) return kErrNotEmpty;
    r = fs_->remove_entry(n.parent, n.dir, n.name, n.len);
    if (r >= 0) r = fs_->release(n.ino, in);
    if (r >= 0) {
        if (n.dir.links > 2) n.dir.links--;  // its '..'
        r = fs_->write_inode(n.parent, n.dir);
    }
    return finish(fs_, r);
}

int64_t Volume::rename(const char* from, const char* to) {
    if (fs_->read_only) return kErrReadOnly;
    uint32_t fp, tp, src, dst;
    const char *fname, *tname;
    uint32_t flen, tlen;
    int64_t r = fs_->resolve_parent(from, &fp, &fname, &flen);
    if (r < 0) return r;
    r = fs_->resolve_parent(to, &tp, &tname, &tlen);
    if (r < 0) return r;
    DiskInode fdir, tdir, sin, din;
    r = fs_->read_inode(fp, &fdir);
    if (r < 0) return r;
    r = fs_->lookup(fp, fdir, fname, flen, &src);
    if (r < 0) return r;
    if (reserved(fs_, src)) return kErrCorrupt;
    if (fp == tp && flen == tlen && memcmp(fname, tname, flen) == 0) return kOk;
    r = fs_->read_inode(src, &sin);
    if (r < 0) return r;
    r = fs_->read_inode(tp, &tdir);
    if (r < 0) return r;
    // One directory in both roles must be one copy, or the second write of
    // it would undo the first.
    DiskInode* fd = fp == tp ? &tdir : &fdir;
    bool moving_dir = is_dir(sin);
    if (moving_dir && fp != tp) {
        r = check_not_below(fs_, tp, src);
        if (r < 0) return r;
        if (tdir.links >= kLinkMax) return kErrNoSpace;
    }

    r = fs_->lookup(tp, tdir, tname, tlen, &dst);
    if (r == kOk) {
        if (dst == src) return kOk;  // two names of one file
        if (reserved(fs_, dst) || dst == kRootIno) return kErrCorrupt;
        r = fs_->read_inode(dst, &din);
        if (r < 0) return r;
        if (is_dir(din)) {
            if (!moving_dir) return kErrIsDirectory;
            r = fs_->dir_empty(din);
            if (r < 0) return r;
            if (r == 0) return kErrNotEmpty;
        } else if (moving_dir) {
            return kErrNotDirectory;
        }
        r = fs_->retarget_entry(tp, tdir, tname, tlen, src, sin.mode);
        if (r < 0) return finish(fs_, r);
        if (is_dir(din)) {
            din.links = 0;
            r = fs_->release(dst, din);
            if (tdir.links > 2) tdir.links--;  // the replaced directory's '..'
        } else {
            r = drop_link(fs_, dst, din);
        }
    } else if (r == kErrNotFound) {
        r = fs_->add_entry(tp, tdir, tname, tlen, src, sin.mode);
    }
    if (r < 0) return finish(fs_, r);

    r = fs_->remove_entry(fp, *fd, fname, flen);
    if (r >= 0 && moving_dir && fp != tp) {
        r = fs_->retarget_entry(src, sin, "..", 2, tp, kModeDir);
        if (fd->links > 2) fd->links--;
        tdir.links++;
    }
    if (r >= 0) {
        sin.ctime = fs_->now();
        r = fs_->write_inode(src, sin);
    }
    if (r >= 0 && fp != tp) r = fs_->write_inode(fp, *fd);
    if (r >= 0) r = fs_->write_inode(tp, tdir);
    return finish(fs_, r);
}

int64_t Volume::readdir(const char* path, uint32_t index, DirEntry* out) {
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    if (!is_dir(in)) return kErrNotDirectory;
    return fs_->entry_at(in, index, out);
}

int64_t Volume::readdir_from(const char* path, uint64_t cursor, DirEntry* out, uint64_t* next) {
    uint32_t ino;
    DiskInode in;
    int64_t r = inode_at(fs_, path, &ino, &in);
    if (r < 0) return r;
    if (!is_dir(in)) return kErrNotDirectory;
    return fs_->entry_from(in, cursor, out, next);
}

uint64_t Volume::block_visits() const { return fs_->cache.gets(); }

}  // namespace ext2
