// fsbench: file throughput through file: (client -> ext2 file server ->
// virtio-blk driver -> device, every hop an IPC), run from the shell by
// `./mica bench`. Sequential writes and reads of a 16 MiB file in 32 KiB
// requests (MiB/s by the clock; each write is also timed, as below), then
// single 4 KiB reads timed with the cycle counter less the ticks the CPU
// spent halted waiting for the device (under -icount: the instructions the
// whole path executed, in every process and the kernel).
//
// Before all that, 1 MiB read sequentially (fs.read_seq_1m: the first pass
// over files the file server has never seen, and again from its cache)
// beside the runtime's memcpy of 1 MiB (fs.memcpy_1m); after it, a small
// file opened by name, read and closed (fs.open_read_close_4k).
//
//   fsbench [size=MIB] [file=file:/fsbench.tmp] [cold=file:/fsbench.cold]
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

// The program's buffer for reads, page-aligned as a program that reads in
// bulk keeps it (the runtime's own read buffer is too): the kernel copies a
// reply in pieces that end at page boundaries of either side, so a cached
// block (page-aligned in the file server) arrives in whole pages.
alignas(4096) uint8_t g_chunk[proto::fs::kChunk];
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

void report(const char* figure, uint64_t* v, uint32_t n) {
    sort(v, n);
    print("bench %s.median %lu ticks\n", figure, v[n / 2]);
    print("bench %s.min %lu ticks\n", figure, v[0]);
    print("bench %s.max %lu ticks\n", figure, v[n - 1]);
}

void unlink(const files::Name& n) {
    proto::fs::Unlink::Request q{};
    copy_string(q.path, sizeof q.path, n.path);
    proto::fs::Unlink::Reply r;
    rpc::call<proto::fs::Unlink>(n.endpoint, q, &r);
}

// --- 1 MiB read sequentially ------------------------------------------------------------

constexpr uint32_t kMiB = 1 << 20;
constexpr uint32_t kColdFiles = 16;  // at most this many uncached samples
constexpr uint32_t kPasses = 9;      // cached samples, and memcpy's
uint8_t g_from[kMiB], g_to[kMiB];

// One pass over the first MiB of the open file `n`, a whole kChunk request
// at a time, into g_chunk (a program's buffer: read() copies the reply's
// data there), in ticks less those the CPU spent halted. 0 if a read failed.
uint64_t read_mib(const files::Name& n) {
    uint64_t idle_start = idle(), start = ticks();
    for (uint64_t off = 0; off < kMiB;) {
        int64_t got = files::read(n, off, g_chunk, sizeof g_chunk);
        if (got <= 0) {
            print("fsbench: %s: read: %s\n", n.text, error_name(got < 0 ? got : kErrIo));
            return 0;
        }
        off += static_cast<uint64_t>(got);
    }
    uint64_t spent = ticks() - start, halted = idle() - idle_start;
    return spent > halted ? spent - halted : 1;
}

// fs.read_seq_1m, per MiB read through an open file. Uncached: the first
// pass over a file the file server has not seen since it started. Those
// are COLD.0, COLD.1, ... (1 MiB each), which ./mica bench (tools/bench.py)
// writes onto its copy of the disk image with debugfs before it boots;
// nothing reads them before this, and the server's data cache starts empty
// at every start (a file written here would not do: every write goes
// through that cache). Whether the CPU halted in a pass proves nothing
// either way: under -icount the device may answer before it falls idle.
// Cached: the last of them again, pass after pass. Without COLD.0 (fsbench
// run by hand), COLD.0 is written here, for the cached figure alone. They
// are all removed afterwards. Then the runtime's memcpy of 1 MiB
// (fs.memcpy_1m), the floor a cached read is compared with: called as a
// function, so that the compiler cannot put its own copy in its place.
bool sequential_figures(const char* cold, Random& random) {
    uint64_t uncached[kColdFiles], cached[kPasses];
    uint32_t count = 0;
    static files::Name last;
    char path[proto::fs::kPathMax];
    for (uint32_t i = 0; i < kColdFiles; ++i) {
        format_to(path, sizeof path, "%s.%u", cold, i);
        files::Name c;
        proto::fs::Stat::Reply st;
        if (files::resolve(path, "file:/", &c) != kOk || files::open(c, 0, &st) != kOk) break;
        if (st.size < kMiB) {
            print("fsbench: %s: %lu bytes, not 1 MiB\n", c.text, st.size);
            files::close(c);
            break;
        }
        if (!(uncached[count++] = read_mib(c))) return false;
        if (i) files::close(last);
        last = c;
    }
    bool made = count == 0;
    if (made) {
        print("fsbench: no %s.0 (./mica bench puts it on its disk copy): no uncached figure\n", cold);
        format_to(path, sizeof path, "%s.0", cold);
        proto::fs::Stat::Reply st;
        if (files::resolve(path, "file:/", &last) != kOk || files::make_empty(last) != kOk ||
            files::open(last, 0, &st) != kOk) {
            print("fsbench: %s: cannot make it\n", path);
            return false;
        }
        for (uint32_t off = 0; off < kMiB; off += sizeof g_chunk) {
            random.fill(g_chunk, sizeof g_chunk);
            if (files::write(last, off, g_chunk, sizeof g_chunk) != kOk) {
                print("fsbench: %s: cannot write it\n", last.text);
                return false;
            }
        }
    }
    for (uint32_t i = 0; i < kPasses; ++i)
        if (!(cached[i] = read_mib(last))) return false;
    files::close(last);
    // Gone once read: the disk has room for the writes that follow only
    // without them (and the next run of ./mica bench writes them afresh).
    for (uint32_t i = 0; i < (made ? 1 : count); ++i) {
        format_to(path, sizeof path, "%s.%u", cold, i);
        files::Name c;
        if (files::resolve(path, "file:/", &c) == kOk) unlink(c);
    }
    if (count) report("fs.read_seq_1m.uncached", uncached, count);
    report("fs.read_seq_1m.cached", cached, kPasses);

    void* (*volatile copy)(void*, const void*, size_t) = memcpy;
    random.fill(g_from, sizeof g_from);
    copy(g_to, g_from, kMiB);  // every page touched before the count
    for (uint32_t i = 0; i < kPasses; ++i) {
        uint64_t start = ticks();
        copy(g_to, g_from, kMiB);
        cached[i] = ticks() - start;
    }
    report("fs.memcpy_1m", cached, kPasses);
    return true;
}

// fs.open_read_close_4k: what a program does to read a small file it names:
// the name resolved (its scheme's server known by then), Open, a 4 KiB
// NodeRead into its buffer, Close; the file's data and metadata already in
// the file server's caches (written just before, and one round untimed).
// And the same with the 4 KiB in the Open's reply (kOpenRead, as the Linux
// personality opens a file to read): two requests, not three
// (fs.open_read_close_4k.first_bytes).
bool open_read_close_figures(const char* base) {
    constexpr uint32_t kRounds = 64;
    char path[proto::fs::kPathMax];
    format_to(path, sizeof path, "%s.small", base);
    files::Name w;
    if (files::resolve(path, "file:/", &w) != kOk || files::make_empty(w) != kOk ||
        files::write(w, 0, g_chunk, 4096) != kOk) {
        print("fsbench: %s: cannot make it\n", path);
        return false;
    }
    for (int first_bytes = 0; first_bytes < 2; ++first_bytes) {
        for (uint32_t i = 0; i <= kRounds; ++i) {
            uint64_t idle_start = idle(), start = ticks();
            files::Name m;
            proto::fs::Stat::Reply st;
            int64_t got = -1;
            if (files::resolve(path, "file:/", &m) == kOk) {
                const void* data;
                uint32_t size;
                if (!first_bytes) {
                    if (files::open(m, 0, &st) == kOk) got = files::read(m, 0, g_chunk, 4096);
                } else if (files::open(m, 0, &st, 0, nullptr, &data, &size) == kOk) {
                    memcpy(g_chunk, data, size);
                    got = size;
                }
                files::close(m);
            }
            uint64_t end = ticks();
            if (got != 4096) {
                print("fsbench: %s: open, read 4 KiB, close: %s\n", path, got < 0 ? "failed" : "short");
                return false;
            }
            if (i) g_samples[i - 1] = end - start - (idle() - idle_start);
        }
        report(first_bytes ? "fs.open_read_close_4k.first_bytes" : "fs.open_read_close_4k", g_samples,
               kRounds);
    }
    unlink(w);
    return true;
}

}  // namespace

int main() {
    Words args(startup().cmdline);
    if (!args.accepts("size file cold", 0, 0, "fsbench [size=MIB] [file=NAME] [cold=NAME]")) return 2;
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
    if (!sequential_figures(args.value("cold", "file:/fsbench.cold"), random)) return 1;
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
        unlink(g_writers[i].name);
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
    report("fs.read_4k", g_samples, count);
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
        report(name == &n ? "fs.read_4k.cached" : "fs.read_4k.cached_by_path", g_samples, kCached);
    }
    files::close(n);
    if (!open_read_close_figures(n.text)) return 1;
    unlink(n);
    print("fsbench-done\n");
    return 0;
}
