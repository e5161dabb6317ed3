// Device system calls: narrower resources, I/O port ranges and interrupt
// lines (created only inside a resource's range), granting ports to a
// process, acknowledging interrupts.
#include <new>

#include "arch.h"
#include "device.h"
#include "lib/checked.h"
#include "process.h"
#include "resource.h"
#include "syscalls.h"

using namespace mica;

int64_t sys_resource_create(Handle parent, uint32_t kind, uint64_t base, uint64_t size) {
    Process& self = current_process();
    Ref<Resource> r;
    if (int64_t e = self.get(parent, kRightManage, &r)) return e;
    if (kind < kResourceMmio || kind > kResourceDma) return kErrInvalidArgument;
    if (kind == kResourceDma) base = size = 0;
    else if (uint64_t end; size == 0 || !checked_add(base, size, &end)) return kErrInvalidArgument;
    if (!r->allows(static_cast<ResourceKind>(kind), base, size)) return kErrAccessDenied;
    return self.create_object<Resource>(static_cast<ResourceKind>(kind), base, size);
}

int64_t sys_io_ports_create(Handle resource, uint32_t base, uint32_t count) {
    Process& self = current_process();
    Ref<Resource> r;
    if (int64_t e = self.get(resource, kRightManage, &r)) return e;
    if (count == 0 || base >= arch::kIoPortCount || count > arch::kIoPortCount - base) return kErrInvalidArgument;
    if (!r->allows(kResourceIoPorts, base, count)) return kErrAccessDenied;
    return self.create_object<IoPortRange>(base, count);
}

int64_t sys_io_ports_grant(Handle process, Handle ports) {
    Process& self = current_process();
    Ref<Process> target;
    if (int64_t e = self.get(process, kRightManage, &target)) return e;
    Ref<IoPortRange> range;
    if (int64_t e = self.get(ports, kRightWrite, &range)) return e;
    if (!target->alive()) return kErrBadState;
    if (int64_t e = target->allow_io_ports(range->base, range->count)) return e;
    if (target.get() == &self) arch::set_io_permissions(self.io_bitmap(), self.io_owner_id());
    return kOk;
}

int64_t sys_irq_create(Handle resource, uint32_t irq, uint32_t flags, Handle notification, uint64_t bits) {
    Process& self = current_process();
    Ref<Resource> r;
    if (int64_t e = self.get(resource, kRightManage, &r)) return e;
    Ref<Notification> n;
    if (int64_t e = self.get(notification, kRightSignal, &n)) return e;
    if (irq >= arch::kIrqLines || bits == 0 || (bits & ~Notification::kBitsMask) || flags > kIrqLevel)
        return kErrInvalidArgument;
    if (!r->allows(kResourceIrq, irq, 1)) return kErrAccessDenied;
    Charge charge(self.quota(), sizeof(IrqLine));
    if (!charge) return kErrQuotaExceeded;
    Ref<IrqLine> line(new (std::nothrow) IrqLine(irq, n.get(), bits, flags == kIrqLevel));
    if (!line) return kErrNoMemory;
    if (!line->claim()) return kErrAlreadyExists;
    if (!arch::irq_route(irq, flags == kIrqLevel)) return kErrNoMemory;
    int64_t h = self.handles().add(line.get(), IrqLine::kDefaultRights, self.quota());
    if (h < 0) return h;
    line->charge_to(self.quota(), sizeof(IrqLine));
    charge.commit();
    line->ack();  // unmasked unless a line it shares the IRQ with awaits an ack
    return h;
}

int64_t sys_irq_ack(Handle irq) {
    Ref<IrqLine> line;
    if (int64_t e = current_process().get(irq, kRightWrite, &line)) return e;
    line->ack();
    return kOk;
}
