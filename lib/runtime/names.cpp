// Names of files as text: the part of files::resolve that needs no server
// (so the host unit tests check it). A name is split into its scheme and a
// '/'-rooted path, '.' and '..' folded, relative names taken below the
// current directory.
#include "mica/files.h"

#ifdef MICA_HOST_TEST
#include "lib/format.h"
#else
#include "format.h"
#endif
#include "mica/strings.h"

namespace mica::files {

namespace {

// Folds "a/./b", "a/../b" and repeated slashes into a '/'-rooted path; its
// length, or -1 if it does not fit in `size` bytes.
int64_t normalize(const char* in, char* out, size_t size) {
    size_t n = 0;
    out[n++] = '/';
    for (const char* p = in; *p;) {
        while (*p == '/') ++p;
        const char* end = p;
        while (*end && *end != '/') ++end;
        size_t len = static_cast<size_t>(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 1 && out[n - 1] != '/') --n;
            if (n > 1) --n;  // the slash before the removed part
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (n > 1) out[n++] = '/';
            if (n + len + 1 > size) return -1;
            memcpy(out + n, p, len);
            n += len;
        }
        p = end;
    }
    out[n] = '\0';
    return static_cast<int64_t>(n);
}

}  // namespace

int64_t fold_name(const char* name, const char* cwd, Name* out) {
    out->node = {};  // by path
    // A scheme is what comes before a ':' that comes before any '/'.
    const char* stop = name;
    while (*stop && *stop != ':' && *stop != '/') ++stop;
    char joined[2 * proto::fs::kPathMax];
    const char* path;
    const char* scheme_end;
    const char* scheme = name;
    if (*stop == ':') {
        scheme_end = stop;
        path = stop + 1;
    } else {
        scheme = cwd;
        scheme_end = strchr(cwd, ':');
        if (!scheme_end) return kErrInvalidArgument;
        if (name[0] == '/') {
            path = name;
        } else {
            // Too long to join is too long: folding a cut-off part of the
            // name would give another file's name (".." near the cut).
            if (join(joined, sizeof joined, scheme_end + 1, "/", name) >= sizeof joined)
                return kErrNameTooLong;
            path = joined;
        }
    }
    size_t n = static_cast<size_t>(scheme_end - scheme);
    if (n == 0 || n >= sizeof out->scheme) return kErrInvalidArgument;
    memcpy(out->scheme, scheme, n);
    out->scheme[n] = '\0';
    int64_t length = normalize(path, out->path, sizeof out->path);
    if (length < 0) return kErrNameTooLong;
    // scheme:path, which always fits (sizeof text is sizeof path plus a scheme's room).
    static_assert(sizeof out->text >= sizeof out->scheme + sizeof out->path);
    memcpy(out->text, out->scheme, n);
    out->text[n] = ':';
    memcpy(out->text + n + 1, out->path, static_cast<size_t>(length) + 1);
    return kOk;
}

}  // namespace mica::files
