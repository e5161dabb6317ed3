// The shell: reads lines from the console (console:), runs built-in
// commands and programs from initfs:/bin. Every service it talks to it finds
// through init's namespace; a call that fails because a server was restarted
// under it is made again.
#include "format.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "proto/console.h"
#include "proto/fs.h"
#include "proto/init.h"
#include "proto/log.h"
#include "proto/ns.h"
#include "proto/rtc.h"

using namespace mica;

namespace {

Handle g_init, g_ns, g_log, g_console, g_initfs;

void out(const char* text, size_t n) {
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

void printf_out(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void printf_out(const char* fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(text, sizeof text, fmt, args);
    va_end(args);
    out(text, n < sizeof text ? n : sizeof text - 1);
}

Handle lookup(const char* scheme) {
    proto::ns::Lookup::Request q{};
    copy_string(q.scheme, sizeof q.scheme, scheme);
    proto::ns::Lookup::Reply r;
    Handle h = kNoHandle;
    int64_t e = rpc::call<proto::ns::Lookup>(g_ns, q, &r, rpc::Extras{.received_handle = &h});
    return e == kOk ? h : kNoHandle;
}

// "scheme:path" -> the scheme's endpoint (looked up once, then kept) and the path.
bool resolve(const char* name, Handle* ep, const char** path, const char* command) {
    static struct {
        char scheme[32];
        Handle endpoint;
    } known[8];
    static int known_count = 0;
    const char* colon = strchr(name, ':');
    if (!colon) {
        printf_out("%s: %s: name a scheme, as in initfs:/bin\n", command, name);
        return false;
    }
    size_t n = static_cast<size_t>(colon - name);
    *path = colon + 1;
    for (int i = 0; i < known_count; ++i)
        if (strlen(known[i].scheme) == n && !strncmp(known[i].scheme, name, n)) return *ep = known[i].endpoint, true;
    char scheme[32];
    copy_string(scheme, n + 1 < sizeof scheme ? n + 1 : sizeof scheme, name);
    Handle h = lookup(scheme);
    if (h == kNoHandle) {
        printf_out("%s: %.*s: no such file scheme\n", command, static_cast<int>(n), name);
        return false;
    }
    if (known_count < 8) {
        copy_string(known[known_count].scheme, sizeof known[known_count].scheme, scheme);
        known[known_count++].endpoint = h;
    }
    *ep = h;
    return true;
}

void cmd_ls(const char* arg) {
    if (!arg || !strcmp(arg, ":")) {
        proto::ns::Schemes::Request q{};
        static proto::ns::Schemes::Reply r;
        if (rpc::call<proto::ns::Schemes>(g_ns, q, &r) != kOk) return;
        for (uint32_t i = 0; i < r.count; ++i) printf_out("%s:\n", r.names[i]);
        return;
    }
    Handle ep;
    const char* path;
    if (!resolve(arg, &ep, &path, "ls")) return;
    static proto::fs::ReadDir::Request q;
    copy_string(q.path, sizeof q.path, path);
    for (q.index = 0;; ++q.index) {
        proto::fs::ReadDir::Reply r{};
        int64_t e = rpc::call<proto::fs::ReadDir>(ep, q, &r);
        if (e == kErrNotFound && q.index > 0) break;
        if (e != kOk) {
            printf_out("ls: %s: %s\n", arg, error_name(e));
            break;
        }
        if (r.type == proto::fs::kDirectory) printf_out("%s/\n", r.name);
        else printf_out("%-32s %lu\n", r.name, r.size);
    }
}

void cmd_cat(const char* arg) {
    Handle ep;
    const char* path;
    if (!arg) {
        printf_out("cat: which file?\n");
        return;
    }
    if (!resolve(arg, &ep, &path, "cat")) return;
    static proto::fs::Read::Request q;
    static proto::fs::Read::Reply r;
    copy_string(q.path, sizeof q.path, path);
    q.length = sizeof r.data;
    for (q.offset = 0;; q.offset += r.size) {
        int64_t e = rpc::call<proto::fs::Read>(ep, q, &r);
        if (e < 0) {
            printf_out("cat: %s: %s\n", arg, error_name(e));
            return;
        }
        if (r.size == 0) return;
        out(r.data, r.size);
    }
}

const char* state_name(uint32_t s) {
    switch (s) {
        case kProcessCreated: return "created";
        case kProcessRunning: return "running";
        case kProcessDying: return "dying";
        default: return "dead";
    }
}

void cmd_ps() {
    proto::init::Ps::Request q{};
    static proto::init::Ps::Reply r;
    if (int64_t e = rpc::call<proto::init::Ps>(g_init, q, &r); e != kOk) {
        printf_out("ps: %s\n", error_name(e));
        return;
    }
    printf_out("  PID NAME         STATE       MEMORY     QUOTA  RESTARTS\n");
    for (uint32_t i = 0; i < r.count; ++i) {
        const proto::init::ServiceInfo& s = r.services[i];
        printf_out("%5lu %-12s %-8s %7lu K %7lu K  %u\n", s.pid, s.name, state_name(s.state), s.memory >> 10,
                   s.quota >> 10, s.restarts);
    }
}

void cmd_kill(const char* command, const char* arg, proto::init::KillHow how) {
    if (!arg) {
        printf_out("%s: which service?\n", command);
        return;
    }
    proto::init::Kill::Request q{};
    copy_string(q.name, sizeof q.name, arg);
    q.how = how;
    proto::init::Kill::Reply r;
    int64_t e = rpc::call<proto::init::Kill>(g_init, q, &r);
    if (e != kOk) printf_out("%s: %s: %s\n", command, arg, error_name(e));
}

void cmd_dmesg() {
    proto::log::Read::Request q{};
    static proto::log::Read::Reply r;
    for (;;) {
        if (rpc::call<proto::log::Read>(g_log, q, &r) != kOk || r.size == 0) return;
        out(r.text, r.size);
        q.offset = r.next;
    }
}

void cmd_mem() {
    SystemInfo s{};
    sys::system_info(&s);
    printf_out("memory: %lu KiB total, %lu KiB free, kernel heap %lu KiB in use\n", s.total_frames * 4,
               s.free_frames * 4, s.heap_bytes_used >> 10);
}

void cmd_date() {
    static Handle rtc = kNoHandle;
    if (rtc == kNoHandle) rtc = lookup("rtc");
    proto::rtc::Now::Request q{};
    proto::rtc::Now::Reply r{};
    int64_t e = rtc == kNoHandle ? kErrNotFound : rpc::call<proto::rtc::Now>(rtc, q, &r);
    if (e != kOk) {
        printf_out("date: %s\n", error_name(e));
        return;
    }
    printf_out("%04u-%02u-%02u %02u:%02u:%02u UTC\n", r.year, r.month, r.day, r.hour, r.minute, r.second);
}

void cmd_uptime() {
    uint64_t ns = static_cast<uint64_t>(sys::clock_monotonic());
    printf_out("up %lu.%03lu s\n", ns / 1'000'000'000, ns / 1'000'000 % 1000);
}

// A program from initfs:/bin, run to its end.
bool run_program(const char* name, const char* args) {
    static char path[proto::fs::kPathMax];
    format_to(path, sizeof path, "bin/%s", name);
    proto::fs::Stat::Request sq{};
    copy_string(sq.path, sizeof sq.path, path);
    proto::fs::Stat::Reply sr;
    if (rpc::call<proto::fs::Stat>(g_initfs, sq, &sr) != kOk || sr.type != proto::fs::kFile) return false;
    static uint8_t image[1 << 20];
    if (sr.size > sizeof image) {
        printf_out("%s: too large to load\n", name);
        return true;
    }
    static proto::fs::Read::Request q;
    static proto::fs::Read::Reply r;
    copy_string(q.path, sizeof q.path, path);
    q.length = sizeof r.data;
    for (q.offset = 0; q.offset < sr.size; q.offset += r.size) {
        if (rpc::call<proto::fs::Read>(g_initfs, q, &r) <= 0) {
            printf_out("%s: cannot read\n", name);
            return true;
        }
        memcpy(image + q.offset, r.data, r.size);
    }
    // Programs get what the shell has of the namespace and the log (and so
    // the same schemes), at the indices services find them; not init's control.
    const Handle handles[] = {kNoHandle, g_ns, kNoHandle, kNoHandle, g_log};
    SpawnOptions o{.name = name, .cmdline = args ? args : "", .quota = 4 << 20, .priority = 15,
                   .handles = handles, .handle_count = 5};
    int64_t p = spawn(image, sr.size, o);
    if (p < 0) {
        printf_out("%s: cannot start: %s\n", name, error_name(p));
        return true;
    }
    int64_t status = 0;
    sys::process_wait(static_cast<Handle>(p), kWaitForever, &status);
    sys::handle_close(static_cast<Handle>(p));
    if (status != 0) printf_out("%s: exit status %ld\n", name, status);
    return true;
}

void help() {
    printf_out(
        "commands:\n"
        "  help              this text\n"
        "  echo WORDS        print WORDS\n"
        "  ls [SCHEME:PATH]  list a directory (no argument, or ':': the schemes)\n"
        "  cat SCHEME:PATH   print a file\n"
        "  ps                the services: pid, state, memory, restarts\n"
        "  kill NAME         end a service (init restarts it)\n"
        "  crash NAME        make a service fault (init restarts it)\n"
        "  hang NAME         make a service stop answering (init notices, restarts it)\n"
        "  dmesg             the system log\n"
        "  uptime, mem       time since boot; memory\n"
        "  lspci             the PCI devices (ls pci:)\n"
        "  date              the time of day (from the real-time clock)\n"
        "  poweroff          end the system\n"
        "  NAME [ARGS]       run initfs:/bin/NAME\n");
}

void execute(char* line) {
    while (*line == ' ') ++line;
    char* args = strchr(line, ' ');
    if (args) {
        *args++ = '\0';
        while (*args == ' ') ++args;
        if (!*args) args = nullptr;
    }
    if (!*line) return;
    if (!strcmp(line, "help")) help();
    else if (!strcmp(line, "echo")) printf_out("%s\n", args ? args : "");
    else if (!strcmp(line, "ls")) cmd_ls(args);
    else if (!strcmp(line, "cat")) cmd_cat(args);
    else if (!strcmp(line, "ps")) cmd_ps();
    else if (!strcmp(line, "kill")) cmd_kill(line, args, proto::init::kKill);
    else if (!strcmp(line, "crash")) cmd_kill(line, args, proto::init::kCrash);
    else if (!strcmp(line, "hang")) cmd_kill(line, args, proto::init::kHang);
    else if (!strcmp(line, "dmesg")) cmd_dmesg();
    else if (!strcmp(line, "mem")) cmd_mem();
    else if (!strcmp(line, "uptime")) cmd_uptime();
    else if (!strcmp(line, "lspci")) cmd_ls("pci:");
    else if (!strcmp(line, "date")) cmd_date();
    else if (!strcmp(line, "poweroff")) {
        proto::init::Poweroff::Request q{0};
        proto::init::Poweroff::Reply r;
        int64_t e = rpc::call<proto::init::Poweroff>(g_init, q, &r);
        printf_out("poweroff: %s\n", error_name(e));
    } else if (!run_program(line, args)) {
        printf_out("%s: no such command (try 'help')\n", line);
    }
}

}  // namespace

int main() {
    const StartupInfo& info = startup();
    if (info.handle_count < 6) return 1;
    g_ns = info.handles[1];
    g_log = info.handles[4];
    g_init = info.handles[5];
    g_console = lookup("console");
    g_initfs = lookup("initfs");
    if (g_console == kNoHandle) return 1;
    cmd_cat("initfs:/etc/motd");
    static proto::console::ReadLine::Reply r;
    for (;;) {
        printf_out("mica> ");
        proto::console::ReadLine::Request q{};
        int64_t e = rpc::call<proto::console::ReadLine>(g_console, q, &r);
        if (e != kOk) continue;
        if (r.eof) {
            printf_out("(end of input)\n");
            continue;
        }
        if (r.interrupted) continue;
        char line[sizeof r.data + 1];
        memcpy(line, r.data, r.size);
        line[r.size] = '\0';
        execute(line);
    }
}
