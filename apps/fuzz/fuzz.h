// What the fuzzer's parts share: the seeded generator, the pool of real
// handles a worker's threads draw from (and close under each other), and the
// generators. See main.cpp for the campaign.
#pragma once

#include <stdint.h>

#include "mica/runtime.h"

namespace fuzz {

// xorshift64*: each thread has its own (no thread-local storage here, so
// the state travels as an argument).
struct Rng {
    uint64_t state;
    uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DULL;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool one_in(uint64_t n) { return below(n) == 0; }
};

// Real handles of every type with all sorts of rights, shared by the
// worker's threads.
void pool_add(int64_t handle);
int pool_size();
mica::Handle pool_pick(Rng& r);  // a pool handle, or 0 if the pool is empty

// A scratch area with valid user addresses, for data and results.
extern uint8_t g_buffer[3 * 4096];

// Argument values: pointers of every kind, sizes, real handles, noise.
uint64_t pointer(Rng& r);
uint64_t argument(Rng& r);
// Values at the edges: 0, 2^31, 2^32, 2^47 (the top of user space), 2^63,
// 2^64 and small steps around each.
uint64_t boundary(Rng& r);

// The generators. Each makes one step: one system call, or one step of a
// scenario (which may be several calls).
enum Generator { kRandom, kBoundary, kCpuState, kScenario, kGenerators };
constexpr const char* kGeneratorNames[kGenerators] = {"random", "boundary", "cpu", "scenario"};

void step_random(Rng& r);
void step_boundary(Rng& r);
// A random call made with odd CPU state around it: RFLAGS bits ring 3 can
// set (DF, AC, NT, rarely TF), segment selectors loaded from ring 3, and
// misaligned, kernel or non-canonical stack pointers.
void step_cpu_state(Rng& r);
// Structured IPC across threads and child processes: call, serve, save and
// forward replies, kill callers mid-call, send the handle being used, close
// endpoints and end threads while others are blocked on them.
void step_scenario(Rng& r);
// Set up before the threads start: endpoints, and the program for children.
void scenario_init(Rng& r);
// Kills the children still running (a worker's last act).
void scenario_end();
// The role of a child process a scenario starts (handles[0]: an endpoint).
int child_main(uint64_t seed);

// The syscall numbers a random step may make (everything but the exits).
uint64_t random_syscall_number(Rng& r);
// The campaign's shared page: steps per generator, then results that broke
// a call's contract (an error not in its errors: line of syscalls.def).
constexpr int kContractSlot = kGenerators;
extern uint64_t* g_stats;

}  // namespace fuzz
