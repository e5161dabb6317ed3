// fsbench: file throughput through file: (client -> ext2 file server ->
// virtio-blk driver -> device, every hop an IPC), run from the shell by
// `./mica bench`. Sequential writes and reads of a 16 MiB file in 32 KiB
// requests (MiB/s by the clock; each write is also timed, as below), then
// single 4 KiB reads timed with the cycle counter less the ticks the CPU
// spent halted waiting for the device (under -icount: the instructions the
// whole path executed, in every process and the kernel).
//
//   fsbench [size=MIB] [file=file:/fsbench.tmp]
#include "mica/files.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"

using namespace mica;

namespace {

uint64_t ticks() {
    uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return static_cast<uint64_t>(hi) << 32 | lo;
}

uint64_t now() { return static_cast<uint64_t>(sys::clock_monotonic()); }

uint64_t idle() {
    SystemInfo s{};
    sys::system_info(&s);
    return s.idle_ticks;
}

void throughput(const char* metric, uint64_t bytes, uint64_t ns) {
    uint64_t centi = ns ? bytes * 100 * 1'000'000'000 / ns / (1 << 20) : 0;  // MiB/s x 100
    print("bench %s %lu.%02lu MiB/s\n", metric, centi / 100, centi % 100);
}

uint8_t g_chunk[proto::fs::kChunk];
uint64_t g_samples[1024];

void sort(uint64_t* v, uint64_t n) {
    for (uint64_t i = 1; i < n; ++i)
        for (uint64_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
            uint64_t t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
}

}  // namespace

int main() {
    Words args(startup().cmdline);
    if (!args.accepts("size file", 0, 0, "fsbench [size=MIB] [file=NAME]")) return 2;
    uint64_t size = Words::parse(args.value("size", "16")) << 20;
    files::Name n;
    if (int64_t e = files::resolve(args.value("file", "file:/fsbench.tmp"), "file:/", &n); e < 0) {
        print("fsbench: %s\n", error_name(e));
        return 1;
    }
    if (int64_t e = files::make_empty(n); e < 0) {
        print("fsbench: %s: %s\n", n.text, error_name(e));
        return 1;
    }
    Random random(1);
    random.fill(g_chunk, sizeof g_chunk);
    uint64_t t0 = now();
    uint64_t writes = 0;
    for (uint64_t off = 0; off < size; off += sizeof g_chunk) {
        uint64_t idle_start = idle(), start = ticks();
        if (int64_t e = files::write(n, off, g_chunk, sizeof g_chunk); e < 0) {
            print("fsbench: write: %s\n", error_name(e));
            return 1;
        }
        uint64_t spent = ticks() - start, halted = idle() - idle_start;
        if (writes < 1024) g_samples[writes++] = spent > halted ? spent - halted : 0;
    }
    throughput("fs.write.seq_32k", size, now() - t0);
    sort(g_samples, writes);
    print("bench fs.write_32k.median %lu ticks\n", g_samples[writes / 2]);
    t0 = now();
    for (uint64_t off = 0; off < size;) {
        int64_t got = files::read(n, off, g_chunk, sizeof g_chunk);
        if (got <= 0) {
            print("fsbench: read: %s\n", error_name(got < 0 ? got : kErrIo));
            return 1;
        }
        off += static_cast<uint64_t>(got);
    }
    throughput("fs.read.seq_32k", size, now() - t0);

    // Single 4 KiB reads, each timed: the whole path for one small request.
    uint32_t count = 0;
    t0 = now();
    for (uint64_t off = 0; off < size && count < 1024; off += 4096 * 3, ++count) {
        uint64_t idle_start = idle(), start = ticks();
        if (files::read(n, off, g_chunk, 4096) != 4096) {
            print("fsbench: 4 KiB read failed\n");
            return 1;
        }
        uint64_t end = ticks();
        g_samples[count] = end - start - (idle() - idle_start);
    }
    throughput("fs.read.random_4k", uint64_t{count} * 4096, now() - t0);
    sort(g_samples, count);
    print("bench fs.read_4k.median %lu ticks\n", g_samples[count / 2]);
    print("bench fs.read_4k.min %lu ticks\n", g_samples[0]);
    print("bench fs.read_4k.max %lu ticks\n", g_samples[count - 1]);
    proto::fs::Unlink::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    proto::fs::Unlink::Reply r;
    rpc::call<proto::fs::Unlink>(n.endpoint, q, &r);
    print("fsbench-done\n");
    return 0;
}
