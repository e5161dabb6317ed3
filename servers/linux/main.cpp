// linux: the Linux personality. Runs unmodified static x86-64 Linux programs
// as Mica processes made foreign (kFaultForeign): their `syscall`
// instructions arrive here as fault messages, badged with the program's
// slot and the thread's index (threads.cpp), and are served from the Linux ABI (calls.cpp, files.cpp) with the
// capabilities this server has — the file system, the console — and no
// more. The program itself holds no Mica handle and can make no Mica call.
// A fault of the program (a bad pointer, an invalid instruction) ends it as
// Linux's default action for the signal would (status 128 + signal).
// Startup slots: kSlotEndpoint (linux:), kSlotNamespace (file, console, rtc, net).
#include "linux_abi.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "process.h"
#include "proto/personality.h"

using namespace mica;

namespace personality {

Process g_processes[kMaxProcesses];
Handle g_console = kNoHandle;
Handle g_endpoint = kNoHandle;

namespace {


// Strings `count` NUL-terminated strings exactly fill [s, s + size)?
bool strings_ok(const char* s, uint32_t size, uint32_t count) {
    uint32_t found = 0;
    for (uint32_t i = 0; i < size; ++i) found += s[i] == '\0';
    return found == count && (size == 0 || s[size - 1] == '\0');
}

const char* base_name(const char* path) {
    const char* base = path;
    for (const char* c = path; *c; ++c)
        if (*c == '/') base = c + 1;
    return base;
}

void sweep();

int64_t run(const proto::personality::Run::Request& q, proto::personality::Run::Reply& reply, rpc::Call& call) {
    sweep();  // what a Ctrl-C ended a moment ago is given back first
    uint32_t size = call.request_size - proto::personality::Run::kMinRequest;
    if (strnlen(q.path, sizeof q.path) == sizeof q.path || strnlen(q.cwd, sizeof q.cwd) == sizeof q.cwd ||
        q.cwd[0] != '/' || q.size != size || q.argc == 0 || !strings_ok(q.strings, q.size, q.argc + q.envc))
        return kErrInvalidArgument;
    int64_t e = kOk;
    Process* p = new_process(base_name(q.path), &e);
    if (!p) return e;
    mica::copy_string(p->cwd, sizeof p->cwd, q.cwd);
    uint64_t entry = 0, stack = 0;
    e = load_program(*p, q.path, q.strings, q.argc, q.envc, q.size, &entry, &stack);
    if (e == kOk) {
        auto thread = sys::thread_create(p->process, entry, stack, 0, 15);
        e = thread.error();
        p->tasks[0].thread = thread.ok() ? thread.value() : kNoHandle;
    }
    ProcessInfo info{};
    if (e == kOk) e = sys::process_info(p->process, &info);
    HandleResult given{kErrBadState};  // until it is made
    if (e == kOk) {
        given = sys::handle_duplicate(p->process, kRightWait | kRightManage | kRightRead | kRightTransfer | kRightDuplicate);
        e = given.error();
    }
    if (e == kOk) {
        p->pid = info.pid;
        p->tasks[0].tid = info.pid;
        p->from_shell = true;
        // It leads a session of its own, the console's unless it runs in the background.
        p->pgid = p->sid = info.pid;
        if (!(q.flags & proto::personality::kRunBackground)) g_tty_sid = g_tty_pgrp = info.pid;
        open_console_fds(*p);
        e = sys::thread_start(p->tasks[0].thread);
        p->tasks[0].running = e == kOk;
    }
    if (e != kOk) {
        if (given.ok()) sys::handle_close(given.value());
        if (p->process != kNoHandle) sys::process_kill(p->process, e);
        release(*p);
        return e;
    }
    reply.pid = info.pid;
    call.reply_handle = given.value();
    return kOk;
}

// Signal: the caller proves it may by sending the program's process handle.
// The signal goes to the foreground group of the program's session (the
// program's own group if the console is another session's). A group that
// Mica's shell waits for and that is stopped cannot be continued by anyone
// else: Ctrl-C and Ctrl-\ continue it too, so that they end it.
int64_t terminal_signal(const proto::personality::Signal::Request& q, proto::personality::Signal::Reply&,
                        rpc::Call& call) {
    if (q.signal == 0 || q.signal > 64 || call.received_handle == kNoHandle) return kErrInvalidArgument;
    HandleInfo sent{}, ours{};
    if (sys::handle_info(call.received_handle, &sent) != kOk) return kErrInvalidArgument;
    for (Process& p : g_processes) {
        if (!p.used || p.zombie || p.pid != q.pid || p.parent >= 0) continue;
        if (sys::handle_info(p.process, &ours) != kOk || ours.koid != sent.koid) return kErrAccessDenied;
        uint64_t group = g_tty_sid == p.sid && g_tty_pgrp ? g_tty_pgrp : p.pgid;
        if (!signal_group(group, static_cast<int>(q.signal))) send_signal(p, static_cast<int>(q.signal));
        else if ((q.signal == 2 || q.signal == 3) && orphaned(group)) signal_group(group, 18);  // SIGCONT
        return kOk;
    }
    return kErrNotFound;
}

// The signal a CPU exception raises, as Linux maps them.
int64_t signal_of(uint64_t vector) {
    switch (vector) {
        case 0: case 16: case 19: return 8;  // SIGFPE
        case 6: return 4;                    // SIGILL
        case 1: case 3: return 5;            // SIGTRAP
        case 17: return 7;                   // SIGBUS
        default: return 11;                  // SIGSEGV
    }
}

bool on_fault(const Message& m, uint64_t badge, Message& reply) {
    Process* p = from_badge(badge);
    if (!p || m.label != kFaultLabel) return true;  // kErrInvalidArgument
    Task& t = p->task();
    if (t.exiting) {  // another thread's execve ends it
        release_task(*p, t);
        reply = Message{kFaultExitThread, 0, 0, 0};
        return true;
    }
    if (p->stopped && (m.w0 == kFaultInterrupt || m.w0 == kFaultSyscall)) {
        // Its program is stopped: it waits until it continues (a call is then made again).
        ThreadRegs r;
        bool ok = true;
        if (m.w0 == kFaultSyscall) {
            ok = sys::thread_regs_read(t.thread, &r) == kOk;
            rewind_call(r, m.w1);
            ok = ok && sys::thread_regs_write(t.thread, &r) == kOk;
        }
        if (ok) {
            hold(*p, t);
            return false;
        }
        end(*p, 0, 9);
        reply = Message{1, 0, 0, 0};
        return true;
    }
    if (m.w0 == kFaultInterrupt) {
        // Stopped by thread_interrupt, busy in its own code: its signal now.
        t.running = false;
        ThreadRegs r;
        bool alive = sys::thread_regs_read(t.thread, &r) == kOk && deliver_signals(*p, t, r);
        if (alive && p->used && sys::thread_regs_write(t.thread, &r) != kOk) alive = false;
        reply = Message{alive && p->used ? 0u : 1u, 0, 0, 0};
        t.running = alive && p->used;
        return true;
    }
    if (m.w0 == kFaultSyscall) {
        t.running = false;
        CallState s;
        serve(*p, m.w1, s);
        if (s.restart && !s.ended) {
            if (!s.have_regs && sys::thread_regs_read(t.thread, &s.regs) != kOk) s.ended = true;
            rewind_call(s.regs, m.w1);
            if (!s.ended && sys::thread_regs_write(t.thread, &s.regs) != kOk) s.ended = true;
            s.regs_changed = s.have_regs = true;
        }
        if (!p->used || p->zombie) s.ended = true;
        if (s.later) {
            interrupt(*p, t);  // a signal already pending ends the wait it just began
            return false;
        }
        if (s.thread_ended) {
            reply = Message{kFaultExitThread, 0, 0, 0};
            return true;
        }
        if (!s.ended && p->stopped) {
            // It stopped its own program (a stop signal to itself, SIGTTIN):
            // it goes on, with the call's result, when the program continues.
            if (!s.regs_changed) {
                if (!s.have_regs && sys::thread_regs_read(t.thread, &s.regs) != kOk) s.ended = true;
                s.regs.rax = static_cast<uint64_t>(s.result);
                if (!s.ended && sys::thread_regs_write(t.thread, &s.regs) != kOk) s.ended = true;
            }
            if (!s.ended) {
                hold(*p, t);
                return false;
            }
        }
        if (!s.ended && p->used && signal_waiting(*p, t)) {
            // A signal to deliver on the way back: from the registers the call leaves.
            if (!s.have_regs && sys::thread_regs_read(t.thread, &s.regs) != kOk) s.ended = true;
            if (!s.regs_changed) s.regs.rax = static_cast<uint64_t>(s.result);
            if (!s.ended && !deliver_signals(*p, t, s.regs)) s.ended = true;
            else if (!s.ended && sys::thread_regs_write(t.thread, &s.regs) == kOk) s.regs_changed = true;
        }
        t.running = !s.ended && p->used;
        if (s.ended) reply = Message{1, 0, 0, 0};
        else if (s.regs_changed) reply = Message{0, 0, 0, 0};  // the registers as written (execve, signals)
        else reply = Message{kFaultReturn, static_cast<uint64_t>(s.result), 0, 0};
        return true;
    }
    uint64_t vector = m.w0 & 0xffff'ffff, error = m.w0 >> 32;
    // A page fault: the stack used further down than ever, or memory reserved and touched for the first time.
    uint32_t need = error & 2 ? kVmWrite : error & 16 ? kVmExec : kVmRead;
    int64_t filled = vector == 14 && !grow_stack(*p, m.w1) ? fill(*p, m.w1, need) : kOk;
    if (vector == 14 && filled == kOk) {
        reply = Message{0, 0, 0, 0};
        return true;
    }
    if (vector == 14 && filled != kErrNotFound) {
        // Memory it reserved and cannot have: as Linux's out-of-memory killer, SIGKILL.
        print("linux: %s (pid %lu): out of memory at %#lx (%s): killed\n", p->name, p->pid, m.w1, error_name(filled));
        end(*p, 0, 9);
        reply = Message{1, 0, 0, 0};
        return true;
    }
    print("linux: %s (pid %lu): signal %ld (exception %lu at pc %#lx, address %#lx): ended\n", p->name, p->pid,
          signal_of(vector), vector, m.w2, m.w1);
    end(*p, 0, signal_of(vector));
    reply = Message{1, 0, 0, 0};
    return true;
}

// Ends `p` and every program it started, and theirs.
void end_tree(Process& p, int64_t signal) {
    for (Process& c : g_processes)
        if (c.used && !c.zombie && c.parent == static_cast<int32_t>(p.slot) && &c != &p) end_tree(c, signal);
    end(p, 0, signal);
}

// Programs ended from outside (the shell's Ctrl-C, a kill): they and what
// they started end, as a process group does on Linux.
void sweep() {
    flush_closes();
    for (Process& p : g_processes) {
        if (!p.used || p.zombie || p.reading) continue;
        ProcessInfo info{};
        if (sys::process_info(p.process, &info) != kOk || info.state >= kProcessDying) end_tree(p, 9);
    }
}

}  // namespace

Process* from_badge(uint64_t badge) {
    uint64_t slot = badge & 0xff, index = (badge >> 8) & 0xff;
    if ((badge & ~0xffffULL) != kBadgeBit || slot >= kMaxProcesses || index >= kMaxThreads) return nullptr;
    Process& p = g_processes[slot];
    if (!p.used || p.tasks[index].thread == kNoHandle) return nullptr;
    p.current = static_cast<uint32_t>(index);
    return &p;
}

void release(Process& p) {
    free_resources(p);
    if (p.process != kNoHandle) sys::handle_close(p.process);
    p.reset();  // its descriptors are free: free_resources closed them
}

}  // namespace personality

int main() {
    using namespace personality;
    // The personality's threads share its tables without locks: a helper
    // (priority 16) finishes its work before the main thread runs again.
    // That holds only on one CPU, so all of them stay on this one (helpers
    // inherit the affinity).
    ThreadInfo self{};
    if (sys::thread_info(startup().self_thread, &self) == kOk)
        sys::thread_set_affinity(startup().self_thread, 1ULL << self.cpu);
    g_endpoint = service_endpoint("linux");
    reset_termios();  // canonical, with echo
    g_console = files::scheme_endpoint("console");
    if (g_console == kNoHandle) print("linux: no console; programs' output is lost\n");
    static rpc::Server<4> server(g_endpoint);
    server.on<proto::personality::Run>(run);
    server.on<proto::personality::Signal>(terminal_signal);
    server.on<Wake>([](const Wake::Request&, Wake::Reply&, rpc::Call&) -> int64_t {
        // A helper saw a change: net: signalled (a socket moved), a console
        // line came, a poll's deadline or an alarm passed.
        socket_wake();
        alarm_wake();
        poll_wake();
        return kOk;
    });
    server.on_other(on_fault);
    server.on_idle(sweep, 1'000'000'000);
    server.run();
}
