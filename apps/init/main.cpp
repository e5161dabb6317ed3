// The first process, for now: says that user space runs and what the kernel
// handed it, then ends (and with it the system). The real init — boot
// manifest, services, supervision — replaces it with the user-space issue.
#include "mica/runtime.h"

int main() {
    const mica::StartupInfo& info = mica::startup();
    mica::SystemInfo system{};
    mica::sys::system_info(&system);
    mica::print("init: running in user space; %u boot modules, %lu MiB of memory free\n",
                info.module_count, system.free_frames * mica::kPageSize >> 20);
    mica::print("init: nothing else to start yet; exiting\n");
    return 0;
}
