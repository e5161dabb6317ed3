// A split virtqueue: laying it out, offering chains, taking used ones. See
// virtio/queue.h.
#include "virtio/queue.h"

#include "mica/log.h"
#include "mica/strings.h"

namespace virtio {

namespace {

// The device reads what we wrote before the index that publishes it, and we
// read an entry only after the index that says it is there: x86 keeps
// stores in order and loads in order, so only the compiler must not move
// them.
void barrier() { asm volatile("" ::: "memory"); }

}  // namespace

bool Queue::set_up(Transport& transport, uint16_t index, uint16_t size, void* memory, uint64_t phys) {
    uint16_t max = transport.queue_max(index);
    if (size == 0 || max < size) {
        mica::logf("%s: queue %u allows %u entries, %u wanted", transport.who(), index, max, size);
        return false;
    }
    auto* at = static_cast<uint8_t*>(memory);
    memset(at, 0, bytes(size));
    transport_ = &transport;
    index_ = index, size_ = size;
    descriptors_ = reinterpret_cast<Descriptor*>(at);
    available_ = reinterpret_cast<volatile uint16_t*>(at + available_offset(size));
    used_ = reinterpret_cast<volatile uint16_t*>(at + used_offset(size));
    offered_ = seen_ = 0;
    return transport.set_up_queue(index, size, phys, phys + available_offset(size), phys + used_offset(size));
}

void Queue::offer(uint16_t head) {
    available_[2 + offered_ % size_] = head;
    barrier();
    available_[1] = ++offered_;
    barrier();
}

bool Queue::take_used(uint32_t* head, uint32_t* written) {
    barrier();
    if (seen_ == used_[1]) return false;
    auto* element = reinterpret_cast<volatile uint32_t*>(used_ + 2) + 2 * (seen_ % size_);
    *head = element[0];
    *written = element[1];
    ++seen_;
    barrier();
    return true;
}

}  // namespace virtio
