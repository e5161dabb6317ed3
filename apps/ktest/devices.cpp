// Devices from user space: I/O port ranges and interrupt lines. ktest drives
// the PIT itself through ports it was granted and receives its interrupt as
// notification bits; a child granted a port range can use those ports and
// no others.
#include "ktest.h"
#include "mica/ports.h"

using namespace mica;
using namespace ktest;

using ports::out8;

KTEST(devices, basics) {
    const Handle resource = startup().resource;
    const Handle self = startup().self_process;
    Handle memory = EXPECT_HANDLE(sys::memory_create(kPageSize));
    EXPECT_EQ(sys::io_ports_create(memory, 0x40, 4), kErrWrongType);
    EXPECT_EQ(sys::io_ports_create(resource, 0x40, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::io_ports_create(resource, 0xfff0, 0x20), kErrInvalidArgument);
    Handle pit_handle = EXPECT_HANDLE(sys::io_ports_create(resource, 0x40, 4));
    EXPECT_EQ(sys::io_ports_grant(memory, pit_handle), kErrWrongType);
    EXPECT_EQ(sys::io_ports_grant(self, memory), kErrWrongType);

    // A child with the PIT's ports may use them, and only them.
    EXPECT_EQ(wait_child(spawn_child("ports_in_range", &pit_handle, 1)), 0);
    EXPECT_EQ(wait_child(spawn_child("ports_out_of_range", &pit_handle, 1)), kExitFaultBase - 13);

    // The PIT's interrupt reaches us as notification bits.
    Handle n = EXPECT_HANDLE(sys::notification_create());
    EXPECT_EQ(sys::irq_create(resource, 16, kIrqEdge, n, 1), kErrInvalidArgument);
    EXPECT_EQ(sys::irq_create(resource, 0, kIrqEdge, n, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::irq_create(memory, 0, kIrqEdge, n, 1), kErrWrongType);
    EXPECT_EQ(sys::irq_create(resource, 0, 2, n, 1), kErrInvalidArgument);
    // Through a resource that covers IRQ 0 alone.
    Handle only_irq0 = EXPECT_HANDLE(sys::resource_create(resource, kResourceIrq, 0, 1));
    EXPECT_EQ(sys::irq_create(only_irq0, 1, kIrqEdge, n, 1), kErrAccessDenied);
    Handle irq = EXPECT_HANDLE(sys::irq_create(only_irq0, 0, kIrqEdge, n, 0x4));
    sys::handle_close(only_irq0);
    EXPECT_EQ(sys::irq_create(resource, 0, kIrqEdge, n, 1), kErrAlreadyExists);
    EXPECT_EQ(sys::io_ports_grant(self, pit_handle), kOk);
    out8(0x43, 0x34);  // channel 0, rate generator
    out8(0x40, 1193 & 0xff);  // 1 kHz
    out8(0x40, 1193 >> 8);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(sys::notification_wait(n, 1'000'000'000), 0x4);
        EXPECT_EQ(sys::irq_ack(irq), kOk);
    }
    out8(0x43, 0x30);  // back to one-shot: it stops after one more count
    EXPECT_EQ(sys::irq_ack(memory), kErrWrongType);
    EXPECT_EQ(sys::handle_close(irq), kOk);
    // Closed: the line is free for someone else again.
    sys::handle_close(EXPECT_HANDLE(sys::irq_create(resource, 0, kIrqEdge, n, 1)));
    const Handle all[] = {memory, pit_handle, n};
    for (Handle h : all) sys::handle_close(h);
}

// Level-triggered lines share an IRQ (PCI devices on one pin: each holder
// is signalled, the line unmasked once all have acknowledged); an
// edge-triggered line has its IRQ alone. (Firing on a shared line is the
// test qemu.net.shared_irq: disk and network on IRQ 11.)
KTEST(devices, shared_lines) {
    const Handle resource = startup().resource;
    Handle n = EXPECT_HANDLE(sys::notification_create());
    Handle first = EXPECT_HANDLE(sys::irq_create(resource, 5, kIrqLevel, n, 1));
    Handle second = EXPECT_HANDLE(sys::irq_create(resource, 5, kIrqLevel, n, 2));
    EXPECT_EQ(sys::irq_create(resource, 5, kIrqEdge, n, 4), kErrAlreadyExists);
    EXPECT_EQ(sys::irq_ack(first), kOk);
    EXPECT_EQ(sys::irq_ack(second), kOk);
    EXPECT_EQ(sys::handle_close(first), kOk);
    EXPECT_EQ(sys::irq_create(resource, 5, kIrqEdge, n, 4), kErrAlreadyExists);
    EXPECT_EQ(sys::handle_close(second), kOk);
    Handle edge = EXPECT_HANDLE(sys::irq_create(resource, 5, kIrqEdge, n, 4));
    EXPECT_EQ(sys::irq_create(resource, 5, kIrqLevel, n, 1), kErrAlreadyExists);
    EXPECT_EQ(sys::handle_close(edge), kOk);
    sys::handle_close(n);
}

// Narrower resources: each allows one kind of object inside one range, can
// be narrowed further but never widened, and cannot power the machine off.
KTEST(devices, resources) {
    const Handle root = startup().resource;
    Handle memory = EXPECT_HANDLE(sys::memory_create(kPageSize));
    EXPECT_EQ(sys::resource_create(memory, kResourceIoPorts, 0x40, 4), kErrWrongType);
    EXPECT_EQ(sys::resource_create(root, kResourceRoot, 0, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::resource_create(root, 5, 0, 1), kErrInvalidArgument);
    EXPECT_EQ(sys::resource_create(root, kResourceIoPorts, 0x40, 0), kErrInvalidArgument);
    EXPECT_EQ(sys::resource_create(root, kResourceMmio, ~0ULL - 10, 20), kErrInvalidArgument);
    auto make = [&](Handle parent, uint32_t kind, uint64_t base, uint64_t size) {
        return EXPECT_HANDLE(sys::resource_create(parent, kind, base, size));
    };
    Handle pit = make(root, kResourceIoPorts, 0x40, 4);
    EXPECT_EQ(sys::io_ports_create(pit, 0x3f8, 1), kErrAccessDenied);
    EXPECT_EQ(sys::io_ports_create(pit, 0x40, 5), kErrAccessDenied);
    EXPECT_EQ(sys::io_ports_create(pit, 0x3f, 2), kErrAccessDenied);
    sys::handle_close(EXPECT_HANDLE(sys::io_ports_create(pit, 0x41, 3)));
    Handle narrower = make(pit, kResourceIoPorts, 0x42, 1);
    EXPECT_EQ(sys::resource_create(narrower, kResourceIoPorts, 0x40, 4), kErrAccessDenied);
    EXPECT_EQ(sys::resource_create(pit, kResourceIoPorts, 0x30, 0x20), kErrAccessDenied);
    EXPECT_EQ(sys::resource_create(pit, kResourceIrq, 0, 1), kErrAccessDenied);
    EXPECT_EQ(sys::resource_create(pit, kResourceDma, 0, 0), kErrAccessDenied);
    EXPECT_EQ(sys::system_poweroff(pit, 0), kErrAccessDenied);
    uint64_t phys = 0;
    EXPECT_EQ(sys::memory_create_contiguous(pit, kPageSize, &phys), kErrAccessDenied);
    EXPECT_EQ(sys::memory_create_physical(pit, 0xb8000, kPageSize), kErrAccessDenied);

    // Device memory: only inside the range, never RAM, never the interrupt
    // controllers (not even through the root resource).
    Handle vga = make(root, kResourceMmio, 0xb8000, 0x8000);
    sys::handle_close(EXPECT_HANDLE(sys::memory_create_physical(vga, 0xb8000, kPageSize)));
    EXPECT_EQ(sys::memory_create_physical(vga, 0xb0000, kPageSize), kErrAccessDenied);
    EXPECT_EQ(sys::memory_create_physical(vga, 0xbf000, 2 * kPageSize), kErrAccessDenied);
    EXPECT_EQ(sys::memory_create_physical(root, 0xfec00000, kPageSize), kErrAccessDenied);
    EXPECT_EQ(sys::memory_create_physical(root, 0xfee00000, kPageSize), kErrAccessDenied);
    EXPECT_EQ(sys::memory_create_physical(root, 0xfed00000, 0x200000), kErrAccessDenied);

    // DMA memory through a DMA resource.
    Handle dma = make(root, kResourceDma, 123, 456);
    sys::handle_close(EXPECT_HANDLE(sys::memory_create_contiguous(dma, 2 * kPageSize, &phys)));
    EXPECT(phys != 0);
    EXPECT_EQ(sys::io_ports_create(dma, 0x40, 1), kErrAccessDenied);
    const Handle all[] = {memory, pit, narrower, vga, dma};
    for (Handle h : all) EXPECT_EQ(sys::handle_close(h), kOk);
}
