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
class IrqLine final : public KObject {
public:
    static constexpr ObjectType kType = ObjectType::irq_line;
    static constexpr uint32_t kDefaultRights = mica::kRightWrite | mica::kRightDuplicate | mica::kRightTransfer;
    IrqLine(unsigned irq, Notification* notification, uint64_t bits)
        : KObject(kType), irq(irq), notification(notification), bits(bits) {}
    ~IrqLine() override;

    // The line for `irq`, if one exists.
    static IrqLine* lookup(unsigned irq);
    // Claims `irq` for this line; false if another line has it.
    bool claim();

    const unsigned irq;
    Ref<Notification> notification;
    const uint64_t bits;
};
