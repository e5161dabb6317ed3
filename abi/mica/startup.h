// What a process finds when its first thread starts: RDI points at this
// block (on its initial stack, for the first process; wherever its creator
// put it otherwise).
#pragma once

#include "mica/types.h"

namespace mica {

constexpr uint64_t kStartupMagic = 0x4d49434153544152;  // "MICASTAR"
constexpr uint32_t kMaxStartupHandles = 16;

struct BootModuleInfo {
    char name[32];
    Handle memory;  // read-only memory object holding the module
    uint32_t reserved;
    uint64_t size;
};

struct StartupInfo {
    uint64_t magic;
    Handle self_process;
    Handle self_thread;
    Handle resource;  // only the first process gets the root resource
    uint32_t module_count;
    BootModuleInfo modules[16];
    uint32_t handle_count;  // handles the creator chose to pass on
    Handle handles[kMaxStartupHandles];
    char cmdline[256];  // the first process's arguments (from the kernel command line)
};

}  // namespace mica
