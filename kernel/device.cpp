#include "device.h"

#include "arch.h"

namespace {
IrqLine* g_lines[arch::kIrqLines];
}

bool IrqLine::claim() {
    for (IrqLine* l = g_lines[irq]; l; l = l->next)
        if (!l->level || !level) return false;
    next = g_lines[irq];
    g_lines[irq] = this;
    return true;
}

void IrqLine::ack() {
    pending = false;
    for (IrqLine* l = g_lines[irq]; l; l = l->next)
        if (l->pending) return;
    arch::irq_set_masked(irq, false);
}

IrqLine::~IrqLine() {
    for (IrqLine** at = &g_lines[irq]; *at; at = &(*at)->next) {
        if (*at != this) continue;
        *at = next;
        if (!g_lines[irq]) arch::irq_set_masked(irq, true);
        else if (pending) ack();  // the others may be waiting for this one
        return;
    }
}

void irq_fired(unsigned irq) {
    for (IrqLine* l = irq < arch::kIrqLines ? g_lines[irq] : nullptr; l; l = l->next) {
        l->pending = true;
        l->notification->signal(l->bits);
    }
}
