// Devices from user space: I/O port ranges and interrupt lines. ktest drives
// the PIT itself through ports it was granted and receives its interrupt as
// notification bits; a child granted a port range can use those ports and
// no others.
#include "ktest.h"
#include "mica/ports.h"

using namespace mica;

using ports::out8;

void ktest::test_devices() {
    const Handle resource = startup().resource;
    const Handle self = startup().self_process;
    Handle memory = static_cast<Handle>(sys::memory_create(kPageSize));
    EXPECT_EQ(sys::io_ports_create(memory, 0x40, 4), kErrWrongType);
    EXPECT_EQ(sys::io_ports_create(resource, 0x40, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::io_ports_create(resource, 0xfff0, 0x20), kErrInvalidArgument);
    int64_t pit = sys::io_ports_create(resource, 0x40, 4);
    EXPECT(pit > 0);
    EXPECT_EQ(sys::io_ports_grant(memory, static_cast<Handle>(pit)), kErrWrongType);
    EXPECT_EQ(sys::io_ports_grant(self, memory), kErrWrongType);

    // A child with the PIT's ports may use them, and only them.
    Handle pit_handle = static_cast<Handle>(pit);
    EXPECT_EQ(wait_child(spawn_child("ports_in_range", &pit_handle, 1)), 0);
    EXPECT_EQ(wait_child(spawn_child("ports_out_of_range", &pit_handle, 1)), kExitFaultBase - 13);

    // The PIT's interrupt reaches us as notification bits.
    Handle n = static_cast<Handle>(sys::notification_create());
    EXPECT_EQ(sys::irq_create(resource, 16, n, 1), kErrInvalidArgument);
    EXPECT_EQ(sys::irq_create(resource, 0, n, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::irq_create(memory, 0, n, 1), kErrWrongType);
    int64_t irq = sys::irq_create(resource, 0, n, 0x4);
    EXPECT(irq > 0);
    EXPECT_EQ(sys::irq_create(resource, 0, n, 1), kErrAlreadyExists);
    EXPECT_EQ(sys::io_ports_grant(self, pit_handle), kOk);
    out8(0x43, 0x34);  // channel 0, rate generator
    out8(0x40, 1193 & 0xff);  // 1 kHz
    out8(0x40, 1193 >> 8);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(sys::notification_wait(n, 1'000'000'000), 0x4);
        EXPECT_EQ(sys::irq_ack(static_cast<Handle>(irq)), kOk);
    }
    out8(0x43, 0x30);  // back to one-shot: it stops after one more count
    EXPECT_EQ(sys::irq_ack(memory), kErrWrongType);
    EXPECT_EQ(sys::handle_close(static_cast<Handle>(irq)), kOk);
    // Closed: the line is free for someone else again.
    int64_t again = sys::irq_create(resource, 0, n, 1);
    EXPECT(again > 0);
    sys::handle_close(static_cast<Handle>(again));
    const Handle all[] = {memory, pit_handle, n};
    for (Handle h : all) sys::handle_close(h);
}
