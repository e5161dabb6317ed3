// Device access for user-space drivers: I/O port ranges and interrupt lines.
// Both are created only through the root resource; a driver receives handles
// to exactly what its manifest entry grants.
#pragma once

#include "notification.h"
#include "object.h"

class IoPortRange final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::io_ports;
    static constexpr uint32_t kDefaultRights = mica::kRightWrite | mica::kRightDuplicate | mica::kRightTransfer;
    IoPortRange(uint32_t base, uint32_t count) : KObject(kType), base(base), count(count) {}
    const uint32_t base, count;
};

// A legacy interrupt line bound to notification bits. When the interrupt
// arrives the line is masked and the bits are signalled; irq_ack unmasks it.
// Level-triggered lines may share an IRQ (PCI INTx: devices on one pin):
// every holder is signalled, and the IRQ is unmasked once all have acked.
class IrqLine final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::irq_line;
    static constexpr uint32_t kDefaultRights = mica::kRightWrite | mica::kRightDuplicate | mica::kRightTransfer;
    IrqLine(unsigned irq, Notification* notification, uint64_t bits, bool level)
        : KObject(kType), irq(irq), notification(notification), bits(bits), level(level) {}
    ~IrqLine() override;

    // Joins the lines of `irq`; false if one there, or this one, is edge-triggered.
    bool claim();
    void ack();

    const unsigned irq;
    Ref<Notification> notification;
    const uint64_t bits;
    const bool level;
    IrqLine* next = nullptr;  // the IRQ's other lines
    bool pending = false;     // fired, not yet acknowledged
};
