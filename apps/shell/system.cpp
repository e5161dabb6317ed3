// The shell's system commands: services (ps, kill, crash, hang), the log,
// time, memory, power.
#include "mica/strings.h"
#include "proto/init.h"
#include "proto/log.h"
#include "proto/rtc.h"
#include "shell.h"

using namespace mica;

namespace shell {
namespace {

const char* state_name(uint32_t s) {
    switch (s) {
        case kProcessCreated: return "created";
        case kProcessRunning: return "running";
        case kProcessDying: return "dying";
        default: return "dead";
    }
}

void ps(int, char**) {
    proto::init::Ps::Request q{};
    static proto::init::Ps::Reply r;
    if (int64_t e = rpc::call<proto::init::Ps>(g_init, q, &r); e != kOk) {
        error("ps: %s\n", error_name(e));
        return;
    }
    print("  PID NAME         STATE       MEMORY     QUOTA  RESTARTS\n");
    for (uint32_t i = 0; i < r.count; ++i) {
        const proto::init::ServiceInfo& s = r.services[i];
        print("%5lu %-12s %-8s %7lu K %7lu K  %u\n", s.pid, s.name, state_name(s.state), s.memory >> 10,
              s.quota >> 10, s.restarts);
    }
}

void signal(int argc, char** argv, proto::init::KillHow how) {
    if (argc < 2) {
        error("%s: which service?\n", argv[0]);
        return;
    }
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "init")) {  // not a service: the supervisor of them all
            error("%s: init is the first process and supervises the rest; it cannot be stopped\n", argv[0]);
            continue;
        }
        proto::init::Kill::Request q{};
        copy_string(q.name, sizeof q.name, argv[i]);
        q.how = how;
        proto::init::Kill::Reply r;
        int64_t e = rpc::call<proto::init::Kill>(g_init, q, &r);
        if (e == kErrNotFound) error("%s: %s: no such service (ps lists them)\n", argv[0], argv[i]);
        else if (e == kErrBadState && how != proto::init::kKill)
            error("%s: %s serves no requests, so it cannot be made to crash or hang (kill can end it)\n", argv[0],
                  argv[i]);
        else if (e != kOk) error("%s: %s: %s\n", argv[0], argv[i], error_name(e));
    }
}

void kill(int argc, char** argv) { signal(argc, argv, proto::init::kKill); }
void crash(int argc, char** argv) { signal(argc, argv, proto::init::kCrash); }
void hang(int argc, char** argv) { signal(argc, argv, proto::init::kHang); }

void dmesg(int, char**) {
    proto::log::Read::Request q{};
    static proto::log::Read::Reply r;
    for (;;) {
        if (rpc::call<proto::log::Read>(g_log, q, &r) != kOk || r.size == 0) return;
        out(r.text, r.size);
        q.offset = r.next;
    }
}

void mem(int, char**) {
    SystemInfo s{};
    sys::system_info(&s);
    print("memory: %lu KiB total, %lu KiB free, kernel heap %lu KiB in use\n", s.total_frames * 4,
          s.free_frames * 4, s.heap_bytes_used >> 10);
}

// Per-CPU load: the timer ticks that found each CPU busy or idle, over
// half a second and since boot.
void top(int, char**) {
    SystemInfo a{}, b{};
    sys::system_info(&a);
    sys::thread_sleep(500'000'000);
    sys::system_info(&b);
    print("%lu CPU%s, %lu processes, %lu threads\n", b.cpus, b.cpus > 1 ? "s" : "", b.processes, b.threads);
    for (uint64_t i = 0; i < b.cpus && i < 16; ++i) {
        uint64_t busy = b.cpu_busy_ticks[i] - a.cpu_busy_ticks[i];
        uint64_t total = busy + b.cpu_idle_ticks[i] - a.cpu_idle_ticks[i];
        uint64_t ever = b.cpu_busy_ticks[i] + b.cpu_idle_ticks[i];
        print("cpu %lu: %3lu%% busy now, %3lu%% since boot\n", i, total ? busy * 100 / total : 0,
              ever ? b.cpu_busy_ticks[i] * 100 / ever : 0);
    }
}

void date(int, char**) {
    Handle rtc = scheme_endpoint("rtc");
    proto::rtc::Now::Request q{};
    proto::rtc::Now::Reply r{};
    int64_t e = rtc == kNoHandle ? kErrNotFound : rpc::call<proto::rtc::Now>(rtc, q, &r);
    if (e != kOk) {
        error("date: %s\n", error_name(e));
        return;
    }
    print("%04u-%02u-%02u %02u:%02u:%02u UTC\n", r.year, r.month, r.day, r.hour, r.minute, r.second);
}

void uptime(int, char**) {
    uint64_t ns = static_cast<uint64_t>(sys::clock_monotonic());
    print("up %lu.%03lu s\n", ns / 1'000'000'000, ns / 1'000'000 % 1000);
}

void echo(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) print("%s%s", argv[i], i + 1 < argc ? " " : "");
    print("\n");
}

void poweroff(int, char**) {
    // Everything written is on the disk already; make the disk's cache
    // stable too before the machine goes.
    if (Handle file = scheme_endpoint("file"); file != kNoHandle) {
        proto::fs::Sync::Request q{};
        proto::fs::Sync::Reply r;
        rpc::call<proto::fs::Sync>(file, q, &r, rpc::Extras{.timeout_ns = 5'000'000'000});
    }
    proto::init::Poweroff::Request q{0};
    proto::init::Poweroff::Reply r;
    int64_t e = rpc::call<proto::init::Poweroff>(g_init, q, &r);
    error("poweroff: %s\n", error_name(e));
}

}  // namespace

const Command kSystemCommands[] = {
    {"echo", echo, "print the words"},
    {"ps", ps, "the services: pid, state, memory, restarts"},
    {"kill", kill, "end a service (init restarts it)"},
    {"crash", crash, "make a service fault (init restarts it)"},
    {"hang", hang, "make a service stop answering (init notices, restarts it)"},
    {"dmesg", dmesg, "the system log"},
    {"uptime", uptime, "time since boot"},
    {"mem", mem, "memory in use and free"},
    {"top", top, "the load of each CPU"},
    {"date", date, "the time of day (from the real-time clock)"},
    {"poweroff", poweroff, "sync the disks and end the system"},
    {nullptr, nullptr, nullptr},
};

}  // namespace shell
