// The first process. The kernel loads exactly one program itself — the boot
// module the command line names (`init=`, default "init") — and gives it
// every initial capability: itself, the root resource, and each boot module
// as a read-only memory object. All later processes are made by user space.
#include "init_process.h"

#include <new>

#include "cmdline.h"
#include "klog.h"
#include "lib/elf.h"
#include "lib/string.h"
#include "memory.h"
#include "memory_object.h"
#include "mica/startup.h"
#include "process.h"
#include "resource.h"

using namespace mica;

namespace {

constexpr uintptr_t kStackTop = 0x0000'7fff'ffff'0000;
constexpr size_t kStackBytes = 256 * 1024;
// Never promised to user space: an eighth of memory, 2 to 16 MiB (what the
// kernel spends for processes is charged to their quotas; this is for the
// rest, such as heap fragmentation).
uint64_t kernel_reserve(uint64_t available) {
    uint64_t r = available / 8;
    return r < (2ULL << 20) ? 2ULL << 20 : r > (16ULL << 20) ? 16ULL << 20 : r;
}
constexpr int kInitPriority = 16;
constexpr uint32_t kModuleRights = kRightRead | kRightExecute | kRightMap | kRightTransfer | kRightDuplicate;

void copy_name(char* dst, size_t size, const char* src) {
    size_t i = 0;
    for (; src[i] && i + 1 < size; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

int64_t load_segments(Process& p, const uint8_t* file, const ElfImage& image) {
    for (size_t i = 0; i < image.segment_count; ++i) {
        const ElfSegment& s = image.segments[i];
        uintptr_t start = s.vaddr & ~(arch::kPageSize - 1);
        size_t size = (s.vaddr + s.memsz - start + arch::kPageSize - 1) & ~(arch::kPageSize - 1);
        Ref<MemoryObject> m;
        if (int64_t e = MemoryObject::create(MemoryObject::Kind::anonymous, size, p.quota(), &m)) return e;
        m->write(s.vaddr - start, file + s.offset, s.filesz);
        if (int64_t e = p.address_space().map(start, m, 0, size, s.perms, kVmRead | kVmWrite | kVmExec))
            return e;
    }
    return kOk;
}

const char* start(const BootInfo& boot, const char* program, UserImage* user) {
    const BootModule* module = nullptr;
    for (size_t i = 0; i < boot.module_count; ++i)
        if (str_equal(boot.modules[i].name, strlen(boot.modules[i].name), program)) module = &boot.modules[i];
    if (!module) return "no boot module of that name";
    const auto* file = phys_to_virt<const uint8_t>(module->phys_start);
    ElfImage image;
    if (const char* error = elf_parse(file, module->phys_end - module->phys_start,
                                      AddressSpace::kLowest, kUserTop, image))
        return error;

    uint64_t available = frames().free_frames() * arch::kPageSize;
    uint64_t reserve = kernel_reserve(available);
    if (available < reserve + (4ULL << 20)) return "too little memory";
    Ref<Process> p;
    if (Process::create(program, strlen(program), nullptr, available - reserve, &p))
        return "cannot create the process";
    if (load_segments(*p, file, image)) return "cannot load the program";

    Ref<MemoryObject> stack;
    if (MemoryObject::create(MemoryObject::Kind::anonymous, kStackBytes, p->quota(), &stack) ||
        p->address_space().map(kStackTop - kStackBytes, stack, 0, kStackBytes, kVmRead | kVmWrite,
                                kVmRead | kVmWrite))
        return "cannot make the stack";

    StartupInfo info{};
    info.magic = kStartupMagic;
    Ref<Resource> resource(new (std::nothrow) Resource(kResourceRoot, 0, 0));
    if (!resource) return "out of memory";
    int64_t self = p->handles().add(p.get(), kRightsAll, p->quota());
    int64_t root = p->handles().add(resource.get(), kRightsAll, p->quota());
    if (self < 0 || root < 0) return "cannot make the first handles";
    info.self_process = static_cast<Handle>(self);
    info.resource = static_cast<Handle>(root);
    for (size_t i = 0; i < boot.module_count && i < 16; ++i) {
        const BootModule& b = boot.modules[i];
        Ref<MemoryObject> m;
        if (b.phys_start % arch::kPageSize) {
            log_warn("init: boot module '%s' is not page-aligned; not passed on", b.name);
            continue;
        }
        if (MemoryObject::create(MemoryObject::Kind::physical, b.phys_end - b.phys_start, p->quota(), &m,
                                 b.phys_start))
            return "cannot pass the boot modules";
        int64_t h = p->handles().add(m.get(), kModuleRights, p->quota());
        if (h < 0) return "cannot pass the boot modules";
        BootModuleInfo& out = info.modules[info.module_count++];
        copy_name(out.name, sizeof out.name, b.name);
        out.memory = static_cast<Handle>(h);
        out.size = b.phys_end - b.phys_start;
    }
    copy_name(info.cmdline, sizeof info.cmdline, cmdline_user_part(boot.cmdline));

    Ref<Thread> thread;
    uintptr_t info_address = (kStackTop - sizeof(StartupInfo)) & ~15ULL;
    if (Thread::create_user(*p, image.entry, info_address, info_address, kInitPriority, &thread))
        return "cannot create the first thread";
    int64_t th = p->handles().add(thread.get(), kRightsAll, p->quota());
    if (th < 0) return "cannot make the first handles";
    info.self_thread = static_cast<Handle>(th);
    stack->write(info_address - (kStackTop - kStackBytes), &info, sizeof info);
    p->add_thread(thread.get());
    p->start_thread(thread.get());
    *user = UserImage{p->address_space().tables(), image.entry, kStackTop};
    log_info("init: started '%s' (pid %lu), %lu KiB quota", program, p->pid(), p->quota().limit() >> 10);
    return nullptr;
}

}  // namespace

bool start_init_process(const BootInfo& boot, const char* program, UserImage* image) {
    if (const char* error = start(boot, program, image)) {
        log_error("init: cannot start '%s': %s", program, error);
        return false;
    }
    return true;
}
