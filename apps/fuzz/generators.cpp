// The single-call generators: random arguments, boundary values, and odd CPU
// state around a call.
#include "fuzz.h"
#include "mica/syscall_numbers.h"

using namespace mica;

namespace fuzz {

namespace {
constexpr int kPool = 32;
Handle g_pool[kPool];
int g_pool_size = 0;
}  // namespace

alignas(16) uint8_t g_buffer[3 * 4096];
uint64_t* g_stats = nullptr;

int pool_size() {
    int n = __atomic_load_n(&g_pool_size, __ATOMIC_RELAXED);
    return n < kPool ? n : kPool;
}

void pool_add(int64_t h) {
    if (h <= 0 || h > 0xffff'ffff) return;
    int n = __atomic_load_n(&g_pool_size, __ATOMIC_RELAXED);
    if (n >= kPool) {
        // Full: replace one at random-ish (the newest handles are the interesting ones).
        g_pool[static_cast<uint64_t>(h) % kPool] = static_cast<Handle>(h);
        return;
    }
    int slot = __atomic_fetch_add(&g_pool_size, 1, __ATOMIC_RELAXED);
    if (slot < kPool) g_pool[slot] = static_cast<Handle>(h);
    else __atomic_store_n(&g_pool_size, kPool, __ATOMIC_RELAXED);
}

Handle pool_pick(Rng& r) { return pool_size() ? g_pool[r.below(pool_size())] : kNoHandle; }

uint64_t pointer(Rng& r) {
    switch (r.below(8)) {
        case 0: return 0;
        case 1: return 0xffff'8000'0000'0000ULL + r.below(1ULL << 30);   // direct map
        case 2: return 0xffff'ffff'8000'0000ULL + r.below(1 << 22);       // kernel image
        case 3: return 0x0000'1234'0000'0000ULL;                        // unmapped
        case 4: return reinterpret_cast<uint64_t>(g_buffer) + r.below(sizeof g_buffer);  // misaligned, valid
        case 5: return 0x0000'7fff'ffff'f000ULL + r.below(0x2000);        // across the top of user space
        default: return reinterpret_cast<uint64_t>(g_buffer);
    }
}

uint64_t boundary(Rng& r) {
    static constexpr uint64_t kEdges[] = {
        0, 4096, 65536, 1ULL << 20, 1ULL << 30, 1ULL << 31, 1ULL << 32, 1ULL << 40,
        0x0000'7fff'ffff'f000ULL, 1ULL << 47, 0xffff'8000'0000'0000ULL, 1ULL << 62, 1ULL << 63, 0,
    };
    uint64_t edge = kEdges[r.below(sizeof kEdges / sizeof kEdges[0])];
    switch (r.below(4)) {
        case 0: return edge;
        case 1: return edge + r.below(17);                 // just above
        case 2: return edge - 1 - r.below(16);             // just below (0 wraps to 2^64 - small)
        default: return edge - 4096 * (1 + r.below(4));    // a few pages below
    }
}

uint64_t argument(Rng& r) {
    switch (r.below(11)) {
        case 0: case 1: case 2: return pool_pick(r);                    // a real handle
        case 3: return pointer(r);
        case 4: return r.below(2) ? r.below(4097) : 4096 * r.below(64);  // sizes
        case 5: return ~0ULL - r.below(4096);                          // huge
        case 6: return r.below(512);                                   // small values, rights masks
        case 7: return 0x10000 + 4096 * r.below(1 << 20);             // addresses to map at
        case 8: return static_cast<uint32_t>(r.next());                // handle-shaped noise
        case 9: return boundary(r);
        default: return r.next();
    }
}

uint64_t random_syscall_number(Rng& r) {
    for (;;) {
        uint64_t n = r.below(kSyscallCount + 3);
        if (n == kSysProcessExit || n == kSysThreadExit || n == kSysThreadExitUnmapping) continue;  // our end
        return n;
    }
}

namespace {

// Short waits only: keep the calls coming.
void tame(uint64_t n, uint64_t* a, Rng& r) {
    if (n == kSysDebugWrite && !r.one_in(8)) a[0] = 0xffff'8000'0000'0000ULL;  // mostly the error path: a quiet log
    if (n == kSysThreadSleep) a[0] %= 1'000'000;
    if (n == kSysProcessWait || n == kSysNotificationWait) a[1] %= 1'000'000;
}

// IPC calls return message registers in rsi, rdx, r10, r8 and r9: all are
// outputs here, so the compiler keeps nothing in them.
int64_t syscall6(uint64_t n, const uint64_t* a) {
    register uint64_t r10 asm("r10") = a[3];
    register uint64_t r8 asm("r8") = a[4];
    register uint64_t r9 asm("r9") = a[5];
    uint64_t rdi = a[0], rsi = a[1], rdx = a[2];
    int64_t result;
    asm volatile("syscall"
                 : "=a"(result), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                 : "a"(n)
                 : "rcx", "r11", "memory");
    return result;
}

// Every error must be one the call's contract lists (abi/mica/syscalls.def).
void check_contract(uint64_t n, int64_t result) {
    if (result >= 0 || (n >= kSyscallCount && result == kErrNoSyscall) || syscall_may_fail_with(n, result)) return;
    static uint64_t reported[kSyscallCount];  // once per call and error, per worker
    if (n < kSyscallCount && (reported[n] >> -result & 1)) return;
    if (n < kSyscallCount && result > -64) reported[n] |= 1ULL << -result;
    print("fuzz: contract broken: %s returned %ld (%s), not in its errors\n",
          n < kSyscallCount ? kSyscallNames[n] : "(no such call)", result, error_name(result));
    if (g_stats) __atomic_fetch_add(&g_stats[kContractSlot], 1, __ATOMIC_RELAXED);
}

void made(Rng& r, uint64_t n, const uint64_t* a, int64_t result) {
    check_contract(n, result);
    // A call that made something gave back a handle; keep some of them.
    if (result > 0 && n != kSysClockMonotonic && r.one_in(4)) pool_add(result);
    if (r.one_in(64)) pool_add(static_cast<int64_t>(a[0]));
}

}  // namespace

void step_random(Rng& r) {
    uint64_t n = random_syscall_number(r), a[6];
    for (auto& x : a) x = argument(r);
    tame(n, a, r);
    made(r, n, a, syscall6(n, a));
}

void step_boundary(Rng& r) {
    uint64_t n = random_syscall_number(r), a[6];
    // Real handles where a handle goes, edge values for the rest.
    for (auto& x : a) x = r.one_in(3) ? pool_pick(r) : boundary(r);
    tame(n, a, r);
    made(r, n, a, syscall6(n, a));
}

void step_cpu_state(Rng& r) {
    constexpr uint64_t kDirection = 1 << 10, kNested = 1 << 14, kAlignment = 1 << 18, kTrap = 1 << 8;
    constexpr uint64_t kArithmetic = 0x8d5;  // CF PF AF ZF SF OF
    uint64_t flags = 0x202 | (r.next() & kArithmetic);
    if (r.one_in(2)) flags |= kDirection;
    if (r.one_in(2)) flags |= kNested;
    if (r.one_in(2)) flags |= kAlignment;
    if (r.one_in(2048)) flags |= kTrap;  // ends this worker with a debug trap, as it should
    uint64_t rsp;
    asm volatile("mov %%rsp, %0" : "=r"(rsp));
    switch (r.below(6)) {
        case 0: rsp -= 1 + r.below(15); break;                       // misaligned
        case 1: rsp = 0xffff'8000'0000'0000ULL + r.below(1 << 20); break;  // kernel half
        case 2: rsp = 0x0000'8000'0000'0000ULL + r.below(1 << 20); break;  // non-canonical
        case 3: rsp = r.below(2) ? 0 : 0x7fff'ffff'ffffULL; break;    // null, the very top
        default: break;                                              // as it is
    }
    // Data-segment selectors ring 3 may load: null, user data, user code
    // (readable); now and then one that is not valid at all (a #GP here),
    // or one that names the LDT (there is none: a #GP too).
    static constexpr uint16_t kSelectors[] = {0, 0x1b, 0x23, 0x1b, 0};
    uint16_t selector = r.one_in(1024) ? static_cast<uint16_t>(r.next() | (r.below(2) << 2)) : kSelectors[r.below(5)];
    switch (r.below(5)) {
        case 0: asm volatile("mov %0, %%ds" ::"r"(selector)); break;
        case 1: asm volatile("mov %0, %%es" ::"r"(selector)); break;
        case 2: asm volatile("mov %0, %%fs" ::"r"(selector)); break;
        case 3: asm volatile("mov %0, %%gs" ::"r"(selector)); break;
        default: break;
    }
    uint64_t n = random_syscall_number(r), a[6];
    for (auto& x : a) x = argument(r);
    tame(n, a, r);
    register uint64_t r10 asm("r10") = a[3];
    register uint64_t r8 asm("r8") = a[4];
    register uint64_t r9 asm("r9") = a[5];
    uint64_t rdi = a[0], rsi = a[1], rdx = a[2];
    int64_t result;
    // SS is reloaded with the user data selector first: a `mov ss` holds off
    // interrupts until after the next instruction, the system call.
    asm volatile(
        "mov %%rsp, %%r12\n"
        "pushq %[flags]\n"
        "popfq\n"
        "mov %[rsp], %%rsp\n"
        "mov %[ss], %%ss\n"
        "syscall\n"
        "mov %%r12, %%rsp\n"
        "pushq $0x202\n"
        "popfq"
        : "=a"(result), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
        : "a"(n), [flags] "r"(flags), [rsp] "r"(rsp), [ss] "r"(static_cast<uint64_t>(0x1b))
        : "rcx", "r11", "r12", "memory", "cc");
    made(r, n, a, result);
    asm volatile("mov %0, %%ds; mov %0, %%es" ::"r"(static_cast<uint64_t>(0x1b)));
}

}  // namespace fuzz
