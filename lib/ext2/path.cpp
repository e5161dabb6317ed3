// Path resolution. Every lookup is bounded by the path's length (at most
// kMaxPath bytes, so at most kMaxPath / 2 components), and no symbolic link
// is followed, so a directory cycle on disk cannot make it loop.
#include "internal.h"

namespace ext2::detail {

namespace {

// strlen that stops looking after `limit` bytes.
size_t bounded_length(const char* s, size_t limit) {
    size_t n = 0;
    while (n <= limit && s[n]) ++n;
    return n;
}

// Follows the components of path[0, n) from the root.
int64_t walk_components(Fs& fs, const char* path, size_t n, uint32_t* out) {
    uint32_t cur = kRootIno;
    size_t i = 0;
    while (i < n) {
        while (i < n && path[i] == '/') ++i;
        if (i == n) break;
        size_t start = i;
        while (i < n && path[i] != '/') ++i;
        if (i - start > kNameMax) return kErrNameTooLong;
        // A name known in `cur` makes cur a directory (an inode becomes
        // something else only after its names are gone): no need to read it.
        uint32_t len = static_cast<uint32_t>(i - start), next;
        if (fs.names.find(cur, path + start, len, &next)) {
            if (!next) return kErrNotFound;
            cur = next;
            continue;
        }
        DiskInode dir;
        int64_t r = fs.read_inode(cur, &dir);
        if (r < 0) return r;
        if (!is_dir(dir)) return kErrNotDirectory;
        r = fs.lookup(cur, dir, path + start, len, &cur);
        if (r < 0) return r;
    }
    *out = cur;
    return kOk;
}

}  // namespace

// walk_components on the whole path in one pass: each component is found,
// measured and hashed for the name cache by one look at its bytes (a path
// opened again and again is all names the cache knows). As before, a path
// longer than kMaxPath is kErrNameTooLong whatever else is wrong with it.
int64_t Fs::resolve(const char* path, uint32_t* ino) {
    if (!path) return kErrInvalidArgument;
    uint32_t cur = kRootIno;
    size_t i = 0;
    int64_t r = kOk;
    for (;;) {
        while (i <= Volume::kMaxPath && path[i] == '/') ++i;
        if (i > Volume::kMaxPath || !path[i]) break;
        size_t start = i;
        uint32_t h = NameCache::hash_start(cur);
        while (i <= Volume::kMaxPath && path[i] && path[i] != '/') h = NameCache::hash_step(h, path[i++]);
        if (i > Volume::kMaxPath) break;
        if (i - start > kNameMax) {
            r = kErrNameTooLong;
            break;
        }
        uint32_t len = static_cast<uint32_t>(i - start), next;
        if (names.find_hashed(cur, path + start, len, h, &next)) {
            if (!next) {
                r = kErrNotFound;
                break;
            }
            cur = next;
            continue;
        }
        DiskInode dir;
        if ((r = read_inode(cur, &dir)) < 0) break;
        if (!is_dir(dir)) {
            r = kErrNotDirectory;
            break;
        }
        if ((r = lookup(cur, dir, path + start, len, &cur)) < 0) break;
    }
    if (i > Volume::kMaxPath || (r < 0 && bounded_length(path, Volume::kMaxPath) > Volume::kMaxPath))
        return kErrNameTooLong;
    if (r < 0) return r;
    *ino = cur;
    return kOk;
}

int64_t Fs::resolve_parent(const char* path, uint32_t* parent, const char** name,
                           uint32_t* len) {
    if (!path) return kErrInvalidArgument;
    size_t n = bounded_length(path, Volume::kMaxPath);
    if (n > Volume::kMaxPath) return kErrNameTooLong;
    size_t end = n;
    while (end > 0 && path[end - 1] == '/') --end;
    if (end == 0) return kErrInvalidArgument;  // the root has no parent entry
    size_t start = end;
    while (start > 0 && path[start - 1] != '/') --start;
    size_t name_len = end - start;
    if (name_len > kNameMax) return kErrNameTooLong;
    if (path[start] == '.' && (name_len == 1 || (name_len == 2 && path[start + 1] == '.')))
        return kErrInvalidArgument;
    int64_t r = walk_components(*this, path, start, parent);
    if (r < 0) return r;
    DiskInode dir;
    r = read_inode(*parent, &dir);
    if (r < 0) return r;
    if (!is_dir(dir)) return kErrNotDirectory;
    *name = path + start;
    *len = static_cast<uint32_t>(name_len);
    return kOk;
}

}  // namespace ext2::detail
