#include "device.h"

#include "arch.h"

namespace {
IrqLine* g_lines[arch::kIrqLines];
}

IrqLine* IrqLine::lookup(unsigned irq) { return irq < arch::kIrqLines ? g_lines[irq] : nullptr; }

bool IrqLine::claim() {
    if (g_lines[irq]) return false;
    g_lines[irq] = this;
    return true;
}

IrqLine::~IrqLine() {
    if (g_lines[irq] == this) {
        arch::irq_set_masked(irq, true);
        g_lines[irq] = nullptr;
    }
}

void irq_fired(unsigned irq) {
    if (IrqLine* line = IrqLine::lookup(irq)) line->notification->signal(line->bits);
}
