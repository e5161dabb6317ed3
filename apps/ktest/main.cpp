// ktest: the kernel's in-OS test suite. Runs as the first process (boot with
// `init=ktest`), so it holds the initial capabilities; `test=NAME` picks one
// test, otherwise all run. Prints one line per test and a summary; exits 0
// only if every check passed (the kernel powers off with that status).
#include "format.h"
#include "ktest.h"
#include "mica/process.h"
#include "string.h"
#include "mica/strings.h"

namespace ktest {

int g_failures = 0;

void fail(const char* file, int line, const char* what, int64_t got, int64_t want) {
    ++g_failures;
    mica::print("  FAILED %s:%d: %s (got %ld '%s', want %ld '%s')\n", file, line, what, got,
                mica::error_name(got), want, mica::error_name(want));
}

mica::Handle made(const mica::HandleResult& r, const char* file, int line, const char* what) {
    if (!r.ok()) fail(file, line, what, r.error(), mica::kOk);
    return r.value();
}

int64_t spawn_child(const char* mode, const mica::Handle* handles, uint32_t count, uint64_t quota) {
    static const void* elf = nullptr;
    static size_t size = 0;
    static mica::Handle image = mica::kNoHandle;  // read-only segments mapped from the module
    if (!elf && !mica::map_boot_module("ktest_child", &elf, &size, &image)) return mica::kErrNotFound;
    char cmdline[64];
    format_to(cmdline, sizeof cmdline, "mode=%s", mode);
    mica::SpawnOptions options{.name = "ktest_child", .cmdline = cmdline, .quota = quota,
                               .handles = handles, .handle_count = count, .image = image};
    return mica::spawn(elf, size, options);
}

int64_t wait_child(int64_t process) {
    if (process < 0) return process;
    int64_t status = 0;
    auto h = static_cast<mica::Handle>(process);
    int64_t e = mica::sys::process_wait(h, mica::kWaitForever, &status);
    mica::sys::handle_close(h);
    return e == mica::kOk ? status : e;
}

int64_t run_child_and_kill(const char* mode, int64_t status) {
    int64_t process = spawn_child(mode);
    if (process < 0) return process;
    auto h = static_cast<mica::Handle>(process);
    mica::sys::thread_yield();  // let it get going (or blocked)
    int64_t e = mica::sys::process_kill(h, status);
    int64_t result = 0;
    if (e == mica::kOk) e = mica::sys::process_wait(h, mica::kWaitForever, &result);
    mica::sys::handle_close(h);
    return e == mica::kOk ? result : e;
}

int64_t run_child(const char* mode, uint64_t quota) { return wait_child(spawn_child(mode, nullptr, 0, quota)); }

Usage usage() {
    mica::SystemInfo info{};
    mica::sys::system_info(&info);
    return Usage{info.free_frames, info.heap_bytes_used};
}

void expect_no_leak(const Usage& before, const char* file, int line) {
    // Threads that ended (at any priority) are reaped when the next switch runs.
    mica::sys::thread_sleep(20'000'000);
    Usage after = usage();
    if (after.free_frames != before.free_frames)
        fail(file, line, "free frames back to where they were", static_cast<int64_t>(after.free_frames),
             static_cast<int64_t>(before.free_frames));
    if (after.heap_bytes != before.heap_bytes)
        fail(file, line, "kernel heap back to where it was", static_cast<int64_t>(after.heap_bytes),
             static_cast<int64_t>(before.heap_bytes));
}

}  // namespace ktest

// The records KTEST put in the `ktests` section (the linker names its ends).
extern "C" const ktest::Test __start_ktests[], __stop_ktests[];

namespace {
bool equal(const char* a, const char* b, size_t n) { return strlen(a) == n && memcmp(a, b, n) == 0; }

// `test=` names a family ("ipc") or one test ("ipc.badges"); empty: all.
bool selected(const ktest::Test& t, const char* only) {
    if (!only[0]) return true;
    const char* dot = strchr(only, '.');
    if (!dot) return equal(t.family, only, strlen(only));
    return equal(t.family, only, static_cast<size_t>(dot - only)) && equal(t.name, dot + 1, strlen(dot + 1));
}
}  // namespace

int main() {
    char only[64] = "";
    mica::cmdline_value("test", only, sizeof only);
    int passed = 0, failed = 0;
    for (const ktest::Test* t = __start_ktests; t != __stop_ktests; ++t) {
        if (!selected(*t, only)) continue;
        int before = ktest::g_failures;
        mica::print("ktest: %s.%s ...\n", t->family, t->name);
        t->run();
        bool ok = ktest::g_failures == before;
        mica::print("ktest: %s.%s %s\n", t->family, t->name, ok ? "ok" : "FAILED");
        ok ? ++passed : ++failed;
    }
    if (passed + failed == 0) {
        mica::print("ktest: no test named '%s'\n", only);
        return 2;
    }
    mica::print("ktest: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
