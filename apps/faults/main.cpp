// faults: fault injection under a file workload. One thread writes files of
// reproducible pseudo-random data through file:, copies them and reads the
// copies back, comparing every byte with what it wrote; meanwhile the main
// thread injects faults into services through init — crash (a bad memory
// access), kill, hang (an endless loop that init's liveness check catches),
// register (a corrupted stack pointer), reply (its next answer is garbage)
// — and times how long each takes to answer again. At the end it prints
// what was injected, the restarts, how many bytes were lost (must be 0) and
// the recovery times.
//
//   faults [count=N] [target=disk,file] [how=crash,kill,hang,register,reply]
//          [size=KIB] [seed=S] [dir=file:/faults]
//
// `kill` ends a process wherever it is; a file server killed half-way
// through an operation can leave the disk needing e2fsck, so for the file
// server a kill becomes a crash (crashes take effect between operations).
#include "format.h"
#include "mica/control.h"
#include "mica/files.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/disk.h"
#include "proto/init.h"

using namespace mica;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kRecoveryLimit = 30'000 * kMs;  // longer: counted as a hang

uint64_t now() { return static_cast<uint64_t>(sys::clock_monotonic()); }

// --- the workload ---------------------------------------------------------------------

struct Workload {
    const char* cwd;
    char dir[128];
    uint64_t size;
    uint64_t seed;
    volatile bool stop = false;
    volatile bool done = false;
    uint64_t rounds = 0, bytes_verified = 0, bytes_lost = 0, errors = 0;
    char last_error[128] = "";
};

uint8_t g_chunk[proto::fs::kChunk];
uint8_t g_expected[proto::fs::kChunk];

void fail(Workload& w, const char* what, const files::Name& n, int64_t e) {
    ++w.errors;
    format_to(w.last_error, sizeof w.last_error, "%s %s: %s", what, n.text, error_name(e));
    print("faults: %s\n", w.last_error);
}

// One round: write src, copy it to dst, read dst back and compare.
void round(Workload& w) {
    char name[160];
    files::Name src, dst;
    format_to(name, sizeof name, "%s/src", w.dir);
    files::resolve(name, w.cwd, &src);
    format_to(name, sizeof name, "%s/dst", w.dir);
    files::resolve(name, w.cwd, &dst);
    uint64_t seed = w.seed * 1000 + w.rounds;
    if (int64_t e = files::make_empty(src); e < 0) return fail(w, "create", src, e);
    Random random(seed);
    for (uint64_t off = 0; off < w.size; off += sizeof g_chunk) {
        uint32_t n = w.size - off < sizeof g_chunk ? static_cast<uint32_t>(w.size - off) : sizeof g_chunk;
        random.fill(g_chunk, n);
        if (int64_t e = files::write(src, off, g_chunk, n); e < 0) return fail(w, "write", src, e);
    }
    if (int64_t e = files::make_empty(dst); e < 0) return fail(w, "create", dst, e);
    for (uint64_t off = 0; off < w.size;) {
        int64_t got = files::read(src, off, g_chunk, sizeof g_chunk);
        if (got <= 0) return fail(w, "read", src, got < 0 ? got : kErrIo);
        if (int64_t e = files::write(dst, off, g_chunk, static_cast<uint32_t>(got)); e < 0)
            return fail(w, "write", dst, e);
        off += static_cast<uint64_t>(got);
    }
    // Every byte of the copy against what was written.
    Random again(seed);
    uint64_t lost = 0;
    for (uint64_t off = 0; off < w.size; off += sizeof g_chunk) {
        uint32_t n = w.size - off < sizeof g_chunk ? static_cast<uint32_t>(w.size - off) : sizeof g_chunk;
        again.fill(g_expected, n);
        int64_t got = files::read(dst, off, g_chunk, n);
        if (got < 0) return fail(w, "read", dst, got);
        for (uint32_t i = 0; i < n; ++i)
            if (i >= got || g_chunk[i] != g_expected[i]) ++lost;
    }
    proto::fs::Stat::Reply s;
    if (files::stat(dst, &s) == kOk && s.size != w.size) lost += s.size > w.size ? s.size - w.size : w.size - s.size;
    w.bytes_lost += lost;
    w.bytes_verified += w.size;
    ++w.rounds;
    print("faults: round %lu: %lu KiB written, copied and verified, %lu bytes differ\n", w.rounds, w.size >> 10, lost);
}

void run_workload(void* arg) {
    auto& w = *static_cast<Workload*>(arg);
    while (!w.stop && w.errors < 10) round(w);
    w.done = true;
}

// --- injecting -------------------------------------------------------------------------

Handle g_init;

// Asks the service a question only it can answer.
bool answers(const char* name) {
    if (!strcmp(name, "disk")) {
        Handle disk = files::scheme_endpoint("disk");
        proto::disk::Info::Request q{};
        proto::disk::Info::Reply r;
        return disk != kNoHandle && rpc::call<proto::disk::Info>(disk, q, &r, rpc::Extras{.timeout_ns = kRecoveryLimit}) == kOk;
    }
    Handle file = files::scheme_endpoint("file");
    proto::fs::StatFs::Request q{};
    proto::fs::StatFs::Reply r;
    return file != kNoHandle && rpc::call<proto::fs::StatFs>(file, q, &r, rpc::Extras{.timeout_ns = kRecoveryLimit}) == kOk;
}

// A comma-separated list's i-th entry, cycling.
void pick(const char* list, uint64_t i, char* out, size_t size) {
    size_t entries = 1;
    for (const char* p = list; *p; ++p) entries += *p == ',';
    uint64_t want = i % entries;
    const char* p = list;
    for (uint64_t k = 0; k < want; ++k) p = strchr(p, ',') + 1;
    const char* end = strchr(p, ',');
    size_t n = end ? static_cast<size_t>(end - p) : strlen(p);
    copy_string(out, n + 1 < size ? n + 1 : size, p);
}

void sort(uint64_t* v, uint32_t n) {
    for (uint32_t i = 1; i < n; ++i)
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
            uint64_t t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
}

}  // namespace

int main() {
    const StartupInfo& info = startup();
    if (startup_handle(kSlotControl) == kNoHandle) {
        print("faults: needs init's control (run it from the shell)\n");
        return 2;
    }
    g_init = startup_handle(kSlotControl);
    Words args(info.cmdline);
    if (!args.accepts("count target how seed size dir", 0, 0,
                      "faults [count=N] [target=disk,file] [how=crash,kill,hang,register,reply,after] [seed=S] "
                      "[size=KIB] [dir=DIR]"))
        return 2;
    uint64_t count = Words::parse(args.value("count", "10"));
    const char* targets = args.value("target", "disk");
    const char* hows = args.value("how", "crash");
    uint64_t seed = Words::parse(args.value("seed", "1"));
    static Workload w;
    w.cwd = args.value("cwd", "file:/");
    w.size = Words::parse(args.value("size", "1024")) << 10;
    w.seed = seed;
    copy_string(w.dir, sizeof w.dir, args.value("dir", "file:/faults"));
    files::Name dir;
    proto::fs::Mkdir::Request mq{};
    if (int64_t e = files::resolve(w.dir, w.cwd, &dir); e < 0) {
        print("faults: %s: %s\n", w.dir, error_name(e));
        return 1;
    }
    copy_string(mq.path, sizeof mq.path, dir.path);
    proto::fs::Mkdir::Reply mr;
    rpc::call<proto::fs::Mkdir>(dir.endpoint, mq, &mr);
    print("faults: seed %lu, %lu faults into %s (%s), %lu KiB files in %s\n", seed, count, targets, hows, w.size >> 10,
          dir.text);

    // Looked up before the workload thread shares the runtime's table of them.
    files::scheme_endpoint("disk");
    files::scheme_endpoint("file");
    if (int64_t t = start_thread(run_workload, &w, 15); t < 0) {
        print("faults: cannot start the workload: %s\n", error_name(t));
        return 1;
    }
    Random random(seed);
    // Recovery times of processes ended (crash, kill, register), from the
    // injection to the new incarnation's first answer; hangs (found by the
    // supervisor's liveness probe first) apart. A crash after N writes ends
    // some time after its injection, so it has no figure here.
    static uint64_t recovery[1024], hang_recovery[1024];
    uint32_t recovered = 0, hangs_recovered = 0;
    uint64_t injected = 0, restarts = 0, hangs = 0, refused = 0;
    uint64_t by_how[6] = {};
    for (uint64_t i = 0; i < count && !w.done; ++i) {
        sys::thread_sleep((50 + random.below(400)) * kMs);
        char target[32], how_name[16];
        pick(targets, i, target, sizeof target);
        pick(hows, i / (strchr(targets, ',') ? 2 : 1), how_name, sizeof how_name);
        uint32_t how = !strcmp(how_name, "kill")       ? proto::init::kKill
                       : !strcmp(how_name, "hang")     ? proto::init::kHang
                       : !strcmp(how_name, "register") ? proto::init::kCorruptRegister
                       : !strcmp(how_name, "reply")    ? proto::init::kCorruptReply
                       : !strcmp(how_name, "after")    ? proto::init::kCrashAfter
                                                       : proto::init::kCrash;
        if (how == proto::init::kKill && !strcmp(target, "file")) {
            how = proto::init::kCrash;
            copy_string(how_name, sizeof how_name, "crash");
        }
        ++by_how[how];
        uint64_t before = running_pid(target);
        proto::init::Kill::Request q{};
        copy_string(q.name, sizeof q.name, target);
        q.how = how;
        q.injected = 1;
        q.count = 1 + static_cast<uint32_t>(random.below(48));  // kCrashAfter: mid-operation, some writes on
        proto::init::Kill::Reply r;
        uint64_t t0 = now();
        int64_t e = rpc::call<proto::init::Kill>(g_init, q, &r);
        // The service was too busy to take the fault (init waits 100 ms): again, a moment later.
        for (int attempt = 0; e == kErrTimedOut && attempt < 20; ++attempt) {
            sys::thread_sleep(20 * kMs);
            t0 = now();
            e = rpc::call<proto::init::Kill>(g_init, q, &r);
        }
        if (e < 0) {
            ++refused;
            print("faults: %s %s: %s\n", how_name, target, error_name(e));
            continue;
        }
        ++injected;
        if (how == proto::init::kCorruptReply) {
            // No restart: the garbled answer is noticed by whoever got it
            // (and the request made again); the service answers on. The
            // pause lets the workload's requests meet it first.
            sys::thread_sleep(100 * kMs);
            bool ok = answers(target);
            uint64_t took = now() - t0;
            if (!ok) ++hangs;
            print("faults: %lu: reply %s: %s after %lu ms\n", i + 1, target, ok ? "answering" : "NOT answering", took / kMs);
            continue;
        }
        // Back when a new incarnation runs and answers.
        uint64_t pid = 0;
        while (now() - t0 < kRecoveryLimit && ((pid = running_pid(target)) == 0 || pid == before))
            sys::thread_sleep(kMs);
        if (pid && pid != before && answers(target)) {
            ++restarts;
            uint64_t took = now() - t0;
            if (how == proto::init::kHang) {
                if (hangs_recovered < 1024) hang_recovery[hangs_recovered++] = took;
            } else if (how != proto::init::kCrashAfter && recovered < 1024) {  // that one ends later than t0
                recovery[recovered++] = took;
            }
            print("faults: %lu: %s %s (pid %lu): answering again as pid %lu after %lu ms\n", i + 1, how_name, target,
                  before, pid, took / kMs);
        } else {
            ++hangs;
            print("faults: %lu: %s %s: no new incarnation answering within %lu s\n", i + 1, how_name, target,
                  kRecoveryLimit / 1'000'000'000);
        }
    }
    w.stop = true;
    while (!w.done) sys::thread_sleep(10 * kMs);
    sort(recovery, recovered);
    sort(hang_recovery, hangs_recovered);
    uint64_t median = recovered ? recovery[recovered / 2] : 0, max = recovered ? recovery[recovered - 1] : 0;
    uint64_t hang_median = hangs_recovered ? hang_recovery[hangs_recovered / 2] : 0;
    uint64_t hang_max = hangs_recovered ? hang_recovery[hangs_recovered - 1] : 0;
    print("faults: %lu injected (%lu kill, %lu crash, %lu hang, %lu register, %lu reply, %lu after writes), %lu restarts, "
          "%lu hangs, %lu refused\n",
          injected, by_how[0], by_how[1], by_how[2], by_how[3], by_how[4], by_how[5], restarts, hangs, refused);
    print("faults: workload %lu rounds, %lu KiB verified, %lu errors, %lu bytes lost; recovery median %lu ms, max "
          "%lu ms (%u ended); hung ones median %lu ms, max %lu ms (%u)\n",
          w.rounds, w.bytes_verified >> 10, w.errors, w.bytes_lost, median / kMs, max / kMs, recovered,
          hang_median / kMs, hang_max / kMs, hangs_recovered);
    bool ok = w.errors == 0 && w.bytes_lost == 0 && hangs == 0 && w.rounds > 0;
    print("faults: %s\n", ok ? "nothing lost" : "FAILED");
    return ok ? 0 : 1;
}
