// Pipes between Linux programs: a ring buffer in the personality. A read of
// an empty pipe, or a write to a full one, waits (its call saved) until the
// other side moves; the last writer's close is the reader's end of file,
// and a write with no reader left ends the writer with SIGPIPE, as Linux's
// default action does.
#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr int64_t kSigpipe = 13;

Process* waiting(const Waiter& w) {
    if (w.saved == kNoHandle || w.slot < 0) return nullptr;
    Process& p = g_processes[w.slot];
    return p.used && !p.zombie ? &p : nullptr;
}

// Moves what the pipe holds into the reader's buffer; bytes moved.
int64_t drain(Pipe& pipe, Process& p, uint64_t to, uint64_t size) {
    uint64_t moved = 0;
    while (moved < size && pipe.used) {
        uint32_t run = kPipeBytes - pipe.head < pipe.used ? kPipeBytes - pipe.head : pipe.used;
        if (run > size - moved) run = static_cast<uint32_t>(size - moved);
        if (copy_out(p, to + moved, pipe.data + pipe.head, run)) return moved ? static_cast<int64_t>(moved) : -lx::kEFAULT;
        pipe.head = (pipe.head + run) % kPipeBytes;
        pipe.used -= run;
        moved += run;
    }
    return static_cast<int64_t>(moved);
}

// Moves from the writer's buffer into the pipe, as much as fits.
int64_t fill(Pipe& pipe, Process& p, uint64_t from, uint64_t size) {
    if (!pipe.data && size && !(pipe.data = static_cast<uint8_t*>(malloc(kPipeBytes)))) return -lx::kENOMEM;
    uint64_t moved = 0;
    while (moved < size && pipe.used < kPipeBytes) {
        uint32_t tail = (pipe.head + pipe.used) % kPipeBytes;
        uint32_t room = kPipeBytes - pipe.used;
        uint32_t run = kPipeBytes - tail < room ? kPipeBytes - tail : room;
        if (run > size - moved) run = static_cast<uint32_t>(size - moved);
        if (copy_in(p, from + moved, pipe.data + tail, run)) return moved ? static_cast<int64_t>(moved) : -lx::kEFAULT;
        pipe.used += run;
        moved += run;
    }
    return static_cast<int64_t>(moved);
}

// After a change: a waiting reader gets data (or its end of file), a
// waiting writer goes on.
void settle(Pipe& pipe) {
    struct AfterPolls {  // polls see what changed, once the pipe has settled
        ~AfterPolls() { poll_wake(); }
    } after;
    for (bool moved = true; moved;) {
        moved = false;
        if (Process* r = waiting(pipe.reader); r && (pipe.used || pipe.writers == 0)) {
            answer(pipe.reader, drain(pipe, *r, pipe.reader.address, pipe.reader.size));
            moved = true;
        }
        if (Process* w = waiting(pipe.writer)) {
            if (pipe.readers == 0) {
                answer(pipe.writer, -lx::kEPIPE);
                raise_signal(*w, kSigpipe);  // delivered when it next stops here
                continue;
            }
            int64_t n = fill(pipe, *w, pipe.writer.address + pipe.writer.done, pipe.writer.size - pipe.writer.done);
            if (n < 0) {
                answer(pipe.writer, pipe.writer.done ? static_cast<int64_t>(pipe.writer.done) : n);
            } else if (n > 0) {
                pipe.writer.done += static_cast<uint64_t>(n);
                if (pipe.writer.done == pipe.writer.size) answer(pipe.writer, static_cast<int64_t>(pipe.writer.done));
                moved = true;
            }
        }
    }
}

}  // namespace

int64_t pipe_create(Process& p, uint64_t fds_address, uint64_t flags) {
    if (flags & ~(lx::kOCloexec | lx::kONonblock)) return -lx::kEINVAL;
    int32_t fds[2] = {-1, -1};
    for (int i = 0, from = 0; i < 2; ++i) {
        for (int fd = from; fd < static_cast<int>(kMaxFds) && fds[i] < 0; ++fd)
            if (p.fds[fd].kind == Fd::kFree && fd != fds[0]) fds[i] = fd;
        if (fds[i] < 0) return -lx::kEMFILE;
        from = fds[i] + 1;
    }
    auto* pipe = static_cast<Pipe*>(malloc(sizeof(Pipe)));
    if (!pipe) return -lx::kENOMEM;
    pipe->readers = pipe->writers = 0;
    pipe->head = pipe->used = 0;
    pipe->data = nullptr;
    pipe->reader = pipe->writer = Waiter{};
    if (copy_out(p, fds_address, fds, sizeof fds)) {
        free(pipe);
        return -lx::kEFAULT;
    }
    bool cloexec = flags & lx::kOCloexec;
    uint64_t nonblock = flags & lx::kONonblock;
    p.fds[fds[0]] = Fd{Fd::kPipeRead, cloexec, lx::kORdOnly | nonblock};
    p.fds[fds[1]] = Fd{Fd::kPipeWrite, cloexec, lx::kOWrOnly | nonblock};
    p.fds[fds[0]].pipe = p.fds[fds[1]].pipe = pipe;
    pipe_attach(p.fds[fds[0]]);
    pipe_attach(p.fds[fds[1]]);
    return 0;
}

void pipe_attach(Fd& f) {
    if (f.kind == Fd::kPipeRead) ++f.pipe->readers;
    else ++f.pipe->writers;
}

void pipe_detach(Fd& f) {
    Pipe& pipe = *f.pipe;
    if (f.kind == Fd::kPipeRead) --pipe.readers;
    else --pipe.writers;
    if (pipe.readers == 0 && pipe.writers == 0) {
        // Nobody can wait on it any more (a waiter holds a descriptor).
        if (pipe.reader.saved != kNoHandle) sys::handle_close(pipe.reader.saved);
        if (pipe.writer.saved != kNoHandle) sys::handle_close(pipe.writer.saved);
        free(pipe.data);
        free(&pipe);
        return;
    }
    settle(pipe);
}

int64_t pipe_read(Process& p, Fd& f, uint64_t to, uint64_t size, CallState& s) {
    Pipe& pipe = *f.pipe;
    if (size == 0) return 0;
    if (pipe.used) {
        int64_t n = drain(pipe, p, to, size);
        settle(pipe);
        return n;
    }
    if (pipe.writers == 0) return 0;
    if (f.flags & lx::kONonblock) return -lx::kEAGAIN;
    if (waiting(pipe.reader)) return -lx::kEAGAIN;  // one waiting reader at a time
    if (!wait_here(p, pipe.reader, to, size)) return -lx::kENOMEM;
    s.later = true;
    return 0;
}

int64_t pipe_write(Process& p, Fd& f, uint64_t from, uint64_t size, CallState& s) {
    Pipe& pipe = *f.pipe;
    if (pipe.readers == 0) {
        raise_signal(p, kSigpipe);  // by default it ends the writer, when the call returns
        return -lx::kEPIPE;
    }
    int64_t n = fill(pipe, p, from, size);
    if (n != 0) settle(pipe);
    if (n < 0 || static_cast<uint64_t>(n) == size || (f.flags & lx::kONonblock)) return n ? n : -lx::kEAGAIN;
    if (waiting(pipe.writer)) return n;  // one waiting writer at a time: a short write
    if (!wait_here(p, pipe.writer, from, size)) return n;
    pipe.writer.done = static_cast<uint64_t>(n);
    s.later = true;
    return 0;
}

}  // namespace personality
