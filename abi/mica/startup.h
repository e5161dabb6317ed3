// What a process finds when its first thread starts: RDI points at this
// block (on its initial stack, for the first process; wherever its creator
// put it otherwise).
#pragma once

#include "mica/types.h"

namespace mica {

constexpr uint64_t kStartupMagic = 0x4d49434153544152;  // "MICASTAR"

// StartupInfo::handles, by slot. Init fills them for each service from its
// manifest line (servers/init/launch.cpp); the shell gives a program it
// starts the namespace and the log, badged as that program, and nothing
// else unless the manifest grants it (a `program` line). An empty slot is
// kNoHandle. A service finds its capabilities here, never by a bare number.
enum StartupSlot : uint32_t {
    kSlotEndpoint = 0,       // the service's own endpoint, to receive on (provides=)
    kSlotNamespace = 1,      // the namespace server (ns), badged as this process
    kSlotModule = 2,         // its boot module, read-only (module=)
    kSlotIrq = 3,            // its interrupt line, to acknowledge (irq=, or its PCI device's)
    kSlotLog = 4,            // the log server, badged as this process
    kSlotControl = 5,        // init's control protocol, badged (control=yes)
    kSlotDeviceMemory = 6,   // its device memory (mmio=); for a PCI device, BAR0
    kSlotBar0 = 6,           // device=: BARs 0..5 (device memory or I/O ports): kSlotBar0 + n
    kSlotDeviceConfig = 12,  // device=: a read-only copy of its configuration space
    kSlotResource0 = 13,     // dma= memory and resource= grants, in manifest order: kSlotResource0 + n
};
constexpr uint32_t kSlotBarCount = 6, kSlotResourceCount = 3;
constexpr uint32_t kMaxStartupHandles = 16;
constexpr uint32_t kLineMax = 4095;        // a typed line, as Linux's canonical terminal mode allows
constexpr uint32_t kCmdlineBytes = 4608;   // a line, with room for the shell's cwd= in front

// Badges init gives. A client's badge on a service's endpoint is the
// client service's index in the manifest plus 1 (what ns and the log use to
// tell services apart); init's own calls to a service carry
// kSupervisorBadge; the fault handler init gives each service's threads
// carries the service's badge with kFaultBadgeBit set.
constexpr uint64_t kSupervisorBadge = 0x5'0000'0000;
constexpr uint64_t kFaultBadgeBit = 0x1000;

// A delegated badge: what ns gives a program a service starts (its Delegate
// operation), so that the program has an identity of its own and only the
// rights given to it. It names the service at its root (whose badge it
// was delegated from, perhaps through other programs), the manifest
// `program` line that granted it more (1-based; 0: the default only), and a
// serial number.
constexpr uint64_t kDelegatedBadgeBit = 1ULL << 40;
constexpr uint64_t delegated_badge(uint64_t root, uint64_t grant, uint64_t serial) {
    return kDelegatedBadgeBit | (grant & 0xff) << 32 | (root & 0xffff) << 16 | (serial & 0xffff);
}
constexpr bool is_delegated(uint64_t badge) { return badge & kDelegatedBadgeBit; }
constexpr uint64_t badge_root(uint64_t badge) { return is_delegated(badge) ? (badge >> 16) & 0xffff : badge; }
constexpr uint64_t badge_grant(uint64_t badge) { return is_delegated(badge) ? (badge >> 32) & 0xff : 0; }

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
    // Its arguments: for the first process, what follows `--` on the kernel
    // command line; for a program, what its creator passed (the shell: cwd=
    // and a typed line of up to 4,095 bytes, never cut).
    char cmdline[kCmdlineBytes];
};

}  // namespace mica
