// The shell: reads lines from the console (console:), splits them into
// words, runs built-in commands (files.cpp, system.cpp) and programs from
// initfs:/bin. Output can go to a file (`> FILE`, `>> FILE`). Every service
// it talks to it finds through init's namespace; a request caught in a
// server's restart is made again by the runtime.
#include "format.h"
#include "mica/process.h"
#include "mica/strings.h"
#include "proto/console.h"
#include "proto/log.h"
#include "proto/ns.h"
#include "proto/personality.h"
#include "shell.h"

using namespace mica;

namespace shell {

Handle g_init, g_ns, g_log, g_console;
const char* g_command = "shell";

namespace {

void to_console(const char* text, size_t n) {
    static proto::console::Write::Request q;
    proto::console::Write::Reply r;
    while (n > 0) {
        size_t chunk = n < sizeof q.data ? n : sizeof q.data;
        q.size = static_cast<uint32_t>(chunk);
        memcpy(q.data, text, chunk);
        // Better twice than never: a write the console's crash cut short is made again.
        for (int i = 0; i < rpc::kRetries && rpc::call<proto::console::Write>(g_console, q, &r) == kErrPeerClosed; ++i) {
        }
        text += chunk, n -= chunk;
    }
}

// --- redirection ---------------------------------------------------------------------

struct Redirect {
    bool active;
    bool failed;
    Name file;
    uint64_t offset;
    uint32_t used;  // bytes waiting in `data`
    char data[proto::fs::kChunk];
} g_redirect;

void redirect_flush() {
    Redirect& r = g_redirect;
    if (!r.used || r.failed) return;
    if (int64_t e = files::write(r.file, r.offset, r.data, r.used); e < 0) {
        r.failed = true;
        error("shell: writing the output: %s\n", error_name(e));
    }
    r.offset += r.used;
    r.used = 0;
}

}  // namespace

void out(const char* text, size_t n) {
    Redirect& r = g_redirect;
    if (!r.active) return to_console(text, n);
    while (n > 0) {
        size_t room = sizeof r.data - r.used;
        size_t chunk = n < room ? n : room;
        memcpy(r.data + r.used, text, chunk);
        r.used += static_cast<uint32_t>(chunk), text += chunk, n -= chunk;
        if (r.used == sizeof r.data) redirect_flush();
    }
}

namespace {
// Formatted through a buffer that is handed on whenever it fills: no
// output is cut short, however long, and a short line is one write.
void formatted(void (*sink)(const char*, size_t), const char* fmt, va_list args) {
    struct Buffer {
        void (*sink)(const char*, size_t);
        char text[512];
        size_t used = 0;
    } b{sink, {}};
    vformat(
        [](void* context, const char* text, size_t n) {
            auto* b = static_cast<Buffer*>(context);
            while (n > 0) {
                size_t take = n < sizeof b->text - b->used ? n : sizeof b->text - b->used;
                memcpy(b->text + b->used, text, take);
                b->used += take, text += take, n -= take;
                if (b->used == sizeof b->text) b->sink(b->text, b->used), b->used = 0;
            }
        },
        &b, fmt, args);
    if (b.used) sink(b.text, b.used);
}
}  // namespace

void print(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    formatted(out, fmt, args);
    va_end(args);
}

void error(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    formatted(to_console, fmt, args);
    va_end(args);
}

bool redirect_begin(const char* name, bool append) {
    Redirect& r = g_redirect;
    if (!resolve(name, &r.file)) return false;
    proto::fs::Stat::Reply sr{};
    int64_t e = append ? files::create(r.file) : files::make_empty(r.file);
    if (e == kOk) e = files::stat(r.file, &sr);
    if (e < 0) {
        error("shell: %s: %s\n", r.file.text, error_name(e));
        return false;
    }
    r.active = true, r.failed = false, r.used = 0;
    r.offset = append ? sr.size : 0;
    return true;
}

void redirect_end() {
    if (!g_redirect.active) return;
    redirect_flush();
    g_redirect.active = false;
}

namespace {

// --- programs ------------------------------------------------------------------------

// Programs started with a trailing '&': the shell goes on at once, and says
// when each has ended.
struct Job {
    Handle process;
    uint64_t pid;
    uint64_t badge;  // its delegated badge in the namespace, released when it ends
    char name[32];
};
Job g_jobs[8];

// Least privilege one level down: a program gets the namespace and the log
// under a badge of its own (ns's Delegate), with the schemes every program
// may use, plus what the manifest's `program` line for it grants; init's
// control protocol only if that line says control=yes. The shell's own
// rights (its uses=, control) are never passed on wholesale.
constexpr const char* kProgramSchemes = "file,initfs,console,rtc,net,log";

struct Delegation {
    Handle ns = kNoHandle, log = kNoHandle;
    uint64_t badge = 0;
    bool control = false;
};

int64_t delegate(const char* name, Delegation* d) {
    proto::ns::Delegate::Request q{};
    copy_string(q.program, sizeof q.program, name);
    copy_string(q.schemes, sizeof q.schemes, kProgramSchemes);
    proto::ns::Delegate::Reply r;
    if (int64_t e = rpc::call<proto::ns::Delegate>(g_ns, q, &r, rpc::Extras{.received_handle = &d->ns}); e < 0)
        return e;
    d->badge = r.badge, d->control = r.control;
    // Its log handle comes through its own namespace rights, so its lines
    // carry its badge; the log learns its name from us (its root).
    proto::ns::Lookup::Request lq{};
    copy_string(lq.scheme, sizeof lq.scheme, "log");
    proto::ns::Lookup::Reply lr;
    rpc::call<proto::ns::Lookup>(d->ns, lq, &lr, rpc::Extras{.received_handle = &d->log});
    proto::log::Name::Request nq{};
    nq.client = r.badge;
    copy_string(nq.name, sizeof nq.name, name);
    proto::log::Name::Reply nr;
    rpc::call<proto::log::Name>(g_log, nq, &nr);
    return kOk;
}

void release(uint64_t badge) {
    if (!badge) return;
    proto::ns::Release::Request q{badge};
    proto::ns::Release::Reply r;
    rpc::call<proto::ns::Release>(g_ns, q, &r);
}

// The exit status of a program ended by Ctrl-C (as a shell reports 130).
constexpr int64_t kInterrupted = -130;

// Waits for a program running in the foreground; Ctrl-C ends it. The
// console signals our notification on Ctrl-C while the program runs (and
// keeps what is typed for whoever reads next); a notification cannot be
// waited for together with a process, so the two are polled in turn.
// For a Linux program (linux_pid != 0), Ctrl-C, Ctrl-Z and Ctrl-\ ask the
// personality to send SIGINT, SIGTSTP and SIGQUIT to its session's
// foreground process group, as a terminal does (the console signals bits 1,
// 2 and 4); a Mica program ignores the last two.
int64_t wait_in_foreground(Handle process, uint64_t linux_pid = 0) {
    HandleResult n = sys::notification_create();
    HandleResult give = n.ok() ? sys::handle_duplicate(n.value(), kRightSignal | kRightTransfer) : n;
    proto::console::Interrupt::Request q{};
    proto::console::Interrupt::Reply r;
    bool armed = give.ok() &&
                 rpc::call<proto::console::Interrupt>(g_console, q, &r, rpc::Extras{.send_handle = give.value()}) == kOk;
    int64_t status = 0;
    for (;;) {
        int64_t e = sys::process_wait(process, armed ? 10'000'000 : kWaitForever, &status);
        if (e == kOk) break;
        int64_t keys = armed ? sys::notification_wait(n.value(), 0) : 0;
        if (keys > 0 && (linux_pid || (keys & 1))) {
            if (linux_pid) {
                HandleResult proof = sys::handle_duplicate(process, kRightsSame);
                uint32_t signal = keys & 1 ? 2 : keys & 4 ? 3 : 20;  // SIGINT, SIGQUIT, SIGTSTP
                proto::personality::Signal::Request sq{linux_pid, signal, 0};
                proto::personality::Signal::Reply sr;
                Handle personality = scheme_endpoint("linux");
                if (proof.ok() && personality != kNoHandle &&
                    rpc::call<proto::personality::Signal>(personality, sq, &sr,
                                                          rpc::Extras{.send_handle = proof.value()}) == kOk)
                    continue;  // it ends, or it caught the signal and goes on
                if (!(keys & 1)) continue;
                sys::process_kill(process, kInterrupted);  // no personality to ask: Ctrl-C ends it
            } else {
                sys::process_kill(process, kInterrupted);
            }
            sys::process_wait(process, kWaitForever, &status);
            break;
        }
    }
    if (armed) rpc::call<proto::console::Interrupt>(g_console, q, &r);  // no handle: Ctrl-C is the shell's again
    if (n.ok()) sys::handle_close(n.value());
    return status;
}

void reap_jobs(bool wait) {
    for (Job& j : g_jobs) {
        if (j.process == kNoHandle) continue;
        int64_t status = 0;
        if (sys::process_wait(j.process, wait ? kWaitForever : 0, &status) != kOk) continue;
        print("[%lu] %s: done, exit status %ld\n", j.pid, j.name, status);
        sys::handle_close(j.process);
        release(j.badge);
        j.process = kNoHandle;
    }
}

// A program from initfs:/bin, run to its end (or, with `background`, left
// running) with the rest of the line as its arguments.
bool run_program(const char* name, const char* args, bool background) {
    static char path[proto::fs::kPathMax];
    format_to(path, sizeof path, "initfs:/bin/%s", name);
    Name program;
    proto::fs::Stat::Reply sr;
    if (files::resolve(path, "initfs:/", &program) != kOk || files::stat(program, &sr) != kOk ||
        sr.type != proto::fs::kFile)
        return false;
    static uint8_t image[1 << 20];
    if (sr.size > sizeof image) {
        error("%s: too large to load\n", name);
        return true;
    }
    for (uint64_t at = 0; at < sr.size;) {
        int64_t got = files::read(program, at, image + at, static_cast<uint32_t>(sr.size - at));
        if (got <= 0) {
            error("%s: cannot read: %s\n", name, error_name(got < 0 ? got : kErrIo));
            return true;
        }
        at += static_cast<uint64_t>(got);
    }
    Delegation d;
    if (int64_t e = delegate(name, &d); e < 0) {
        error("%s: cannot give it its rights: %s\n", name, error_name(e));
        return true;
    }
    Handle handles[kSlotControl + 1] = {};
    handles[kSlotNamespace] = d.ns;
    handles[kSlotLog] = d.log;
    if (d.control) handles[kSlotControl] = g_init;
    static char cmdline[kCmdlineBytes];
    if (format_to(cmdline, sizeof cmdline, "cwd=%s %s", cwd(), args ? args : "") >= sizeof cmdline) {
        release(d.badge);
        sys::handle_close(d.ns);
        if (d.log != kNoHandle) sys::handle_close(d.log);
        error("%s: line too long\n", name);
        return true;
    }
    SpawnOptions o{.name = name, .cmdline = cmdline, .quota = 8 << 20, .priority = 15,
                   .handles = handles, .handle_count = kSlotControl + 1};
    int64_t p = spawn(image, sr.size, o);
    sys::handle_close(d.ns);  // the program has its copies
    if (d.log != kNoHandle) sys::handle_close(d.log);
    if (p < 0) {
        release(d.badge);
        error("%s: cannot start: %s\n", name, error_name(p));
        return true;
    }
    if (background) {
        for (Job& j : g_jobs) {
            if (j.process != kNoHandle) continue;
            ProcessInfo pi{};
            sys::process_info(static_cast<Handle>(p), &pi);
            j = Job{static_cast<Handle>(p), pi.pid, d.badge, {}};
            copy_string(j.name, sizeof j.name, name);
            print("[%lu] %s\n", j.pid, name);
            return true;
        }
        error("%s: too many jobs; waiting for it\n", name);
    }
    int64_t status = wait_in_foreground(static_cast<Handle>(p));
    sys::handle_close(static_cast<Handle>(p));
    release(d.badge);
    if (status == kInterrupted) error("%s: interrupted\n", name);
    else if (status != 0) error("%s: exit status %ld\n", name, status);
    return true;
}

// A Linux program from file:/bin or file:/usr/bin (or NAME as a path with a
// '/'), run by the Linux personality (servers/linux) with `argv` and an
// environment of its own; waited for (and Ctrl-C'd) like any program.
bool run_linux(int argc, char** argv) {
    static proto::personality::Run::Request q;
    bool background = argc > 1 && !strcmp(argv[argc - 1], "&");
    if (background) --argc;
    const char* name = argv[0];
    const char* linux_cwd = strncmp(cwd(), "file:", 5) == 0 ? cwd() + 5 : "/";
    static const char* const kDirectories[] = {"/bin/", "/usr/bin/"};
    bool found = false;
    for (const char* dir : kDirectories) {
        if (strchr(name, '/')) {
            if (name[0] == '/') format_to(q.path, sizeof q.path, "%s", name);
            else format_to(q.path, sizeof q.path, "%s/%s", linux_cwd, name);
        } else {
            format_to(q.path, sizeof q.path, "%s%s", dir, name);
        }
        static char mica_name[proto::fs::kPathMax + 8];
        format_to(mica_name, sizeof mica_name, "file:%s", q.path);
        Name n;
        proto::fs::Stat::Reply sr;
        if (files::resolve(mica_name, "file:/", &n) == kOk && files::stat(n, &sr) == kOk &&
            (sr.type == proto::fs::kFile || sr.type == proto::fs::kSymlink)) {  // the personality follows links
            found = true;
            break;
        }
        if (strchr(name, '/')) break;
    }
    if (!found) return false;
    copy_string(q.cwd, sizeof q.cwd, linux_cwd);
    uint32_t used = 0;
    auto add = [&](const char* s) {
        size_t n = strlen(s) + 1;
        if (used + n > sizeof q.strings) return false;
        memcpy(q.strings + used, s, n);
        used += static_cast<uint32_t>(n);
        return true;
    };
    static char pwd[proto::fs::kPathMax + 8];
    format_to(pwd, sizeof pwd, "PWD=%s", linux_cwd);
    const char* const env[] = {"PATH=/bin:/usr/bin", "HOME=/", "TERM=vt100", pwd};
    bool fits = true;
    for (int i = 0; i < argc; ++i) fits = fits && add(argv[i]);
    for (const char* e : env) fits = fits && add(e);
    if (!fits) {
        error("%s: arguments too long\n", name);
        return true;
    }
    q.argc = static_cast<uint32_t>(argc), q.envc = sizeof env / sizeof env[0], q.size = used;
    q.flags = background ? proto::personality::kRunBackground : 0;
    Handle personality = scheme_endpoint("linux");
    Handle process = kNoHandle;
    proto::personality::Run::Reply r;
    int64_t e = personality == kNoHandle
                    ? kErrNotFound
                    : rpc::call<proto::personality::Run>(personality, q, &r, rpc::Extras{.received_handle = &process},
                                                         proto::personality::Run::kMinRequest + used);
    if (e < 0 || process == kNoHandle) {
        error("%s: cannot run this Linux program: %s\n", name, error_name(e < 0 ? e : kErrProtocol));
        return true;
    }
    if (background) {
        for (Job& j : g_jobs) {
            if (j.process != kNoHandle) continue;
            j = Job{process, r.pid, 0, {}};
            copy_string(j.name, sizeof j.name, name);
            print("[%lu] %s\n", j.pid, name);
            return true;
        }
        error("%s: too many jobs; waiting for it\n", name);
    }
    int64_t status = wait_in_foreground(process, r.pid);
    sys::handle_close(process);
    if (status == kInterrupted || status == 128 + 2) error("%s: interrupted\n", name);  // SIGINT
    else if (status != 0) error("%s: exit status %ld\n", name, status);
    return true;
}

const Command* const kCommandLists[] = {kFileCommands, kSystemCommands};

char* strrchr_simple(char* s, char c) {
    char* last = nullptr;
    for (; *s; ++s)
        if (*s == c) last = s;
    return last;
}

void help(int, char**) {
    print("commands:\n");
    for (const Command* list : kCommandLists)
        for (const Command* c = list; c->name; ++c) print("  %-28s %s\n", c->name, c->usage);
    print("  %-28s %s\n", "help", "this text");
    print("  %-28s %s\n", "NAME [ARGS] [&]", "run initfs:/bin/NAME (with &: in the background)");
    print("  %-28s %s\n", "NAME [ARGS]", "else a Linux program from file:/bin or file:/usr/bin");
    print("  %-28s %s\n", "jobs, wait", "the programs running in the background; wait for them");
    print("  %-28s %s\n", "... > FILE, ... >> FILE", "a command's output into FILE (replaced, appended)");
}

// Splits a line into words ("double" or 'single' quotes keep spaces); notes a trailing
// `> FILE` or `>> FILE`. -1 if there are more than `max` words.
int split(char* line, char** argv, int max, const char** redirect, bool* append) {
    int argc = 0;
    *redirect = nullptr;
    for (char* p = line; *p;) {
        while (*p == ' ' || *p == '\t') ++p;
        if (!*p) break;
        if (*p == '>') {
            *append = p[1] == '>';
            p += *append ? 2 : 1;
            while (*p == ' ') ++p;
            *redirect = p;
            while (*p && *p != ' ') ++p;
            if (*p) *p++ = '\0';
            continue;
        }
        char* word = p;
        char* w = p;
        char quote = 0;
        for (; *p && (quote || (*p != ' ' && *p != '\t' && *p != '>')); ++p) {
            if (!quote && (*p == '"' || *p == '\'')) quote = *p;
            else if (quote && *p == quote) quote = 0;
            else *w++ = *p;
        }
        char end = *p;
        if (*p && *p != '>') ++p;
        *w = '\0';
        if (end == '>') *p = '>';  // "a>b": the '>' starts a redirection
        if (argc == max) return -1;
        argv[argc++] = word;
    }
    return argc;
}

void execute(char* line) {
    static char original[kLineMax + 1];
    copy_string(original, sizeof original, line);
    char* argv[64];
    const char* target;
    bool append = false;
    int argc = split(line, argv, 64, &target, &append);
    if (argc < 0) {
        error("shell: too many words (at most 64)\n");
        return;
    }
    if (argc == 0) return;
    g_command = argv[0];
    if (target && !*target) {
        error("shell: '>' needs a file\n");
        return;
    }
    if (target && !redirect_begin(target, append)) return;
    const Command* found = nullptr;
    for (const Command* list : kCommandLists)
        for (const Command* c = list; c->name && !found; ++c)
            if (!strcmp(c->name, argv[0])) found = c;
    if (found) {
        found->run(argc, argv);
    } else if (!strcmp(argv[0], "help")) {
        help(argc, argv);
    } else if (!strcmp(argv[0], "jobs")) {
        for (const Job& j : g_jobs)
            if (j.process != kNoHandle) print("[%lu] %s\n", j.pid, j.name);
    } else if (!strcmp(argv[0], "wait")) {
        reap_jobs(true);
    } else {
        // A program gets the rest of the line as it was typed (less a final '&').
        char* args = strchr(original, ' ');
        while (args && *args == ' ') ++args;
        bool background = !strcmp(argv[argc - 1], "&");
        if (background) {
            char* amp = strrchr_simple(original, '&');
            *amp = '\0';
            if (args && args >= amp) args = nullptr;
        }
        if (!run_program(argv[0], args && *args ? args : nullptr, background) && !run_linux(argc, argv))
            error("%s: no such command (try 'help')\n", argv[0]);
    }
    redirect_end();
}

}  // namespace
}  // namespace shell

using namespace shell;

int main() {
    // The shell is a service (one console, one reader): started by init only.
    if (startup_handle(kSlotControl) == kNoHandle) {
        mica::print("shell: a service, started by init from the manifest; not a command\n");
        return 2;
    }
    g_ns = startup_handle(kSlotNamespace);
    g_log = startup_handle(kSlotLog);
    g_init = startup_handle(kSlotControl);
    g_console = scheme_endpoint("console");
    if (g_console == kNoHandle) return 1;
    char motd[] = "cat initfs:/etc/motd";
    execute(motd);
    // boot_ticks=yes (the kernel command line's `-- shell.boot_ticks=yes`,
    // passed on by init): the cycle counter and the ticks the CPU spent
    // halted, as the first prompt is printed, for ./mica bench's
    // boot.kernel_to_shell (under -icount: instructions since machine reset).
    char boot_ticks[8];
    if (cmdline_value("boot_ticks", boot_ticks, sizeof boot_ticks) && !strcmp(boot_ticks, "yes")) {
        uint32_t lo, hi;
        asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
        SystemInfo info{};
        sys::system_info(&info);
        shell::print("shell: first prompt at counter %lu, %lu ticks halted\n",
                     static_cast<uint64_t>(hi) << 32 | lo, info.idle_ticks);
    }
    static proto::console::ReadLine::Reply r;
    for (;;) {
        reap_jobs(false);
        shell::print("mica> ");
        proto::console::ReadLine::Request q{};
        int64_t e = rpc::call<proto::console::ReadLine>(g_console, q, &r);
        if (e != kOk) continue;
        if (r.eof) {
            shell::print("(end of input)\n");
            continue;
        }
        if (r.interrupted) continue;
        if (r.too_long) {
            error("shell: line too long (at most %u bytes)\n", kLineMax);
            continue;
        }
        static char line[sizeof r.data + 1];
        memcpy(line, r.data, r.size);
        line[r.size] = '\0';
        execute(line);
    }
}
