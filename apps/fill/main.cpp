// fill NAME SIZE [SEED]: writes SIZE bytes (suffix K or M for KiB, MiB) of
// reproducible pseudo-random data to NAME and prints its CRC-32, which
// `sum` inside Mica and the host's tools (debugfs, zlib) can check.
#include "format.h"
#include "mica/files.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

int main() {
    Words w(startup().cmdline);
    const char* cwd = w.value("cwd", "file:/");
    if (!w.accepts("", 2, 3, "fill NAME SIZE[K|M] [SEED]")) return 2;
    uint64_t size = w.number(1);
    uint64_t seed = w.count() > 2 ? w.number(2) : 1;
    files::Name n;
    if (int64_t e = files::resolve(w[0], cwd, &n); e < 0) {
        print("fill: %s: %s\n", w[0], error_name(e));
        return 1;
    }
    if (int64_t e = files::make_empty(n); e < 0) {
        print("fill: %s: %s\n", n.text, error_name(e));
        return 1;
    }
    static uint8_t chunk[proto::fs::kChunk];
    Random random(seed);
    uint32_t crc = 0;
    uint64_t start = static_cast<uint64_t>(sys::clock_monotonic());
    for (uint64_t offset = 0; offset < size;) {
        uint32_t take = size - offset < sizeof chunk ? static_cast<uint32_t>(size - offset) : sizeof chunk;
        random.fill(chunk, take);
        crc = files::crc32(crc, chunk, take);
        if (int64_t e = files::write(n, offset, chunk, take); e < 0) {
            print("fill: %s: %s at offset %lu\n", n.text, error_name(e), offset);
            return 1;
        }
        offset += take;
    }
    uint64_t ns = static_cast<uint64_t>(sys::clock_monotonic()) - start;
    print("fill: %s %lu bytes crc32 %08x (%lu ms)\n", n.text, size, crc, ns / 1'000'000);
    return 0;
}
