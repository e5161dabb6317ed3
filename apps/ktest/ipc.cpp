// IPC semantics, through the calls programs use: ordering, many clients on
// one server, badges, long messages, handle transfer (rights never grow),
// timeouts, server death and client death mid-call. Run with the fast path
// on and off (the host runs this test under both `ipc.fastpath` settings).
#include "ktest.h"
#include "mica/process.h"
#include "string.h"

using namespace mica;
using namespace ktest;
using ktest::spawn_child;
using ktest::wait_child;

namespace {

Handle g_endpoint;
volatile int g_server_done = 0;

// Echo server: answers label+1 and the words doubled; stops on label 0.
// Checks that each client's sequence numbers (w2) arrive in order.
void echo_server(void*) {
    Message m;
    uint64_t badge = 0;
    uint64_t last_seq[8] = {};
    int64_t r = sys::ipc_recv(g_endpoint, m, nullptr, &badge);
    while (r == kOk && m.label != 0) {
        if (badge < 8 && m.w2 != 0) {
            if (m.w2 != last_seq[badge] + 1) m.w1 = 0xbad;  // out of order: tell the client
            last_seq[badge] = m.w2;
        }
        m = Message{m.label + 1, m.w0 * 2, m.w1, badge};
        r = sys::ipc_reply_recv(g_endpoint, m, nullptr, &badge);
    }
    sys::ipc_reply(Message{});
    g_server_done = 1;
}

struct ClientArgs {
    Handle endpoint;
    uint64_t badge;
    int calls;
    volatile int ok;
};

void echo_client(void* p) {
    auto* a = static_cast<ClientArgs*>(p);
    int ok = 0;
    for (int i = 1; i <= a->calls; ++i) {
        Message m{100, static_cast<uint64_t>(i), 7, static_cast<uint64_t>(i)};
        if (sys::ipc_call(a->endpoint, m) == kOk && m.label == 101 && m.w0 == 2ULL * i && m.w1 == 7 &&
            m.w2 == a->badge)
            ++ok;
    }
    a->ok = ok;
}

void stop_server(Handle ep) {
    Message stop{};
    sys::ipc_call(ep, stop);
    while (!g_server_done) sys::thread_yield();
}

KTEST(ipc, ordering_and_many_clients) {
    g_endpoint = EXPECT_HANDLE(sys::endpoint_create());
    g_server_done = 0;
    int64_t server = start_thread(echo_server, nullptr, 16);
    EXPECT(server > 0);
    // One client, in order.
    Message m{41, 5, 0, 0};
    EXPECT_EQ(sys::ipc_call(g_endpoint, m), kOk);
    EXPECT_EQ(m.label, 42);
    EXPECT_EQ(m.w0, 10);
    // Four clients with their own badges, 200 calls each, all at once.
    static ClientArgs clients[4];
    int64_t threads[4];
    for (int i = 0; i < 4; ++i) {
        Handle h = EXPECT_HANDLE(sys::handle_mint(g_endpoint, kRightWrite, static_cast<uint64_t>(i + 1)));
        clients[i] = ClientArgs{h, static_cast<uint64_t>(i + 1), 200, -1};
        threads[i] = start_thread(echo_client, &clients[i], 16);
    }
    for (auto& c : clients)
        while (c.ok < 0) sys::thread_yield();
    for (auto& c : clients) EXPECT_EQ(c.ok, 200);
    stop_server(g_endpoint);
    for (int i = 0; i < 4; ++i) {
        sys::handle_close(clients[i].endpoint);
        sys::handle_close(static_cast<Handle>(threads[i]));
    }
    sys::handle_close(static_cast<Handle>(server));
    sys::handle_close(g_endpoint);
}

// The fast path's direct switch (ipc_fastpath.h) saves only what the entry
// code saved and each thread's FPU state: a thread's SSE registers and its
// other registers survive round trips, on both sides, and a server waiting
// as the direct switch left it wakes when its endpoint closes.
uint64_t xmm7() {
    uint64_t v;
    asm volatile("movq %%xmm7, %0" : "=r"(v));
    return v;
}
void set_xmm7(uint64_t v) { asm volatile("movq %0, %%xmm7" ::"r"(v) : "xmm7"); }

volatile int g_fpu_server_bad = 0;
volatile int64_t g_fpu_server_end = 1;
void fpu_server(void*) {
    set_xmm7(0x5e5e5e5e);
    Message m;
    int64_t r = sys::ipc_recv(g_endpoint, m);
    while (r == kOk) {
        if (xmm7() != 0x5e5e5e5e) g_fpu_server_bad = 1;
        m = Message{m.label + 1, m.w0, m.w1, m.w2};
        r = sys::ipc_reply_recv(g_endpoint, m);
    }
    g_fpu_server_end = r;
}

KTEST(ipc, direct_switch_keeps_registers) {
    g_endpoint = EXPECT_HANDLE(sys::endpoint_create());
    Handle caller = EXPECT_HANDLE(sys::handle_duplicate(g_endpoint, kRightWrite));
    int64_t server = start_thread(fpu_server, nullptr, 16);
    sys::thread_sleep(5'000'000);  // receiving by now
    int bad = 0;
    for (uint64_t i = 1; i <= 500; ++i) {
        set_xmm7(0xc11e47 + i);
        register uint64_t label asm("rsi") = i, w0 asm("rdx") = i * 3, w1 asm("r10") = ~i, w2 asm("r8") = i << 20,
                                 buffer asm("r9") = 0;
        int64_t status = kSysIpcCall;
        uint64_t kept = 0x1234'5678'9abc + i, kept_after;
        // And a callee-saved register, which no IPC register carries.
        asm volatile("mov %[kept], %%rbx\n\tsyscall\n\tmov %%rbx, %[after]"
                     : [after] "=&r"(kept_after), "+a"(status), "+r"(label), "+r"(w0), "+r"(w1), "+r"(w2),
                       "+r"(buffer)
                     : [kept] "r"(kept), "D"(caller)
                     : "rbx", "rcx", "r11", "memory");
        if (status != kOk || kept_after != kept || xmm7() != 0xc11e47 + i || label != i + 1 || w0 != i * 3 ||
            w1 != ~i || w2 != i << 20)
            ++bad;
    }
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(g_fpu_server_bad, 0);
    EXPECT_EQ(g_fpu_server_end, 1);  // still serving
    sys::handle_close(g_endpoint);   // the last handle that can receive: the server wakes
    while (g_fpu_server_end == 1) sys::thread_yield();
    EXPECT_EQ(g_fpu_server_end, kErrPeerClosed);
    sys::handle_close(caller);
    sys::handle_close(static_cast<Handle>(server));
}

// A server loop with a receive area (as rpc::Server's) answering callers
// that send registers only: the caller waits as the direct switch leaves it,
// the server replies through the fast path's buffered reply_recv, and the
// caller must find exactly that reply in its registers.
volatile int g_area_server_end = 0;
void area_server(void*) {
    static uint8_t area[256];
    IpcBuffer b;
    b.recv_data = area, b.recv_capacity = sizeof area;
    Message m;
    int64_t r = sys::ipc_recv(g_endpoint, m, &b);
    while (r == kOk && m.label != 0) {
        m = Message{m.label * 2, m.w0 + 1, m.w1 ^ 0xff, m.label};
        r = sys::ipc_reply_recv(g_endpoint, m, &b);
    }
    if (r == kOk) sys::ipc_reply(Message{});
    g_area_server_end = 1;
}

KTEST(ipc, register_callers_of_a_buffered_server) {
    g_endpoint = EXPECT_HANDLE(sys::endpoint_create());
    g_area_server_end = 0;
    int64_t server = start_thread(area_server, nullptr, 16);
    sys::thread_sleep(5'000'000);
    int bad = 0;
    for (uint64_t i = 1; i <= 300; ++i) {
        Message m{i, i * 7, i << 3, 0};
        if (sys::ipc_call(g_endpoint, m) != kOk || m.label != i * 2 || m.w0 != i * 7 + 1 || m.w1 != ((i << 3) ^ 0xff) ||
            m.w2 != i)
            ++bad;
    }
    EXPECT_EQ(bad, 0);
    Message stop{};
    EXPECT_EQ(sys::ipc_call(g_endpoint, stop), kOk);
    while (!g_area_server_end) sys::thread_yield();
    sys::handle_close(static_cast<Handle>(server));
    sys::handle_close(g_endpoint);
}

KTEST(ipc, badges) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    Handle a = EXPECT_HANDLE(sys::handle_mint(ep, kRightWrite | kRightDuplicate, 0xa1));
    EXPECT_EQ(sys::handle_mint(a, kRightWrite, 0xb2), kErrBadState);  // fixed once given
    EXPECT_EQ(sys::handle_mint(ep, kRightWrite, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::handle_mint(a, kRightRead, 5), kErrAccessDenied);  // rights grow
    // A duplicate keeps the badge: a client cannot shed or change it.
    Handle dup = EXPECT_HANDLE(sys::handle_duplicate(a, kRightsSame));
    g_endpoint = ep;
    g_server_done = 0;
    int64_t server = start_thread(echo_server, nullptr, 16);
    Message m{1, 1, 0, 0};
    EXPECT_EQ(sys::ipc_call(dup, m), kOk);
    EXPECT_EQ(m.w2, 0xa1);
    stop_server(ep);
    const Handle handles[] = {a, dup, static_cast<Handle>(server), ep};
    for (Handle h : handles) sys::handle_close(h);
}

// Long messages and handles, across address spaces: ktest_child's
// "data_server" answers each message with its data reversed and reports the
// rights of any handle it got.
KTEST(ipc, long_messages_and_handles) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    int64_t child = spawn_child("data_server", &ep, 1);
    EXPECT(child > 0);
    static uint8_t out[kMaxMessageBytes], in[kMaxMessageBytes];
    const uint32_t sizes[] = {1u, 4096u, 4097u, kMaxMessageBytes};
    for (uint32_t size : sizes) {
        for (uint32_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 31 + size);
        IpcBuffer b;
        b.send_data = out, b.send_size = size, b.recv_data = in, b.recv_capacity = sizeof in;
        Message m{1, size, 0, 0};
        EXPECT_EQ(sys::ipc_call(ep, m, &b), kOk);
        EXPECT_EQ(b.recv_size, size);
        bool same = true;
        for (uint32_t i = 0; i < size; ++i) same &= in[i] == out[size - 1 - i];
        EXPECT(same);
    }
    // Too large for the server's buffer (it offers 64 KiB): refused, server intact.
    IpcBuffer big;
    big.send_data = out, big.send_size = kMaxMessageBytes + 1;
    Message m{1, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, m, &big), kErrInvalidArgument);
    // A handle, sent with fewer rights: the server sees exactly those, and
    // ours is gone (moved, not copied).
    Handle memory = EXPECT_HANDLE(sys::memory_create(kPageSize));
    IpcBuffer h;
    h.send_handle_count = 1, h.send_handles[0] = memory, h.send_rights[0] = kRightRead | kRightTransfer;
    Message hm{2, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, hm, &h), kOk);
    EXPECT_EQ(hm.w0, kRightRead | kRightTransfer);  // what the server's handle_info said
    EXPECT_EQ(hm.w1, kErrAccessDenied);             // its memory_write through that handle
    HandleInfo info{};
    EXPECT_EQ(sys::handle_info(memory, &info), kErrBadHandle);
    // Rights cannot grow in transfer.
    Handle weak = EXPECT_HANDLE(sys::memory_create(kPageSize));
    Handle weaker = EXPECT_HANDLE(sys::handle_duplicate(weak, kRightRead | kRightTransfer));
    IpcBuffer g;
    g.send_handle_count = 1, g.send_handles[0] = weaker, g.send_rights[0] = kRightRead | kRightWrite | kRightTransfer;
    Message gm{2, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, gm, &g), kErrAccessDenied);
    EXPECT_EQ(sys::handle_info(weaker, &info), kOk);  // refused before anything moved
    // Stop the server; it exits.
    Message stop{0, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, stop), kOk);
    EXPECT_EQ(wait_child(child), 0);
    const Handle handles[] = {weak, weaker, ep};
    for (Handle x : handles) sys::handle_close(x);
}

KTEST(ipc, timeouts) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    IpcBuffer b;
    b.timeout_ns = 0;
    Message m{1, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrWouldBlock);
    EXPECT_EQ(sys::ipc_recv(ep, m, &b), kErrWouldBlock);
    b.timeout_ns = 20'000'000;
    uint64_t start = sys::clock_monotonic();
    EXPECT_EQ(sys::ipc_call(ep, m, &b), kErrTimedOut);
    EXPECT(sys::clock_monotonic() - start >= 20'000'000);
    EXPECT_EQ(sys::ipc_recv(ep, m, &b), kErrTimedOut);
    sys::handle_close(ep);
}

struct BlockedCall {
    Handle endpoint;
    volatile int64_t result;
};
void blocked_caller(void* p) {
    auto* c = static_cast<BlockedCall*>(p);
    Message m{9, 0, 0, 0};
    c->result = sys::ipc_call(c->endpoint, m);
}

KTEST(ipc, server_death) {
    // A server that receives and then dies before replying: the caller wakes.
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    int64_t child = spawn_child("recv_then_hang", &ep, 1);
    BlockedCall c{ep, 1};
    int64_t t = start_thread(blocked_caller, &c, 16);
    sys::thread_sleep(30'000'000);  // the child has received the call by now
    EXPECT_EQ(c.result, 1);
    sys::process_kill(static_cast<Handle>(child), 5);
    EXPECT_EQ(wait_child(child), 5);
    while (c.result == 1) sys::thread_yield();
    EXPECT_EQ(c.result, kErrPeerClosed);
    sys::handle_close(static_cast<Handle>(t));

    // Callers queued on an endpoint whose last receiving handle closes wake too.
    BlockedCall q{ep, 1};
    int64_t t2 = start_thread(blocked_caller, &q, 16);
    sys::thread_sleep(10'000'000);
    EXPECT_EQ(q.result, 1);  // queued: nobody receives
    Handle send_only = EXPECT_HANDLE(sys::handle_duplicate(ep, kRightWrite));
    sys::handle_close(ep);  // the last handle that could receive
    while (q.result == 1) sys::thread_yield();
    EXPECT_EQ(q.result, kErrPeerClosed);
    Message m{1, 0, 0, 0};
    EXPECT_EQ(sys::ipc_call(send_only, m), kErrPeerClosed);  // at once, later too
    sys::handle_close(send_only);
    sys::handle_close(static_cast<Handle>(t2));
}

KTEST(ipc, client_death) {
    // A client dies mid-call: the server's reply fails cleanly, and the
    // server goes on serving.
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    int64_t child = spawn_child("call_and_hang", &ep, 1);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(m.label, 77);
    sys::process_kill(static_cast<Handle>(child), 3);
    EXPECT_EQ(wait_child(child), 3);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kErrPeerClosed);
    EXPECT_EQ(sys::ipc_reply(Message{1, 0, 0, 0}), kErrBadState);  // nothing pending now
    sys::handle_close(ep);
}

struct SavedCall {
    Handle endpoint;
    uint64_t value;
    volatile int64_t result;
    volatile uint64_t answer;
};
void saved_caller(void* p) {
    auto* c = static_cast<SavedCall*>(p);
    Message m{1, c->value, 0, 0};
    c->result = sys::ipc_call(c->endpoint, m);
    c->answer = m.w0;
}

// A server can hold one call while it serves others (a saved reply), answer
// it later, and a saved reply dropped unanswered tells its caller so.
KTEST(ipc, saved_replies) {
    Handle ep = EXPECT_HANDLE(sys::endpoint_create());
    static SavedCall first{ep, 10, 1, 0}, second{ep, 20, 1, 0}, third{ep, 30, 1, 0};
    int64_t t1 = start_thread(saved_caller, &first, 16);
    Message m;
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    EXPECT_EQ(m.w0, 10);
    Handle held = EXPECT_HANDLE(sys::ipc_reply_save());
    EXPECT_EQ(sys::ipc_reply(Message{}), kErrBadState);  // nothing pending any more
    int64_t t2 = start_thread(saved_caller, &second, 16);
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);  // the second call, while the first waits
    EXPECT_EQ(m.w0, 20);
    EXPECT_EQ(sys::ipc_reply(Message{0, 21, 0, 0}), kOk);
    EXPECT_EQ(sys::ipc_reply_to(held, Message{0, 11, 0, 0}), kOk);
    EXPECT_EQ(sys::ipc_reply_to(held, Message{0, 12, 0, 0}), kErrBadHandle);  // one shot
    while (first.result == 1 || second.result == 1) sys::thread_yield();
    EXPECT_EQ(first.answer, 11);
    EXPECT_EQ(second.answer, 21);
    int64_t t3 = start_thread(saved_caller, &third, 16);
    EXPECT_EQ(sys::ipc_recv(ep, m), kOk);
    Handle dropped = EXPECT_HANDLE(sys::ipc_reply_save());
    EXPECT_EQ(sys::handle_close(dropped), kOk);
    while (third.result == 1) sys::thread_yield();
    EXPECT_EQ(third.result, kErrPeerClosed);
    const int64_t handles[] = {t1, t2, t3, ep};
    for (int64_t h : handles) sys::handle_close(static_cast<Handle>(h));
}

}  // namespace
