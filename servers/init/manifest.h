// init's configuration model: the boot manifest (system/etc/manifest) read
// into one ServiceSpec per service line, and the extra grants of programs
// the shell starts (`program` lines). What a line says is fixed for the life
// of the system; what init holds and runs for a service lives elsewhere
// (service.h). Pure: no system calls, so the parser is tested on the host
// (tests/host/manifest_test.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mica/types.h"

namespace init {

constexpr uint32_t kMaxGrants = 3;      // dma= and resource= per service
constexpr uint32_t kMaxPortRanges = 2;  // ports=BASE:COUNT[,BASE:COUNT]
constexpr size_t kUsesBytes = 96;

struct Grant {
    mica::ResourceKind kind;  // kResourceDma: contiguous memory of `size` bytes
    uint64_t base, size;
};

struct PortRange {
    uint32_t base, count;
};

// A comma-separated list of scheme names (uses=).
struct SchemeList {
    char text[kUsesBytes] = "";
    bool contains(const char* scheme) const;
    // fn(name, length) for each scheme, in order.
    template <class F>
    void for_each(F fn) const {
        for (const char* p = text; *p;) {
            const char* end = p;
            while (*end && *end != ',') ++end;
            if (end > p) fn(p, static_cast<size_t>(end - p));
            p = *end ? end + 1 : end;
        }
    }
};

// One `service NAME PROGRAM key=value...` line.
struct ServiceSpec {
    char name[32] = "";
    char program[64] = "";
    char provides[32] = "";  // the scheme it serves, if any
    SchemeList uses;         // schemes it may look up
    char module[32] = "";    // a boot module it gets, read-only
    PortRange ports[kMaxPortRanges] = {};
    uint64_t mmio_base = 0, mmio_size = 0;
    int irq = -1;
    bool pci = false;  // device=VVVV:DDDD[:N]
    uint16_t pci_vendor = 0, pci_device = 0;
    uint32_t pci_instance = 0;
    Grant grants[kMaxGrants] = {};
    uint32_t grant_count = 0;
    bool control = false;  // may use init's control protocol
    bool restart = true;
    uint64_t quota = 4096 * 1024;
    bool quota_rest = false;  // quota=rest:KIB: what is left when it starts, at most `quota`
};

// One `program NAME uses=... control=yes` line: what a program the shell
// starts gets beyond the default (see programs.h in the shell).
struct ProgramSpec {
    char name[32] = "";
    SchemeList uses;
    bool control = false;
};

struct Manifest {
    static constexpr uint32_t kMaxServices = 16, kMaxPrograms = 8;
    ServiceSpec services[kMaxServices];
    uint32_t service_count = 0;
    ProgramSpec programs[kMaxPrograms];
    uint32_t program_count = 0;
};

// Called for each line that cannot be used (it is skipped): its number and why.
using ManifestError = void (*)(void* context, int line, const char* why);

// Reads the manifest `text` (`size` bytes; need not end in a NUL). Lines
// are `service ...` or `program ...`; `#` starts a comment. Returns the
// number of lines skipped as malformed.
int parse_manifest(const char* text, size_t size, Manifest* out, ManifestError error, void* context);

}  // namespace init
