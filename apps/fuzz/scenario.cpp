// The scenario generator: IPC situations across threads and processes that
// random single calls almost never build. Threads call and serve a few
// endpoints; servers save replies, answer them later through other threads,
// forward them over IPC, send the handle a call is made through, kill the
// child process whose call they hold and then answer it, or end without
// answering; endpoints are closed while others wait on them; children (this
// same program, role=child) call and serve the same endpoints and are killed
// at any moment. Everything is drawn from the thread's seeded generator.
#include "fuzz.h"
#include "mica/process.h"
#include "format.h"

using namespace mica;

namespace fuzz {

namespace {

constexpr int kEndpoints = 4, kSaved = 8, kChildren = 2, kHelpers = 4;
Handle g_endpoints[kEndpoints];
Handle g_saved[kSaved];       // saved replies, answered (or dropped) by any thread
Handle g_children[kChildren];  // child processes, killed by any thread
const void* g_elf = nullptr;
size_t g_elf_size = 0;
int g_helpers = 0;
bool g_child = false;  // a child never blocks without a time limit: it must end soon on its own

Handle take(Handle* slots, int count, Rng& r) {
    return __atomic_exchange_n(&slots[r.below(count)], kNoHandle, __ATOMIC_RELAXED);
}

void put(Handle* slots, int count, Rng& r, int64_t h) {
    if (h <= 0) return;
    Handle old = __atomic_exchange_n(&slots[r.below(count)], static_cast<Handle>(h), __ATOMIC_RELAXED);
    if (old == kNoHandle) return;
    if (slots == g_children) sys::process_kill(old, -7);  // a child is never let go alive
    sys::handle_close(old);  // a saved reply closed unanswered
}

Handle endpoint(Rng& r) {
    Handle h = g_endpoints[r.below(kEndpoints)];
    return h != kNoHandle && !r.one_in(8) ? h : pool_pick(r);
}

// An extended part for a message: data of any size (some past what the
// buffer holds), handles from the pool or the one the call itself uses,
// with kept or random rights, a receive area, a time limit.
void fill(IpcBuffer& b, Rng& r, Handle in_use, bool may_block) {
    static const uint32_t kSizes[] = {0, 1, 8, 100, 4096, 4097, 12288, 65536, 65537};
    b.send_data = g_buffer;
    b.send_size = kSizes[r.below(9)];
    b.send_handle_count = static_cast<uint32_t>(r.below(3));
    for (uint32_t i = 0; i < b.send_handle_count; ++i) {
        b.send_handles[i] = r.one_in(4) ? in_use : r.one_in(3) ? g_saved[r.below(kSaved)] : pool_pick(r);
        b.send_rights[i] = r.one_in(2) ? kRightsSame : static_cast<uint32_t>(r.below(512));
    }
    b.recv_data = g_buffer + 4096;
    b.recv_capacity = static_cast<uint32_t>(r.one_in(4) ? r.below(8192) : 8192);
    static const uint64_t kTimeouts[] = {0, 100'000, 1'000'000, 3'000'000};
    b.timeout_ns = may_block && !g_child && r.one_in(32) ? kWaitForever : kTimeouts[r.below(4)];
}

void keep_received(const IpcBuffer& b, Rng& r) {
    for (uint32_t i = 0; i < b.recv_handle_count && i < kMaxMessageHandles; ++i) {
        if (r.one_in(2)) pool_add(b.recv_handles[i]);
        else sys::handle_close(b.recv_handles[i]);
    }
}

void call(Rng& r) {
    Handle ep = endpoint(r);
    Message m{r.below(8), r.next(), r.next(), r.next()};
    if (r.one_in(6) && !g_child) {
        sys::ipc_call(ep, m);  // no buffer: the fast path when a server waits (blocks until answered)
        return;
    }
    IpcBuffer b;
    fill(b, r, ep, true);
    if (sys::ipc_call(ep, m, &b) == kOk) keep_received(b, r);
}

// What a server does with a call it received.
void act_on_call(Rng& r, Handle ep, bool may_exit) {
    IpcBuffer b;
    switch (r.below(may_exit ? 8 : 7)) {
        case 0: case 1:
            fill(b, r, ep, false);
            sys::ipc_reply(Message{r.below(4), 0, 0, 0}, &b);
            break;
        case 2: {  // hold it; any thread answers later
            put(g_saved, kSaved, r, static_cast<int64_t>(sys::ipc_reply_save()));
            break;
        }
        case 3: {  // kill a child (perhaps the caller), then answer with handles
            Handle child = take(g_children, kChildren, r);
            if (child != kNoHandle) {
                sys::process_kill(child, -5);
                sys::handle_close(child);
            }
            fill(b, r, ep, false);
            sys::ipc_reply(Message{0, 0, 0, 0}, &b);
            break;
        }
        case 4: {  // reply and wait for the next call at once (no buffer: the fast path)
            Message m{0, 1, 2, 3};
            if (r.one_in(2)) {
                fill(b, r, ep, false);
                if (sys::ipc_reply_recv(ep, m, &b) == kOk) act_on_call(r, ep, false);
            } else if (r.one_in(4) && !g_child) {
                if (sys::ipc_reply_recv(ep, m) == kOk) act_on_call(r, ep, false);
            } else {
                sys::ipc_reply(m);
            }
            break;
        }
        case 5: {  // forward: save it and send the reply capability to another server
            auto saved = static_cast<int64_t>(sys::ipc_reply_save());
            if (saved <= 0) break;
            b.send_handle_count = 1;
            b.send_handles[0] = static_cast<Handle>(saved);
            b.send_rights[0] = kRightsSame;
            b.timeout_ns = 1'000'000;
            Message m{7, 0, 0, 0};
            if (sys::ipc_call(endpoint(r), m, &b) != kOk && r.one_in(2)) sys::handle_close(static_cast<Handle>(saved));
            break;
        }
        case 6:
            break;  // leave it: the next receive abandons it
        default:  // a helper ends while the caller waits
            __atomic_fetch_sub(&g_helpers, 1, __ATOMIC_RELAXED);
            sys::thread_exit();
    }
}

void serve(Rng& r, bool may_exit) {
    Handle ep = endpoint(r);
    IpcBuffer b;
    fill(b, r, ep, false);
    b.send_handle_count = 0;
    b.timeout_ns = r.one_in(8) ? 0 : 2'000'000;
    Message m;
    int64_t e = sys::ipc_recv(ep, m, &b);
    if (e == kOk) {
        keep_received(b, r);
        if (m.label == 7 && b.recv_handle_count && r.one_in(2)) put(g_saved, kSaved, r, b.recv_handles[0]);
        act_on_call(r, ep, may_exit);
    }
}

void answer_saved(Rng& r) {
    Handle saved = take(g_saved, kSaved, r);
    if (saved == kNoHandle) return;
    IpcBuffer b;
    fill(b, r, saved, false);
    if (sys::ipc_reply_to(saved, Message{r.below(3), 4, 5, 6}, &b) != kOk && r.one_in(2))
        sys::handle_close(saved);  // refused before use: drop it (or keep it: the slot may be taken)
}

void spawn_child(Rng& r) {
    if (!g_elf) return;
    Handle ep = endpoint(r);
    char cmdline[64];
    format_to(cmdline, sizeof cmdline, "role=child seed=%lu", r.next() >> 1);
    SpawnOptions o{.name = "fuzzchild", .cmdline = cmdline, .quota = 384 << 10, .priority = 8,
                   .stack_size = 16 * 1024, .handles = &ep, .handle_count = 1};
    int64_t child = spawn(g_elf, g_elf_size, o);
    if (child > 0) put(g_children, kChildren, r, child);
}

struct Helper {
    uint64_t seed;
};

void helper_main(void* p) {
    Rng r{static_cast<Helper*>(p)->seed};
    delete static_cast<Helper*>(p);
    for (int i = 0; i < 6; ++i) serve(r, true);
    __atomic_fetch_sub(&g_helpers, 1, __ATOMIC_RELAXED);
}

void start_helper(Rng& r) {
    if (__atomic_fetch_add(&g_helpers, 1, __ATOMIC_RELAXED) >= kHelpers) {
        __atomic_fetch_sub(&g_helpers, 1, __ATOMIC_RELAXED);
        return;
    }
    auto* h = new Helper{r.next()};
    int64_t t = start_thread(helper_main, h, static_cast<uint32_t>(4 + r.below(8)), 16 * 1024);
    if (t > 0) {
        sys::handle_close(static_cast<Handle>(t));
    } else {
        delete h;
        __atomic_fetch_sub(&g_helpers, 1, __ATOMIC_RELAXED);
    }
}

void churn_endpoint(Rng& r) {
    int i = static_cast<int>(r.below(kEndpoints));
    auto fresh = static_cast<int64_t>(sys::endpoint_create());
    Handle old = __atomic_exchange_n(&g_endpoints[i], fresh > 0 ? static_cast<Handle>(fresh) : kNoHandle,
                                     __ATOMIC_RELAXED);
    pool_add(fresh);
    if (old != kNoHandle) sys::handle_close(old);  // waiters there wake, or the pool keeps it open
}

void notifications(Rng& r) {
    auto n = static_cast<int64_t>(sys::notification_create());
    if (n <= 0) return;
    sys::endpoint_bind_notification(endpoint(r), static_cast<Handle>(n));
    sys::notification_signal(static_cast<Handle>(n), 1 + r.below(1 << 20));
    pool_add(n);
}

}  // namespace

void scenario_init(Rng& r) {
    for (auto& ep : g_endpoints) {
        auto h = static_cast<int64_t>(sys::endpoint_create());
        ep = h > 0 ? static_cast<Handle>(h) : kNoHandle;
        pool_add(h);
        pool_add(static_cast<int64_t>(sys::handle_mint(ep, kRightWrite | kRightTransfer, 1 + r.below(100))));
    }
    // The campaign passes this program's boot module, read-only, to start children with.
    Handle module = startup().handle_count ? startup().handles[0] : kNoHandle;
    if (module != kNoHandle) {
        HandleInfo info{};
        if (sys::handle_info(module, &info) == kOk && info.type == ObjectType::memory) {
            size_t size = 0;
            char text[24];
            if (cmdline_value("module_size", text, sizeof text))
                for (const char* p = text; *p >= '0' && *p <= '9'; ++p) size = size * 10 + static_cast<size_t>(*p - '0');
            size_t mapped = (size + kPageSize - 1) & ~(kPageSize - 1);
            uintptr_t at = reserve_address_range(mapped);
            if (size && sys::vm_map(startup().self_process, at, module, 0, mapped, kVmRead) == kOk) {
                g_elf = reinterpret_cast<const void*>(at);
                g_elf_size = size;
            }
        }
    }
}

void scenario_end() {
    for (Handle& child : g_children) {
        Handle h = __atomic_exchange_n(&child, kNoHandle, __ATOMIC_RELAXED);
        if (h == kNoHandle) continue;
        sys::process_kill(h, -8);
        sys::handle_close(h);
    }
}

void step_scenario(Rng& r) {
    switch (r.below(14)) {
        case 0: case 1: case 2: call(r); break;
        case 3: case 4: serve(r, false); break;
        case 5: case 6: answer_saved(r); break;
        case 7: spawn_child(r); break;
        case 8: {
            Handle child = take(g_children, kChildren, r);
            if (child != kNoHandle) {
                sys::process_kill(child, -6);
                if (r.one_in(2)) sys::process_wait(child, 1'000'000, nullptr);
                sys::handle_close(child);
            }
            break;
        }
        case 9: start_helper(r); break;
        case 10: churn_endpoint(r); break;
        case 11: notifications(r); break;
        case 12: pool_add(static_cast<int64_t>(sys::handle_duplicate(endpoint(r), static_cast<uint32_t>(r.below(512))))); break;
        default: step_random(r); break;
    }
}

// A child: calls and serves the endpoint it was given, and ends (or faults)
// whenever its generator says so; its parent kills it at any moment too.
int child_main(uint64_t seed) {
    Rng r{seed | 1};
    g_child = true;
    Handle ep = startup().handle_count ? startup().handles[0] : kNoHandle;
    for (auto& slot : g_endpoints) slot = ep;
    pool_add(ep);
    for (int i = 0; i < 200; ++i) {
        switch (r.below(5)) {
            case 0: case 1: call(r); break;
            case 2: case 3: serve(r, false); break;
            default: answer_saved(r); break;
        }
        if (r.one_in(150)) return 3;
        if (r.one_in(300)) asm volatile("movl $1, 0x8" ::: "memory");  // a fault, with no handler
    }
    return 0;
}

}  // namespace fuzz
