// C++ start-up for ring-3 programs: run global constructors, call main, exit
// with its status.
#include "mica/runtime.h"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[] __attribute__((weak));
extern Constructor __init_array_end[] __attribute__((weak));
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void __cxa_pure_virtual() { mica::exit(-1); }
}

int main();

mica::Handle mica::service_endpoint(const char* name) {
    Handle h = startup_handle(kSlotEndpoint);
    if (h != kNoHandle) return h;
    print("%s: a service, started by init from the manifest; not a command\n", name);
    exit(2);
}

namespace {
const mica::StartupInfo* g_startup = nullptr;
const mica::StartupInfo g_empty{};
}  // namespace

const mica::StartupInfo& mica::startup() { return g_startup ? *g_startup : g_empty; }

extern "C" [[noreturn]] void mica_start(const mica::StartupInfo* info) {
    if (info && info->magic == mica::kStartupMagic) g_startup = info;
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c) (*c)();
    mica::exit(main());
}
