// Processes of Linux programs: fork (a new Mica process with a copy of the
// address space: read-only mappings shared, writable ones copied), execve
// (the same process, its memory replaced by a new program), exit and
// wait4 (a child that ends is kept as a zombie until its parent waits).
#include "linux_abi.h"
#include "format.h"
#include "mica/log.h"
#include "mica/strings.h"
#include "process.h"
#include "proto/personality.h"

using namespace mica;

namespace personality {
namespace {

constexpr uint64_t kCloneVm = 0x100, kCloneVfork = 0x4000, kCloneThread = 0x10000,
                   kCloneChildSettid = 0x01000000, kCloneChildCleartid = 0x200000, kCloneSettls = 0x80000;
constexpr uint64_t kWnohang = 1, kWuntraced = 2, kWcontinued = 8;
constexpr uint64_t kChildQuota = 1 << 20;  // its page tables and threads; its memory is ours

Process* new_slot() {
    for (Process& q : g_processes)
        if (!q.used) {
            uint32_t slot = static_cast<uint32_t>(&q - g_processes);
            q.reset();  // never used, or released: its descriptors are free
            q.used = true;
            q.slot = slot;
            return &q;
        }
    return nullptr;
}

// A copy of mapping v of `from` in `to`: shared if read-only, copied if
// writable. On the stack (the mapping holding `rsp`), only what is in use
// is copied: below RSP less the red zone, nothing is kept (a new object
// is zeroed), which makes fork of a program with a large stack cheap.
int64_t copy_mapping(Process& to, const Vma& v, uint64_t rsp) {
    uint64_t size = v.end - v.start;
    if (v.memory == kNoHandle) return reserve(to, v.start, size, v.perms);  // still untouched
    if (!(v.perms & kVmWrite)) {
        auto dup = sys::handle_duplicate(v.memory, kRightsSame);
        if (!dup.ok()) return dup.error();
        int64_t e = sys::vm_map(to.process, v.start, dup.value(), v.offset, size, v.perms);
        if (e == kOk) to.vmas[to.vma_count++] = Vma{v.start, v.end, dup.value(), v.offset, v.perms};
        else sys::handle_close(dup.value());
        return e;
    }
    Handle m;
    if (int64_t e = map_anonymous(to, v.start, size, v.perms, &m)) return e;
    uint64_t from = 0;
    if (rsp >= v.start + 128 && rsp <= v.end) from = (rsp - 128 - v.start) & ~4095ULL;
    if (int64_t e = copy_memory(v.memory, v.offset + from, m, from, size - from)) return e;
    return sys::vm_map(to.process, v.start, m, 0, size, v.perms);
}

int64_t fork(Process& p, const uint64_t* a, CallState& s) {
    uint64_t flags = a[0];
    if (flags & kCloneThread) return new_thread(p, a, s.regs);
    if ((flags & kCloneVm) && !(flags & kCloneVfork)) return -lx::kENOSYS;
    int64_t e = kOk;
    Process* c = new_process(p.name, &e);
    if (!c) return e == kErrNoMemory ? -lx::kENOMEM : -lx::kEAGAIN;
    // Everything but the pid is the parent's.
    copy_string(c->exe, sizeof c->exe, p.exe);
    c->exe_inode = p.exe_inode;
    copy_string(c->cwd, sizeof c->cwd, p.cwd);
    c->brk_base = p.brk_base, c->brk = p.brk, c->brk_mapped = p.brk_mapped, c->mmap_top = p.mmap_top;
    c->stack_bottom = p.stack_bottom, c->stack_limit = p.stack_limit;
    c->umask = p.umask, c->tasks[0].sigmask = p.task().sigmask;  // only the calling thread is copied
    memcpy(c->sigactions, p.sigactions, sizeof c->sigactions);
    c->parent = static_cast<int32_t>(p.slot);
    c->pgid = p.pgid, c->sid = p.sid;
    for (uint32_t i = 0; e == kOk && i < p.vma_count; ++i) e = copy_mapping(*c, p.vmas[i], s.regs.rsp);
    for (uint32_t i = 0; e == kOk && i < p.vma_count; ++i)  // in the same order
        c->vmas[i].exe = p.vmas[i].exe, c->vmas[i].lazy = p.vmas[i].lazy;
    ThreadRegs regs = s.regs;
    regs.rax = 0;  // fork returns 0 in the child
    if (flags & kCloneSettls) regs.fs_base = a[4];
    if (a[1]) regs.rsp = a[1];  // a new stack (clone with a stack argument)
    if (e == kOk) {
        auto thread = sys::thread_create(c->process, regs.rip, regs.rsp & ~15ULL, 0, 15);
        e = thread.error();
        c->tasks[0].thread = thread.ok() ? thread.value() : kNoHandle;
    }
    if (e == kOk) e = sys::thread_regs_write(c->tasks[0].thread, &regs);
    ProcessInfo info{};
    if (e == kOk) e = sys::process_info(c->process, &info);
    if (e != kOk) {
        if (c->process != kNoHandle) sys::process_kill(c->process, e);
        release(*c);
        return e == kErrQuotaExceeded || e == kErrNoMemory || e == kErrLimit ? -lx::kEAGAIN : -lx::kENOMEM;
    }
    c->pid = info.pid;
    c->tasks[0].tid = info.pid;
    for (uint32_t i = 0; i < kMaxFds; ++i) {
        Fd& f = p.fds[i];
        if (f.kind == Fd::kFree) continue;
        c->fds[i] = f;
        fd_attach(c->fds[i]);
    }
    if (flags & kCloneChildSettid) {
        int32_t tid = static_cast<int32_t>(c->pid);
        copy_out(*c, a[3], &tid, sizeof tid);
    }
    if (flags & kCloneChildCleartid) c->tasks[0].clear_tid = a[3];
    if (sys::thread_start(c->tasks[0].thread) != kOk) {
        end(*c, 0, 9);
        return -lx::kEAGAIN;
    }
    c->tasks[0].running = true;
    return static_cast<int64_t>(c->pid);
}

// Reads a NULL-terminated array of strings from the program into `out`
// (back to back, NUL-terminated); their count, or a negative errno.
int64_t read_strings(Process& p, uint64_t array, char* out, uint32_t capacity, uint32_t* used) {
    int64_t count = 0;
    for (; array; ++count) {
        uint64_t pointer;
        if (copy_in(p, array + count * 8, &pointer, 8)) return -lx::kEFAULT;
        if (!pointer) break;
        if (count == 4096) return -lx::kE2BIG;
        int64_t e = read_string(p, pointer, out + *used, capacity - *used);
        if (e == kErrNameTooLong) return -lx::kE2BIG;
        if (e) return -lx::kEFAULT;
        *used += static_cast<uint32_t>(strlen(out + *used) + 1);
    }
    return count;
}

int64_t execve(Process& p, const uint64_t* a, CallState& s) {
    static char path[1024];
    if (read_string(p, a[0], path, sizeof path)) return -lx::kEFAULT;
    if (!strcmp(path, "/proc/self/exe")) copy_string(path, sizeof path, p.exe);
    static char strings[proto::personality::kStringsMax];
    uint32_t used = 0;
    int64_t argc = read_strings(p, a[1], strings, sizeof strings, &used);
    if (argc < 0) return argc;
    int64_t envc = read_strings(p, a[2], strings, sizeof strings, &used);
    if (envc < 0) return envc;
    if (argc == 0) {  // Linux gives such a program an empty argv[0]
        memmove(strings + 1, strings, used);
        strings[0] = '\0';
        ++used, ++argc;
    }
    // Before the point of no return: the file must be there and be an ELF
    // program, or a script whose "#!" line names one (run as Linux does:
    // interpreter [one argument] script argv[1]...; the name is the script's).
    static char script[1024];
    script[0] = '\0';
    files::Name n;
    proto::fs::Stat::Reply st;
    for (int level = 0;; ++level) {
        char head[256] = {};
        if (int64_t e = linux_name(p, path, &n, true, &st)) return -lx::errno_of(e);
        if (st.type == 0)  // it is not there: why, precisely
            if (int64_t e = files::stat(n, &st)) return -lx::errno_of(e);
        if (st.type == proto::fs::kDirectory) return -lx::kEACCES;
        if (st.mode && !(st.mode & 0111)) return -lx::kEACCES;  // no execute bit (even for root)
        int64_t got = files::read(n, 0, head, sizeof head - 1);
        if (got >= 4 && !memcmp(head, "\x7f" "ELF", 4)) break;
        if (got < 3 || head[0] != '#' || head[1] != '!' || level > 0) return -lx::kENOEXEC;
        char* c = head + 2;
        while (*c == ' ' || *c == '\t') ++c;
        char* interpreter = c;
        while (*c && *c != ' ' && *c != '\t' && *c != '\n') ++c;
        char* argument = nullptr;
        if (*c == ' ' || *c == '\t') {
            *c++ = '\0';
            while (*c == ' ' || *c == '\t') ++c;
            argument = c;
            while (*c && *c != '\n') ++c;
            while (c > argument && (c[-1] == ' ' || c[-1] == '\t')) --c;
        }
        if (*c != '\n' && *c != '\0') return -lx::kENOEXEC;  // no end to the line within 255 bytes
        *c = '\0';
        if (!*interpreter) return -lx::kENOEXEC;
        if (argument && !*argument) argument = nullptr;
        // argv becomes: interpreter, [argument], the script's path, argv[1]...
        size_t first = strlen(strings) + 1;  // argv[0] goes
        size_t add = strlen(interpreter) + 1 + (argument ? strlen(argument) + 1 : 0) + strlen(path) + 1;
        if (used - first + add > sizeof strings) return -lx::kE2BIG;
        memmove(strings + add, strings + first, used - first);
        size_t at = 0;
        const char* parts[3] = {interpreter, argument, path};
        for (const char* part : parts) {
            if (!part) continue;
            size_t length = strlen(part) + 1;
            memcpy(strings + at, part, length);
            at += length;
        }
        used = static_cast<uint32_t>(used - first + add);
        argc += argument ? 2 : 1;
        copy_string(script, sizeof script, path);
        copy_string(path, sizeof path, interpreter);
    }
    // The old image goes, and every other thread; this one becomes the first (its tid the pid).
    end_other_threads(p, p.task());
    p.task().tid = p.pid;
    p.task().clear_tid = 0;
    for (uint32_t i = 0; i < p.vma_count; ++i) {
        sys::vm_unmap(p.process, p.vmas[i].start, p.vmas[i].end - p.vmas[i].start);
        if (p.vmas[i].memory != kNoHandle) sys::handle_close(p.vmas[i].memory);
    }
    p.vma_count = 0;
    uint64_t entry = 0, stack = 0;
    if (int64_t e = load_program(p, path, n, st, strings, static_cast<uint32_t>(argc), static_cast<uint32_t>(envc),
                                 used, &entry, &stack)) {
        print("linux: %s (pid %lu): execve %s failed after the old program was gone: %s\n", p.name, p.pid, path,
              error_name(e));
        end(p, 0, 9);
        s.ended = true;
        return 0;
    }
    const char* named = script[0] ? script : path;
    const char* base = named;
    for (const char* c = named; *c; ++c)
        if (*c == '/') base = c + 1;
    copy_string(p.name, sizeof p.name, base);
    p.execed = true;
    for (Fd& f : p.fds)
        if (f.kind != Fd::kFree && f.cloexec) close_fd(p, f);
    for (auto& action : p.sigactions)
        if (action[0] != 1) action[0] = action[1] = action[2] = action[3] = 0;  // handlers go; ignored stays ignored
    // A fresh thread state: the new program's entry and stack, nothing else.
    ThreadRegs& r = s.regs;
    r = ThreadRegs{};
    r.rip = entry, r.rsp = stack, r.rflags = 0x202;
    r.fpu[0] = 0x7f, r.fpu[1] = 0x03;    // FCW 0x037f
    r.fpu[24] = 0x80, r.fpu[25] = 0x1f;  // MXCSR 0x1f80
    if (sys::thread_regs_write(p.task().thread, &r) != kOk) {
        end(p, 0, 9);
        s.ended = true;
        return 0;
    }
    s.regs_changed = true;
    return 0;
}

// wait4's pid: that child (> 0), any (-1), one in the caller's group (0),
// one in the group -pid (< -1).
bool matches(const Process& child, const Process& parent, int64_t pid) {
    if (!child.used || child.parent != static_cast<int32_t>(parent.slot)) return false;
    if (pid > 0) return child.pid == static_cast<uint64_t>(pid);
    return pid == -1 || child.pgid == (pid == 0 ? parent.pgid : static_cast<uint64_t>(-pid));
}

// A child `pid` names with news for wait4 (`options`): an end (the zombie
// is reaped), or a stop or continuation (WUNTRACED, WCONTINUED: told once).
// Its pid, 0 if none has news yet, -ECHILD if there is no such child.
int64_t reap(Process& p, int64_t pid, uint64_t options, uint64_t status_address) {
    bool any = false;
    for (Process& c : g_processes) {
        if (!matches(c, p, pid)) continue;
        any = true;
        bool stop = c.change > 0 && (options & kWuntraced), go_on = c.change < 0 && (options & kWcontinued);
        if (!c.zombie && !stop && !go_on) continue;
        int32_t status = c.zombie ? static_cast<int32_t>(c.wait_status) : stop ? c.change << 8 | 0x7f : 0xffff;
        if (status_address && copy_out(p, status_address, &status, sizeof status)) return -lx::kEFAULT;
        int64_t found = static_cast<int64_t>(c.pid);
        if (c.zombie) release(c);
        else c.change = 0;
        return found;
    }
    return any ? 0 : -lx::kECHILD;
}

int64_t wait4(Process& p, const uint64_t* a, CallState& s) {
    int64_t pid = static_cast<int32_t>(a[0]);
    if (a[2] & ~(kWnohang | kWuntraced | kWcontinued | 0xe0000000ULL)) return -lx::kEINVAL;  // and __WNOTHREAD, __WALL, __WCLONE
    if (pid == static_cast<int32_t>(0x80000000)) return -lx::kESRCH;  // INT_MIN: Linux has no group to negate
    int64_t r = reap(p, pid, a[2], a[1]);
    if (r != 0 || (a[2] & kWnohang)) return r;
    if (p.wait.saved != kNoHandle || !wait_here(p, p.wait, a[1], 0)) return -lx::kEAGAIN;
    p.wait_pid = pid;
    p.wait_options = a[2];
    s.later = true;
    return 0;
}

}  // namespace

Process* new_process(const char* name, int64_t* error) {
    Process* c = new_slot();
    if (!c) {
        *error = kErrLimit;
        return nullptr;
    }
    copy_string(c->name, sizeof c->name, name);
    c->started_ns = static_cast<uint64_t>(sys::clock_monotonic());
    auto made = sys::process_create(name, strlen(name), kChildQuota);
    int64_t e = made.error();
    if (made.ok()) {
        c->process = made.value();
        auto badged = sys::handle_mint(g_endpoint, kRightWrite, kBadgeBit | c->slot);
        e = badged.ok() ? sys::process_set_fault_handler(c->process, badged.value(), kFaultForeign) : badged.error();
        if (badged.ok()) sys::handle_close(badged.value());  // the kernel keeps its own reference
    }
    if (e != kOk) {
        release(*c);
        *error = e;
        return nullptr;
    }
    return c;
}

Process* parent_of(const Process& p) {
    if (p.parent < 0) return nullptr;
    Process& q = g_processes[p.parent];
    return q.used && !q.zombie ? &q : nullptr;
}

void answer(Waiter& w, int64_t result) {
    Task* t = w.slot >= 0 ? &g_processes[w.slot].tasks[w.task] : nullptr;
    if (t && t->waiting_in == &w) t->waiting_in = nullptr;
    if (t && w.saved != kNoHandle) t->running = true;
    if (w.saved != kNoHandle) sys::ipc_reply_to(w.saved, Message{kFaultReturn, static_cast<uint64_t>(result), 0, 0});
    w = Waiter{};
}

bool wait_here(Process& p, Waiter& w, uint64_t address, uint64_t size) {
    auto saved = sys::ipc_reply_save();
    if (!saved.ok()) return false;
    w = Waiter{saved.value(), static_cast<int32_t>(p.slot), p.current, address, size, 0};
    p.task().waiting_in = &w;
    return true;
}

void free_resources(Process& p) {
    if (p.missing_count) {
        static char list[160];
        size_t n = 0;
        for (uint32_t i = 0; i < p.missing_count && n < sizeof list; ++i)
            n += format_to(list + n, sizeof list - n, "%s%u x%u", i ? ", " : "", p.missing[i].number, p.missing[i].count);
        logf("%s (pid %lu) made calls that are not implemented (ENOSYS): %s%s", p.name, p.pid, list,
             p.missing_more ? ", and more" : "");
        p.missing_count = 0;
    }
    for (Task& t : p.tasks) release_task(p, t);  // their waits too
    console_cancel(p);  // a console line read for it would be lost to whoever reads next
    locks_release(p, nullptr);
    close_all(p);
    flush_closes();  // what it left open goes now, not at the next sweep
    for (uint32_t i = 0; i < p.vma_count; ++i)
        if (p.vmas[i].memory != kNoHandle) sys::handle_close(p.vmas[i].memory);
    p.vma_count = 0;
    if (p.wait.saved != kNoHandle) sys::handle_close(p.wait.saved);
    p.wait = Waiter{};
}

void end(Process& p, int64_t code, int64_t signal) {
    if (!p.used || p.zombie) return;
    if (p.from_shell) reset_termios();
    sys::process_kill(p.process, signal ? 128 + signal : code);
    p.zombie = true;  // no longer in its group: the checks below see it gone
    p.stopped = false;
    // Its children lose their parent: zombies go, the others run on, and
    // their groups, like its own, may be orphaned now.
    uint64_t groups[kMaxProcesses];
    uint32_t count = 0;
    groups[count++] = p.pgid;
    for (Process& c : g_processes) {
        if (!c.used || c.parent != static_cast<int32_t>(p.slot) || &c == &p) continue;
        if (c.zombie) {
            release(c);
        } else {
            c.parent = -1;
            if (count < kMaxProcesses) groups[count++] = c.pgid;
        }
    }
    after_end(p, groups, count);
    Process* parent = parent_of(p);
    if (!parent) {
        release(p);
        return;
    }
    free_resources(p);
    p.wait_status = signal ? static_cast<uint64_t>(signal) : static_cast<uint64_t>(code & 0xff) << 8;
    child_changed(p);
    // SIGCHLD (dropped unless it has a handler) after the wait it ends, as on Linux.
    send_signal(*parent, 17);
}

void child_changed(Process& c) {
    Process* parent = parent_of(c);
    if (!parent || parent->wait.saved == kNoHandle || !matches(c, *parent, parent->wait_pid)) return;
    Waiter& w = parent->wait;
    Handle saved = w.saved;
    w.saved = kNoHandle;  // reap may release c; the wait is ours until answered
    int64_t r = reap(*parent, parent->wait_pid, parent->wait_options, w.address);
    w.saved = saved;
    if (r != 0) answer(w, r);
}

bool serve_process_call(Process& p, uint64_t number, const uint64_t* a, CallState& s) {
    int64_t& r = s.result;
    switch (number) {
        case lx::kClone: r = fork(p, a, s); return true;
        case lx::kFork:
        case lx::kVfork: {
            const uint64_t none[6] = {17, 0, 0, 0, 0, 0};  // SIGCHLD
            r = fork(p, none, s);
            return true;
        }
        case lx::kExecve: r = execve(p, a, s); return true;
        case lx::kWait4: r = wait4(p, a, s); return true;
        case lx::kGetppid: {
            Process* parent = parent_of(p);
            r = parent ? static_cast<int64_t>(parent->pid) : 1;
            return true;
        }
        case lx::kPipe: r = pipe_create(p, a[0], 0); return true;
        case lx::kPipe2: r = pipe_create(p, a[0], a[1]); return true;
        default: return false;
    }
}

}  // namespace personality
