// fsbench: file throughput through file: (client -> ext2 file server ->
// virtio-blk driver -> device, every hop an IPC), run from the shell by
// `./mica bench`. Sequential writes and reads of a 16 MiB file in 32 KiB
// requests (MiB/s by the clock; each write is also timed, as below), then
// single 4 KiB reads timed with the cycle counter less the ticks the CPU
// spent halted waiting for the device (under -icount: the instructions the
// whole path executed, in every process and the kernel).
//
//   fsbench [size=MIB] [file=file:/fsbench.tmp]
#include "format.h"
#include "mica/files.h"
#include "mica/process.h"
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

// Writers at the same time, each its own file: what group commit shares.
constexpr int kWriters = 4;
struct Writer {
    files::Name name;
    uint64_t bytes;
    proto::fs::Write::Request request;
    volatile bool done;
    int64_t error;
};
Writer g_writers[kWriters];

void write_file(void* arg) {
    auto& w = *static_cast<Writer*>(arg);
    w.request.length = sizeof w.request.data;
    copy_string(w.request.path, sizeof w.request.path, w.name.path);
    for (uint64_t off = 0; off < w.bytes && !w.error; off += sizeof w.request.data) {
        w.request.offset = off;
        proto::fs::Write::Reply r;
        int64_t e = rpc::call<proto::fs::Write>(w.name.endpoint, w.request, &r);
        if (e < 0) w.error = e;
    }
    w.done = true;
}

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
    // The same amount by kWriters threads at once, a file each.
    for (int i = 0; i < kWriters; ++i) {
        Writer& w = g_writers[i];
        char path[64];
        format_to(path, sizeof path, "%s.%d", n.text, i);
        if (files::resolve(path, "file:/", &w.name) < 0 || files::make_empty(w.name) < 0) {
            print("fsbench: %s: cannot make it\n", path);
            return 1;
        }
        w.bytes = size / kWriters;
        random.fill(w.request.data, sizeof w.request.data);
    }
    t0 = now();
    for (int i = 0; i < kWriters; ++i)
        if (int64_t t = start_thread(write_file, &g_writers[i], 15); t < 0) {
            g_writers[i].error = t;
            g_writers[i].done = true;
        }
    for (int i = 0; i < kWriters; ++i)
        while (!g_writers[i].done) sys::thread_sleep(1'000'000);
    throughput("fs.write.parallel_4x32k", size, now() - t0);
    for (int i = 0; i < kWriters; ++i) {
        if (g_writers[i].error) print("fsbench: writer %d: %s\n", i, error_name(g_writers[i].error));
        proto::fs::Unlink::Request q{};
        copy_string(q.path, sizeof q.path, g_writers[i].name.path);
        proto::fs::Unlink::Reply r;
        rpc::call<proto::fs::Unlink>(g_writers[i].name.endpoint, q, &r);
    }
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

    // Single 4 KiB reads, each timed: the whole path for one small request,
    // through the file opened (by node, as a program reads an open file).
    files::Name path_name = n;
    proto::fs::Stat::Reply st;
    if (int64_t e = files::open(n, 0, &st); e < 0) {
        print("fsbench: %s: cannot open it: %s\n", n.text, error_name(e));
        return 1;
    }
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
    // The same 4 KiB again and again: what the file server has already read
    // (its file-data cache) costs no device request.
    // Opened (by node), then by path: each request walks the path again.
    constexpr uint32_t kCached = 64;
    const files::Name* const names[] = {&n, &path_name};
    for (const files::Name* name : names) {
        for (uint32_t i = 0; i < kCached; ++i) {
            uint64_t idle_start = idle(), start = ticks();
            if (files::read(*name, 4096, g_chunk, 4096) != 4096) {
                print("fsbench: 4 KiB read failed\n");
                return 1;
            }
            uint64_t end = ticks();
            g_samples[i] = end - start - (idle() - idle_start);
        }
        sort(g_samples, kCached);
        const char* figure = name == &n ? "fs.read_4k.cached" : "fs.read_4k.cached_by_path";
        print("bench %s.median %lu ticks\n", figure, g_samples[kCached / 2]);
        print("bench %s.min %lu ticks\n", figure, g_samples[0]);
        print("bench %s.max %lu ticks\n", figure, g_samples[kCached - 1]);
    }
    files::close(n);
    proto::fs::Unlink::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    proto::fs::Unlink::Reply r;
    rpc::call<proto::fs::Unlink>(n.endpoint, q, &r);
    print("fsbench-done\n");
    return 0;
}
