// ktest_child: what the isolation, memory and churn tests run in a process
// of its own. `mode=` says what to do; most modes end in a fault the kernel
// must turn into the end of this process alone.
#include "mica/process.h"
#include "mica/runtime.h"
#include "mica/syscall_numbers.h"
#include "string.h"

using namespace mica;

namespace {

bool is(const char* mode, const char* name) {
    return strlen(mode) == strlen(name) && memcmp(mode, name, strlen(name)) == 0;
}

constexpr uintptr_t kKernel = 0xffff'ffff'8000'0000;
volatile uint64_t g_sink;

int check_kernel_pointers() {
    auto* k = reinterpret_cast<char*>(kKernel);
    int bad = 0;
    if (sys::debug_write(k, 16) != kErrBadAddress) ++bad;
    if (sys::system_info(reinterpret_cast<SystemInfo*>(k)) != kErrBadAddress) ++bad;
    if (sys::process_info(startup().self_process, reinterpret_cast<ProcessInfo*>(k)) != kErrBadAddress) ++bad;
    auto made = sys::memory_create(kPageSize);
    if (!made.ok()) return bad + 1;  // nothing to check the memory calls with
    Handle m = made.value();
    if (sys::memory_write(m, 0, k, 64) != kErrBadAddress) ++bad;
    if (sys::memory_read(m, 0, k, 64) != kErrBadAddress) ++bad;
    return bad;
}

int forge_handles() {
    // Only the handles the parent granted exist here; every other value fails.
    int bad = 0;
    HandleInfo info{};
    for (uint32_t generation = 0; generation < 4; ++generation) {
        for (uint32_t index = 0; index < 64; ++index) {
            Handle h = (generation << 16) | index;
            bool mine = h == startup().self_process || h == startup().self_thread;
            int64_t e = sys::handle_info(h, &info);
            if (mine ? e != kOk : e != kErrBadHandle) ++bad;
        }
    }
    // Rights cannot grow: a read-only duplicate of ourselves cannot kill us.
    auto weak = sys::handle_duplicate(startup().self_process, kRightRead | kRightDuplicate);
    if (!weak.ok()) return bad + 1;
    if (sys::handle_duplicate(weak.value(), kRightsAll).error() != kErrAccessDenied) ++bad;
    if (sys::process_kill(weak.value(), 99) != kErrAccessDenied) ++bad;
    return bad;
}

int quota() {
    // This process was given 1 MiB in all: 2 MiB of memory cannot fit.
    if (sys::memory_create(2 << 20).error() != kErrQuotaExceeded) return 1;
    return sys::memory_create(64 << 10).ok() ? 0 : 2;
}

// Answers each message with its data reversed; for a message with a handle,
// replies with the handle's rights and what writing through it gave.
int data_server() {
    Handle ep = startup().handles[0];
    static uint8_t in[kMaxMessageBytes], out[kMaxMessageBytes];
    IpcBuffer b;
    b.recv_data = in, b.recv_capacity = sizeof in;
    Message m;
    int64_t r = sys::ipc_recv(ep, m, &b);
    while (r == kOk) {
        if (m.label == 0) {
            sys::ipc_reply(Message{});
            return 0;
        }
        IpcBuffer reply;
        Message answer{m.label, 0, 0, 0};
        if (b.recv_handle_count == 1) {
            HandleInfo info{};
            sys::handle_info(b.recv_handles[0], &info);
            char byte = 1;
            answer.w0 = info.rights;
            answer.w1 = static_cast<uint64_t>(sys::memory_write(b.recv_handles[0], 0, &byte, 1));
            sys::handle_close(b.recv_handles[0]);
        } else {
            for (uint32_t i = 0; i < b.recv_size; ++i) out[i] = in[b.recv_size - 1 - i];
            reply.send_data = out, reply.send_size = b.recv_size;
        }
        reply.recv_data = in, reply.recv_capacity = sizeof in;
        m = answer;
        r = sys::ipc_reply_recv(ep, m, &reply);
        b.recv_size = reply.recv_size, b.recv_handle_count = reply.recv_handle_count;
        b.recv_handles[0] = reply.recv_handles[0];
    }
    return 1;
}

void faulting_thread(void*) { asm volatile("movl $1, 0x18" ::: "memory"); }

void parked_thread(void*) {
    for (;;) sys::thread_sleep(~0ULL);
}

// Spends the quota every way there is; each must end in kErrQuotaExceeded,
// never in a kernel failure. Returns the number of surprises.
int exhaust() {
    int bad = 0;
    int64_t e = 0;
    for (int i = 0; i < 100000 && e >= 0; ++i) e = sys::memory_create(64 * 1024).error();
    if (e != kErrQuotaExceeded) ++bad;
    for (int i = 0; i < 1000000 && e >= 0; ++i) e = sys::memory_create(kPageSize).error();
    e = 0;
    for (int i = 0; i < 1000000 && e >= 0; ++i) e = sys::handle_duplicate(startup().self_process, kRightRead).error();
    if (e != kErrQuotaExceeded && e != kErrLimit) ++bad;
    e = sys::thread_create(startup().self_process, 0x401000, 0x10000, 0, 1).error();
    if (e != kErrQuotaExceeded) ++bad;
    e = sys::process_create("grandchild", 10, 1 << 20).error();
    if (e != kErrQuotaExceeded) ++bad;
    return bad;
}

void spin_forever(void*) {
    for (;;) {
    }
}

// Flags a program can set in ring 3 (popfq), set around a system call in one
// asm block (compiled code assumes DF clear). Returns the call's result.
int64_t syscall_with_flags(uint64_t flags, uint64_t number, uint64_t arg) {
    int64_t result;
    asm volatile(
        "pushfq; orq %[flags], (%%rsp); popfq\n"
        "syscall\n"
        "pushfq; andq %[clear], (%%rsp); popfq"
        : "=a"(result)
        : "a"(number), "D"(arg), [flags] "r"(flags), [clear] "r"(~flags)
        : "rcx", "r11", "memory", "cc");
    return result;
}

constexpr uint64_t kFlagTrap = 1 << 8, kFlagDirection = 1 << 10, kFlagNested = 1 << 14,
                   kFlagAlignment = 1 << 18;

// NT set across a yield that switches to a thread returning through iretq.
int rflags_nt() {
    start_thread(spin_forever, nullptr, 16);
    for (int i = 0; i < 50; ++i) {
        if (syscall_with_flags(kFlagNested, kSysThreadYield, 0) != kOk) return 1;
        sys::thread_sleep(1'000'000);  // let the spinner be preempted by the timer again
    }
    return 0;
}

// DF and AC set: the kernel's copies still go forward and SMAP stays on.
int rflags_ac_df() {
    SystemInfo plain{}, flagged{};
    start_thread(spin_forever, nullptr, 16);
    for (int i = 0; i < 50; ++i) {
        if (sys::system_info(&plain) != kOk) return 1;
        if (syscall_with_flags(kFlagDirection | kFlagAlignment, kSysSystemInfo, reinterpret_cast<uint64_t>(&flagged)) != kOk)
            return 2;
        if (flagged.total_frames != plain.total_frames || flagged.tsc_hz != plain.tsc_hz) return 3;
        syscall_with_flags(kFlagDirection | kFlagAlignment, kSysThreadYield, 0);
    }
    return 0;
}

int quota_overflow() {
    const uint64_t huge[] = {~0ULL, ~0ULL - 15, ~0ULL - 4095, 1ULL << 63, 1ULL << 62, 8ULL << 20};
    for (uint64_t q : huge)
        if (sys::process_create("big", 3, q).error() != kErrQuotaExceeded) return 1;
    return 0;
}

// A syscall as the very last instruction below the top page of user space.
int syscall_below_top() {
    constexpr uintptr_t kPage = kUserTop - 2 * kPageSize;
    static uint8_t code[kPageSize];
    for (auto& b : code) b = 0x90;  // nop
    const uint8_t tail[] = {0xb8, static_cast<uint8_t>(kSysThreadYield), 0, 0, 0, 0x0f, 0x05};  // mov $n, %eax; syscall
    memcpy(code + kPageSize - sizeof tail, tail, sizeof tail);
    auto made = sys::memory_create(kPageSize);
    if (!made.ok()) return 4;
    Handle m = made.value();
    if (sys::memory_write(m, 0, code, kPageSize) != kOk) return 1;
    if (sys::vm_map(startup().self_process, kPage, m, 0, kPageSize, kVmRead | kVmExec) != kOk) return 2;
    reinterpret_cast<void (*)()>(kPage + kPageSize - sizeof tail)();
    return 3;  // never: the return lands in the unmapped top page
}

// A thread per CPU duplicates, signals through and closes handles to one
// notification, 3,000 times each; 0 if every call worked.
Handle g_shared;
volatile int64_t g_hammer_errors, g_hammers_done;

int hammer_handles() {
    auto n = sys::notification_create();
    if (!n.ok()) return 2;
    g_shared = n.value();
    SystemInfo info{};
    sys::system_info(&info);
    for (uint64_t i = 0; i < info.cpus; ++i) {
        int64_t t = start_thread([](void*) {
            for (int k = 0; k < 3000; ++k) {
                auto copy = sys::handle_duplicate(g_shared, kRightsSame);
                if (!copy.ok() || sys::notification_signal(copy.value(), 1) != kOk ||
                    sys::handle_close(copy.value()) != kOk)
                    g_hammer_errors = g_hammer_errors + 1;
            }
            __atomic_fetch_add(&g_hammers_done, 1, __ATOMIC_SEQ_CST);
        }, nullptr, 16);
        if (t < 0 || sys::thread_set_affinity(static_cast<Handle>(t), 1ULL << i) != kOk) return 3;
    }
    while (__atomic_load_n(&g_hammers_done, __ATOMIC_SEQ_CST) != static_cast<int64_t>(info.cpus))
        sys::thread_sleep(10'000'000);
    return g_hammer_errors == 0 ? 0 : 1;
}

// A thread on another CPU reads a page in a loop; this one unmaps it. The
// reader must fault (the process ends with a page fault), never read on
// through a stale TLB entry into memory that was given back.
int unmap_under_reader() {
    constexpr uintptr_t kAt = 0x0000'3000'0000'0000;
    auto m = sys::memory_create(kPageSize);
    if (!m.ok() || sys::vm_map(startup().self_process, kAt, m.value(), 0, kPageSize, kVmRead | kVmWrite) != kOk)
        return 2;
    sys::handle_close(m.value());  // the mapping is its only reference: unmapping frees it
    *reinterpret_cast<volatile uint64_t*>(kAt) = 7;
    static volatile uint64_t s_reads;
    int64_t reader = start_thread([](void*) {
        for (;;) {
            if (*reinterpret_cast<volatile uint64_t*>(kAt) != 7) sys::process_exit(3);  // freed memory seen
            s_reads = s_reads + 1;
        }
    }, nullptr, 16);
    if (reader < 0) return 4;
    // On another CPU than this thread.
    ThreadInfo me{};
    sys::thread_info(startup().self_thread, &me);
    sys::thread_set_affinity(static_cast<Handle>(reader), ~(1ULL << me.cpu));
    while (s_reads < 1000) {
    }
    sys::vm_unmap(startup().self_process, kAt, kPageSize);
    sys::thread_sleep(~0ULL);  // the reader's fault ends the process
    return 1;
}

}  // namespace

int main() {
    char mode[32] = "";
    cmdline_value("mode", mode, sizeof mode);
    if (is(mode, "exit0")) return 0;
    if (is(mode, "data_server")) return data_server();
    if (is(mode, "recv_then_hang")) {
        Message m;
        sys::ipc_recv(startup().handles[0], m);
        for (;;) sys::thread_sleep(~0ULL);
    }
    if (is(mode, "call_and_hang")) {
        Message m{77, 0, 0, 0};
        sys::ipc_call(startup().handles[0], m);
        for (;;) sys::thread_sleep(~0ULL);
    }
    if (is(mode, "signal_after_sleep")) {
        sys::thread_sleep(20'000'000);
        return static_cast<int>(sys::notification_signal(startup().handles[0], 0x40));
    }
    if (is(mode, "ports_in_range") || is(mode, "ports_out_of_range")) {
        if (sys::io_ports_grant(startup().self_process, startup().handles[0]) != kOk) return 1;
        uint8_t v;
        asm volatile("inb $0x40, %0" : "=a"(v));  // granted
        if (is(mode, "ports_out_of_range")) asm volatile("inb $0x60, %0" : "=a"(v));  // not granted
        return 0;
    }
    if (is(mode, "fault_touch")) {
        sys::thread_sleep(10'000'000);  // the parent sets our fault handler meanwhile
        auto* hole = reinterpret_cast<volatile uint64_t*>(0x0000'5000'0000'0000);
        print("ktest_child: read %lu after the fault was handled\n", *hole);
        *hole = 1;  // read-only: the handler refuses this one
        return 0;
    }
    if (is(mode, "exit42")) return 42;
    if (is(mode, "touch_memory")) {
        auto m = sys::memory_create(16 * kPageSize);
        if (!m.ok()) return 2;
        uintptr_t at = reserve_address_range(16 * kPageSize);
        if (sys::vm_map(startup().self_process, at, m.value(), 0, 16 * kPageSize, kVmRead | kVmWrite)) return 1;
        for (size_t i = 0; i < 16 * kPageSize; i += kPageSize) reinterpret_cast<volatile char*>(at)[i] = 1;
        return 0;  // exit without unmapping or closing: teardown must clean up
    }
    if (is(mode, "read_unmapped")) g_sink = *reinterpret_cast<volatile uint64_t*>(0x0000'1234'0000'0000);
    if (is(mode, "write_null")) *reinterpret_cast<volatile uint64_t*>(g_sink) = 1;
    if (is(mode, "write_code")) *reinterpret_cast<volatile uint8_t*>(reinterpret_cast<uintptr_t>(&main)) = 0xc3;
    if (is(mode, "exec_stack")) {
        volatile uint8_t code[16] = {0xc3};  // ret
        reinterpret_cast<void (*)()>(reinterpret_cast<uintptr_t>(code))();
    }
    if (is(mode, "exec_heap")) {
        auto m = sys::memory_create(kPageSize);
        if (!m.ok()) return 1;
        uintptr_t at = reserve_address_range(kPageSize);
        sys::vm_map(startup().self_process, at, m.value(), 0, kPageSize, kVmRead | kVmWrite);
        *reinterpret_cast<volatile uint8_t*>(at) = 0xc3;
        reinterpret_cast<void (*)()>(at)();
    }
    if (is(mode, "read_kernel")) g_sink = *reinterpret_cast<volatile uint64_t*>(kKernel);
    if (is(mode, "write_kernel")) *reinterpret_cast<volatile uint64_t*>(0xffff'8000'0010'0000) = 1;
    if (is(mode, "privileged_hlt")) asm volatile("hlt");
    if (is(mode, "privileged_cr3")) asm volatile("mov %%cr3, %%rax" ::: "rax");
    if (is(mode, "port_io")) asm volatile("outb %%al, $0x80" ::"a"(0));
    if (is(mode, "divide_zero")) asm volatile("xor %%ecx, %%ecx; div %%ecx" ::: "rax", "rcx", "rdx");
    if (is(mode, "invalid_opcode")) asm volatile("ud2");
    if (is(mode, "kernel_pointers")) return check_kernel_pointers();
    if (is(mode, "forge_handles")) return forge_handles();
    if (is(mode, "quota")) return quota();
    if (is(mode, "self_reference")) {
        // Two never-started processes, each holding handles to itself and the other.
        auto made_a = sys::process_create("loop-a", 6, 64 * 1024);
        auto made_b = sys::process_create("loop-b", 6, 64 * 1024);
        if (!made_a.ok() || !made_b.ok()) return 2;
        Handle a = made_a.value(), b = made_b.value();
        const Handle pairs[][2] = {{a, a}, {a, b}, {b, a}, {b, b}};
        for (auto& p : pairs)
            if (!sys::handle_grant(p[0], p[1], kRightsSame).ok()) return 1;
        sys::handle_close(a);
        sys::handle_close(b);
        return 0;  // they go when we do
    }
    if (is(mode, "exhaust")) return exhaust();
    if (is(mode, "rflags_nt")) return rflags_nt();
    if (is(mode, "rflags_ac_df")) return rflags_ac_df();
    if (is(mode, "rflags_tf")) return static_cast<int>(syscall_with_flags(kFlagTrap, kSysThreadYield, 0));
    if (is(mode, "quota_overflow")) return quota_overflow();
    if (is(mode, "syscall_below_top")) return syscall_below_top();
    if (is(mode, "ldt_selector")) asm volatile("mov %0, %%ds" ::"r"(0x2fu));  // index 5 of the LDT, RPL 3
    if (is(mode, "spin")) for (;;) {
        }
    if (is(mode, "spin_everywhere")) {
        // A spinning thread on every CPU (and this one): what a kill must stop.
        SystemInfo info{};
        sys::system_info(&info);
        for (uint64_t i = 1; i < info.cpus; ++i) start_thread([](void*) { for (;;) {} }, nullptr, 16);
        for (;;) {
        }
    }
    if (is(mode, "unmap_under_reader")) return unmap_under_reader();
    if (is(mode, "hammer_handles")) return hammer_handles();
    if (is(mode, "sleep")) sys::thread_sleep(~0ULL);
    if (is(mode, "ipc_objects")) {
        // Endpoints, notifications, badges, a bound receiver, a caller
        // queued on our own endpoint: all of it must go when we are killed.
        auto ep = sys::endpoint_create();
        auto n = sys::notification_create();
        auto other = sys::endpoint_create();
        if (!ep.ok() || !n.ok() || !other.ok()) return 2;
        if (!sys::handle_mint(ep.value(), kRightWrite, 42).ok()) return 3;  // kept: the kill must close it
        sys::endpoint_bind_notification(ep.value(), n.value());
        static Handle s_other;
        s_other = other.value();
        start_thread([](void*) {
            Message m{1, 0, 0, 0};
            sys::ipc_call(s_other, m);  // nobody receives there: queued for ever
        }, nullptr, 16);
        Message m;
        sys::ipc_recv(ep.value(), m);  // blocked until killed
        return 1;
    }
    if (is(mode, "threads")) {
        // Several threads blocked in the kernel when the process is killed.
        for (int i = 0; i < 4; ++i) start_thread(parked_thread, nullptr, 16);
        for (;;) sys::thread_sleep(~0ULL);
    }
    if (is(mode, "thread_fault")) {
        start_thread(faulting_thread, nullptr, 16);
        for (;;) sys::thread_yield();  // ends when the other thread's fault ends the process
    }
    print("ktest_child: unknown mode '%s'\n", mode);
    return 100;
}
