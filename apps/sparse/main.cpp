// sparse: files whose truncation is long work for the file server.
//   sparse NAME COUNT      writes one byte every 4 MiB, COUNT times: each
//                          lands in a block map of its own (an indirect
//                          block on ext2 with 4 KiB blocks)
//   sparse -t NAME SIZE    truncates NAME to SIZE bytes and says how long
//                          it took
// The test of a long truncate (the file server answers others meanwhile,
// and is not taken for hung) uses both.
#include "mica/files.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

int usage() {
    print("usage: sparse NAME COUNT | sparse -t NAME SIZE\n");
    return 2;
}

constexpr uint64_t kStride = 4ULL << 20;

}  // namespace

int main() {
    Words w(startup().cmdline);
    const char* cwd = w.value("cwd", "file:/");
    bool cut = w.count() > 0 && !strcmp(w[0], "-t");
    uint32_t first = cut ? 1 : 0;
    for (uint32_t i = first; i < w.count(); ++i)
        if (w[i][0] == '-') return usage();
    if (w.count() != first + 2) return usage();
    files::Name n;
    if (int64_t e = files::resolve(w[first], cwd, &n); e < 0) {
        print("sparse: %s: %s\n", w[first], error_name(e));
        return 1;
    }
    uint64_t number = w.number(first + 1);
    auto start = static_cast<uint64_t>(sys::clock_monotonic());
    if (cut) {
        print("sparse: truncating %s to %lu bytes\n", n.text, number);
        if (int64_t e = files::truncate(n, number); e < 0) {
            print("sparse: %s: %s\n", n.text, error_name(e));
            return 1;
        }
        auto took = static_cast<uint64_t>(sys::clock_monotonic()) - start;
        print("sparse: %s truncated to %lu bytes in %lu ms\n", n.text, number, took / 1'000'000);
        return 0;
    }
    if (int64_t e = files::make_empty(n); e < 0) {
        print("sparse: %s: %s\n", n.text, error_name(e));
        return 1;
    }
    for (uint64_t i = 0; i < number; ++i) {
        const char byte = static_cast<char>('a' + i % 26);
        if (int64_t e = files::write(n, i * kStride, &byte, 1); e < 0) {
            print("sparse: %s: %s at offset %lu\n", n.text, error_name(e), i * kStride);
            return 1;
        }
    }
    print("sparse: %s: %lu bytes, one every 4 MiB, in %lu ms\n", n.text, number,
          (static_cast<uint64_t>(sys::clock_monotonic()) - start) / 1'000'000);
    return 0;
}
