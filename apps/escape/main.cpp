// escape: a program that tries to reach what it was not given, for the
// isolation tests. Run from the shell it has the shell's namespace rights
// and nothing else; every attempt must be refused (an error) or end the
// attempting process (a fault). Faulting attempts run in child processes
// (this same program, loaded again, with role=NAME).
#include "format.h"
#include "mica/files.h"
#include "mica/ports.h"
#include "mica/process.h"
#include "mica/rpc.h"
#include "mica/strings.h"
#include "mica/words.h"
#include "proto/ns.h"

using namespace mica;

namespace {

int g_refused = 0, g_failures = 0, g_unchecked = 0;

void expect(bool refused, const char* what) {
    if (refused) {
        ++g_refused;
    } else {
        ++g_failures;
        print("escape: NOT refused: %s\n", what);
    }
}

// The attempts that can only end in a fault.
int attempt(const char* role) {
    if (!strcmp(role, "keyboard_port")) ports::out8(0x64, 0xfe);  // would reset the machine
    if (!strcmp(role, "serial_port")) return ports::in8(0x3f8);
    if (!strcmp(role, "pci_port")) ports::out32(0xcf8, 0x80000000);
    if (!strcmp(role, "kernel_memory")) *reinterpret_cast<volatile uint64_t*>(0xffff'8000'0000'0000ULL) = 0;
    if (!strcmp(role, "interrupts_off")) asm volatile("cli");
    return 0;  // still here: the attempt worked
}

}  // namespace

int main() {
    Words args(startup().cmdline);
    if (!args.accepts("role", 0, 0, "escape")) return 2;
    const char* role = args.value("role", nullptr);
    if (role) return attempt(role);

    // Load ourselves again for the attempts that fault.
    files::Name self;
    static uint8_t image[256 * 1024];
    uint64_t size = 0;
    if (files::resolve("initfs:/bin/escape", "file:/", &self) == kOk)
        for (int64_t got; (got = files::read(self, size, image + size, sizeof image - size)) > 0;) size += got;
    const char* faulting[] = {"keyboard_port", "serial_port", "pci_port", "kernel_memory", "interrupts_off"};
    for (const char* r : faulting) {
        char cmdline[64];
        format_to(cmdline, sizeof cmdline, "role=%s", r);
        SpawnOptions o{.name = "escapee", .cmdline = cmdline, .quota = 1 << 20, .priority = 10};
        int64_t p = spawn(image, size, o);
        int64_t status = 0;
        if (p >= 0) sys::process_wait(static_cast<Handle>(p), kWaitForever, &status);
        expect(p >= 0 && status <= kExitFaultBase, r);
        print("escape: %s: %s\n", r, p < 0 ? error_name(p) : status <= kExitFaultBase ? "ended by a fault" : "ALLOWED");
    }

    // Privileged creation needs a resource we do not have: forged handles fail.
    const Handle forgeries[] = {1, 0x12345, 0xffffffff};
    for (Handle forged : forgeries) {
        expect(!sys::memory_create_physical(forged, 0xb8000, kPageSize).ok(), "device memory from a forged handle");
        expect(!sys::io_ports_create(forged, 0x60, 1).ok(), "I/O ports from a forged handle");
        expect(!sys::irq_create(forged, 1, kIrqEdge, forged, 1).ok(), "an interrupt from a forged handle");
        uint64_t phys;
        expect(!sys::memory_create_contiguous(forged, kPageSize, &phys).ok(), "DMA memory from a forged handle");
        expect(sys::system_poweroff(forged, 0) < 0, "power off");
    }
    // Rights never grow.
    auto m = sys::memory_create(kPageSize);
    auto weak = m.ok() ? sys::handle_duplicate(m.value(), kRightRead | kRightDuplicate) : m;
    if (weak.ok()) {
        auto again = sys::handle_duplicate(weak.value(), kRightsAll);
        HandleInfo info{};
        expect(!again.ok() || (sys::handle_info(again.value(), &info) == kOk && !(info.rights & kRightWrite)),
               "a duplicate with more rights");
        expect(sys::vm_map(startup().self_process, 0x5000'0000, weak.value(), 0, kPageSize, kVmRead | kVmWrite) < 0,
               "a writable mapping through a read-only handle");
    } else {
        // Not an escape, but not a pass either.
        ++g_unchecked;
        print("escape: no memory object to check rights with (%s)\n", error_name(weak.error()));
    }
    // A program started from the shell has only what every program gets
    // (file, initfs, console, rtc, log): never the disk under the file
    // server, the devices, the namespace's own scheme, or init's control,
    // even though the shell itself may have some of them.
    const char* const kNotGiven[] = {"disk", "pci", "screen", "keyboard", "ns"};
    for (const char* scheme : kNotGiven) {
        proto::ns::Lookup::Request q{};
        copy_string(q.scheme, sizeof q.scheme, scheme);
        proto::ns::Lookup::Reply r;
        Handle h = kNoHandle;
        int64_t e = rpc::call<proto::ns::Lookup>(startup_handle(kSlotNamespace), q, &r,
                                                 rpc::Extras{.received_handle = &h});
        char what[64];
        format_to(what, sizeof what, "looking up %s, which programs are not given", scheme);
        expect(e == kErrAccessDenied, what);
    }
    expect(startup_handle(kSlotControl) == kNoHandle, "a handle to init's control protocol");
    // Nor can it give itself more: a delegation asks for what its maker may
    // use, and a `program` grant is only for the shell to pass on.
    proto::ns::Delegate::Request dq{};
    copy_string(dq.program, sizeof dq.program, "probe");
    copy_string(dq.schemes, sizeof dq.schemes, "disk,pci,file");
    proto::ns::Delegate::Reply dr;
    Handle sub_ns = kNoHandle;
    if (rpc::call<proto::ns::Delegate>(startup_handle(kSlotNamespace), dq, &dr,
                                       rpc::Extras{.received_handle = &sub_ns}) == kOk) {
        proto::ns::Lookup::Request q{};
        copy_string(q.scheme, sizeof q.scheme, "disk");
        proto::ns::Lookup::Reply r;
        Handle h = kNoHandle;
        expect(rpc::call<proto::ns::Lookup>(sub_ns, q, &r, rpc::Extras{.received_handle = &h}) == kErrAccessDenied,
               "the disk through a delegation it made itself, naming a program with a grant");
        expect(!dr.control, "init's control through a delegation it made itself");
    }
    print("escape: %d attempts refused, %d allowed%s\n", g_refused, g_failures,
          g_unchecked ? ", some not checked" : "");
    return g_failures || g_unchecked ? 1 : 0;
}
