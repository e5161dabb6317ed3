#include "ipc.h"

#include "arch.h"
#include "lib/string.h"
#include "memory.h"
#include "mica/errors.h"
#include "panic.h"
#include "process.h"
#include "reply.h"
#include "user_ptr.h"

using namespace mica;

bool g_ipc_fastpath = true;

namespace {

constexpr size_t kPage = arch::kPageSize;

// Copies between two user address spaces, neither of which need be the
// current one, through the direct map. Both ranges must be mapped for user
// access (the destination writable) and be ordinary memory.
int64_t copy_between(const arch::PageTables& dst_space, uintptr_t dst,
                     const arch::PageTables& src_space, uintptr_t src, size_t n) {
    if (!user_range_ok(dst, n) || !user_range_ok(src, n)) return kErrBadAddress;
    while (n > 0) {
        size_t chunk = n;
        if (chunk > kPage - dst % kPage) chunk = kPage - dst % kPage;
        if (chunk > kPage - src % kPage) chunk = kPage - src % kPage;
        uint64_t dst_phys, src_phys;
        unsigned dst_flags, src_flags;
        if (!dst_space.query(dst & ~(kPage - 1), &dst_phys, &dst_flags) ||
            !src_space.query(src & ~(kPage - 1), &src_phys, &src_flags))
            return kErrBadAddress;
        if (!(dst_flags & arch::kMapUser) || !(dst_flags & arch::kMapWrite) ||
            !(src_flags & arch::kMapUser) || ((dst_flags | src_flags) & arch::kMapUncached) ||
            dst_phys >= memory_top() || src_phys >= memory_top())
            return kErrBadAddress;
        memcpy(phys_to_virt<char>(dst_phys) + dst % kPage, phys_to_virt<char>(src_phys) + src % kPage, chunk);
        dst += chunk, src += chunk, n -= chunk;
    }
    return kOk;
}

}  // namespace

void IpcPayload::drop() {
    for (uint32_t i = 0; i < handle_count; ++i) {
        handles[i].object->handle_removed(handles[i].rights);
        handles[i].object->unref();
        handles[i] = HandleInFlight{};
    }
    handle_count = 0;
    data = 0;
    size = 0;
}

int64_t ipc_read_request(uintptr_t user_buffer, IpcRequest& out) {
    out.present = user_buffer != 0;
    if (!out.present) return kOk;
    if (int64_t e = copy_from_user(&out.buffer, user_buffer, sizeof out.buffer)) return e;
    const IpcBuffer& b = out.buffer;
    if (b.send_size > kMaxMessageBytes || b.send_handle_count > kMaxMessageHandles ||
        b.recv_capacity > kMaxMessageBytes)
        return kErrInvalidArgument;
    if (b.send_size && !user_range_ok(reinterpret_cast<uintptr_t>(b.send_data), b.send_size)) return kErrBadAddress;
    if (b.recv_capacity && !user_range_ok(reinterpret_cast<uintptr_t>(b.recv_data), b.recv_capacity))
        return kErrBadAddress;
    for (uint32_t i = 0; i < b.send_handle_count; ++i) {
        Capability cap;
        uint32_t rights;
        if (int64_t e = current_process().check(b.send_handles[i], kRightTransfer, ObjectType::none, &cap)) return e;
        if (int64_t e = narrow_rights(cap.rights, b.send_rights[i], &rights)) return e;
        for (uint32_t j = 0; j < i; ++j)
            if (b.send_handles[j] == b.send_handles[i]) return kErrInvalidArgument;  // twice in one message
    }
    return kOk;
}

void ipc_take_payload(const IpcRequest& request, IpcPayload& payload) {
    payload = IpcPayload{};
    if (!request.present) return;
    const IpcBuffer& b = request.buffer;
    payload.data = reinterpret_cast<uintptr_t>(b.send_data);
    payload.size = b.send_size;
    HandleTable& table = current_process().handles();
    for (uint32_t i = 0; i < b.send_handle_count; ++i) {
        HandleTable::Entry e;
        uint32_t rights = 0;
        int64_t detached = table.detach(b.send_handles[i], &e);  // both checked by ipc_read_request
        int64_t narrowed = narrow_rights(e.rights, b.send_rights[i], &rights);
        KASSERT(detached == kOk && narrowed == kOk);
        if (rights != e.rights) {  // fewer rights: the object's handle accounting follows
            e.object->handle_added(rights);
            e.object->handle_removed(e.rights);
        }
        payload.handles[payload.handle_count++] = HandleInFlight{e.object, rights, e.badge};
    }
}

int64_t ipc_transfer(Thread& sender, Thread& receiver) {
    IpcPayload& p = sender.ipc.payload;
    ThreadIpc& r = receiver.ipc;
    if (p.size > r.recv_capacity) return kErrOutOfRange;
    Process* to = receiver.process();
    if (!to->alive()) return kErrPeerClosed;  // its table is cleared for good
    if (p.size) {
        if (int64_t e = copy_between(to->address_space().tables(), r.recv_data,
                                     sender.process()->address_space().tables(), p.data, p.size))
            return e;
    }
    for (uint32_t i = 0; i < p.handle_count; ++i) {
        const HandleInFlight& h = p.handles[i];
        int64_t value = to->handles().attach(HandleTable::Entry{h.object, h.rights, 0, 0, h.badge}, to->quota());
        if (value < 0) {
            // Undo: the handles installed so far go back in flight.
            for (uint32_t j = 0; j < i; ++j) to->handles().detach(r.recv_handles[j], nullptr);
            return value;
        }
        r.recv_handles[i] = static_cast<Handle>(value);
    }
    r.deliver(sender.ipc.msg, sender.ipc.badge, p.size, p.handle_count);
    p = IpcPayload{};  // the handles now belong to the receiver's table
    return kOk;
}

int64_t ipc_complete_receive(Thread& self, uintptr_t user_buffer, int64_t status) {
    ThreadIpc& r = self.ipc;
    arch::set_message_registers(self.stack_top(), r.msg.label, r.msg.w0, r.msg.w1, r.msg.w2, r.badge);
    if (!user_buffer) return status;
    if (status == kOk) {
        struct {
            uint32_t size, handle_count;
            Handle handles[kMaxMessageHandles];
        } out{r.recv_size, r.recv_handle_count, {}};
        for (uint32_t i = 0; i < r.recv_handle_count; ++i) out.handles[i] = r.recv_handles[i];
        if (int64_t e = copy_to_user(user_buffer + offsetof(IpcBuffer, recv_size), &out, sizeof out)) return e;
    }
    r.recv_size = r.recv_handle_count = 0;
    return status;
}

void ipc_thread_exit(Thread& t) {
    reply_abandon(t);
    t.ipc.payload.drop();
}
