// init's model of the system, and the parts init is made of. A service is
// what its manifest line says (ServiceSpec, fixed), the capabilities init
// holds for it across incarnations (Held), the incarnation running now
// (Incarnation), and its restart policy. One file per job:
//
//   manifest.cpp     the manifest read into specs (pure; host-tested)
//   log.cpp          init's log lines (the console, and the log server once it runs)
//   acquire.cpp      capabilities made once per service: endpoint, device, resources
//   launch.cpp       the startup slots and spawning an incarnation
//   briefing.cpp     telling the namespace and the log who is who
//   supervision.cpp  liveness probes, faults, ends, restarts with back-off
//   control.cpp      the init protocol: ps, kill/crash/hang, poweroff
//   main.cpp         start-up and the dispatch loop
#pragma once

#include "manifest.h"
#include "mica/rpc.h"
#include "mica/startup.h"

namespace init {

using mica::Handle;
using mica::kNoHandle;

constexpr uint64_t kTick = 50'000'000;            // supervision period
constexpr uint64_t kProbeEvery = 2'000'000'000;   // liveness check period per server
constexpr uint64_t kProbeTimeout = 1'000'000'000;
constexpr uint64_t kFirstBackoff = 100'000'000;  // the wait before a second restart in a row
constexpr uint64_t kMaxBackoff = 10'000'000'000;
constexpr uint64_t kStableAfter = 10'000'000'000;  // a run this long resets the back-off

// What init holds for a service for as long as the system runs: its
// endpoint outlives incarnations (clients keep their handles across a
// restart), and devices, DMA memory and resources are made once.
struct Held {
    Handle endpoint = kNoHandle;   // ours; the service receives on a copy
    Handle supervise = kNoHandle;  // send handle with kSupervisorBadge (probes, crash)
    Handle irq_line = kNoHandle;
    Handle mmio = kNoHandle;
    Handle bars[mica::kSlotBarCount] = {};
    bool io_bar[mica::kSlotBarCount] = {};
    Handle config = kNoHandle;  // device=: its configuration space
    Handle resources[kMaxGrants] = {};
    uint64_t dma_phys = 0;  // dma=: where its DMA memory is
    Handle image = kNoHandle;  // a copy of its program: every incarnation runs on these pages
};

// The process running now, if any.
struct Incarnation {
    Handle process = kNoHandle;
    uint64_t pid = 0;
    uint64_t started_at = 0;
    uint64_t next_probe = 0;
    uint32_t missed = 0;  // liveness probes in a row it failed
    bool running = false;
};

// When to try again after an end, and how long the next wait will be: none
// for a service that has not been crashing (as MINIX's reincarnation server),
// then growing for a crash loop.
struct RestartPolicy {
    uint64_t backoff = 0;
    uint64_t restart_at = 0;  // 0: not waiting to restart
    uint64_t down_at = 0;     // when the last incarnation was found gone
    uint32_t restarts = 0;
    bool injected = false;  // the coming end was asked for (fault injection): no longer wait
    bool given_up = false;  // cannot run at all (no program, no device)
    bool said_no_room = false;  // "needs N KiB, M KiB left" is said once

    // The next try `backoff` from `now`; the wait after it becomes
    // kFirstBackoff, then doubles (up to kMaxBackoff), unless `grow` is false.
    void retry_later(uint64_t now, bool grow) {
        restart_at = now + backoff;
        if (grow) backoff = !backoff ? kFirstBackoff : backoff * 2 > kMaxBackoff ? kMaxBackoff : backoff * 2;
    }
};

struct Service {
    const ServiceSpec* spec = nullptr;
    uint64_t badge = 0;  // its index + 1: how ns, the log and init tell it apart
    Held held;
    Incarnation run;
    RestartPolicy policy;
    const char* name() const { return spec->name; }
    bool restarts() const { return spec->restart && !policy.given_up; }
};

struct System {
    Manifest manifest;
    Service services[Manifest::kMaxServices];
    uint32_t count = 0;
    Handle endpoint = kNoHandle;  // init's own: control protocol and fault messages
    const uint8_t* archive = nullptr;  // the boot file system (ustar)
    size_t archive_size = 0;
    Handle archive_memory = kNoHandle;
    Service* ns = nullptr;   // provides=ns
    Service* log = nullptr;  // provides=log

    Service* by_name(const char* name);
    Service* by_scheme(const char* scheme, size_t length);
    // The service a badge names (a client badge, or a fault badge: *fault set).
    Service* from_badge(uint64_t badge, bool* fault = nullptr);
};

extern System g_system;

// log.cpp
void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// While one lives, init's lines go to the console only, and reach the log
// server when the last one ends: around a restart, from the end of the old
// incarnation to the new one's first answer.
struct RestartLog {
    RestartLog();
    ~RestartLog();
    RestartLog(const RestartLog&) = delete;
    RestartLog& operator=(const RestartLog&) = delete;
};

// acquire.cpp
bool make_endpoint(Service& s);
bool acquire(Service& s);
void give_up(Service& s);

// launch.cpp
bool find_file(const char* path, const uint8_t** data, uint64_t* size);
void launch(Service& s);

// briefing.cpp
void brief_ns();
void brief_log();

// supervision.cpp
int64_t probe(const Service& s);
void ended(Service& s, const char* why);
void supervise();
bool on_fault(const mica::Message& m, uint64_t badge, mica::Message& reply);

// control.cpp
void serve_control(mica::rpc::Dispatcher& server);

}  // namespace init
