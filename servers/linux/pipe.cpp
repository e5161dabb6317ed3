// Pipes between Linux programs: a ring buffer in the personality. A read of
// an empty pipe, or a write to a full one, waits (its call saved) until the
// other side moves; the last writer's close is the reader's end of file,
// and a write with no reader left ends the writer with SIGPIPE, as Linux's
// default action does. A named pipe (a FIFO inode of file:) is the same
// pipe, made at its first open and gone with its last close, as Linux's.
#include "linux_abi.h"
#include "mica/strings.h"
#include "process.h"

using namespace mica;

namespace personality {
namespace {

constexpr int64_t kSigpipe = 13;

Pipe* g_fifos = nullptr;  // the FIFOs open, through Pipe::next_fifo

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

// Opens of FIFO `pipe` that wait for the other end: those that have one now return.
void fifo_wake(Pipe& pipe) {
    for (Process& p : g_processes) {
        if (!p.used || p.zombie) continue;
        for (Task& t : p.tasks) {
            if (t.fifo_fd < 0 || t.fifo_open.saved == kNoHandle || p.fds[t.fifo_fd].pipe != &pipe) continue;
            if (pipe_reads(p.fds[t.fifo_fd]) ? pipe.writers == 0 : pipe.readers == 0) continue;
            int64_t fd = t.fifo_fd;
            t.fifo_fd = -1;
            answer(t.fifo_open, fd);
        }
    }
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
    *pipe = Pipe{};
    if (copy_out(p, fds_address, fds, sizeof fds)) {
        free(pipe);
        return -lx::kEFAULT;
    }
    bool cloexec = flags & lx::kOCloexec;
    uint64_t nonblock = flags & lx::kONonblock;
    p.fds[fds[0]] = Fd{Fd::kPipeRead, cloexec, new_description(), lx::kORdOnly | nonblock};
    p.fds[fds[1]] = Fd{Fd::kPipeWrite, cloexec, new_description(), lx::kOWrOnly | nonblock};
    p.fds[fds[0]].pipe = p.fds[fds[1]].pipe = pipe;
    pipe_attach(p.fds[fds[0]]);
    pipe_attach(p.fds[fds[1]]);
    return 0;
}

int64_t fifo_open(Process& p, int64_t fd, uint32_t inode, uint32_t generation, uint64_t flags, CallState& s) {
    uint64_t mode = flags & lx::kOAccMode;
    if (mode == lx::kOAccMode) return -lx::kEINVAL;
    Pipe* pipe = g_fifos;
    while (pipe && (pipe->inode != inode || pipe->generation != generation)) pipe = pipe->next_fifo;
    bool nonblock = flags & lx::kONonblock;
    if (mode == lx::kOWrOnly && nonblock && (!pipe || pipe->readers == 0)) return -lx::kENXIO;
    if (!pipe) {
        if (!(pipe = static_cast<Pipe*>(malloc(sizeof(Pipe))))) return -lx::kENOMEM;
        *pipe = Pipe{};
        pipe->inode = inode, pipe->generation = generation;
        pipe->next_fifo = g_fifos;
        g_fifos = pipe;
    }
    Fd& f = p.fds[fd];
    f = Fd{mode == lx::kOWrOnly ? Fd::kPipeWrite : Fd::kPipeRead, (flags & lx::kOCloexec) != 0, new_description(),
           flags & (lx::kOAccMode | lx::kONonblock)};
    f.pipe = pipe;
    // A reader that opens with no writer and does not wait hears no hang-up until a writer
    // has come (Linux's rule): poll.cpp compares this with writer_opens. Any other: none to suppress.
    f.index = nonblock && mode == lx::kORdOnly && !pipe->writers ? pipe->writer_opens : ~0u;
    pipe_attach(f);  // an open waiting for this end returns
    if (mode == lx::kORdWr || nonblock || (mode == lx::kOWrOnly ? pipe->readers : pipe->writers)) return fd;
    Task& t = p.task();
    if (!wait_here(p, t.fifo_open, 0, 0)) {
        close_fd(p, f);
        return -lx::kENOMEM;
    }
    t.fifo_fd = static_cast<int32_t>(fd);
    s.later = true;
    return 0;
}

void pipe_attach(Fd& f) {
    if (pipe_reads(f)) ++f.pipe->readers;
    if (pipe_writes(f)) ++f.pipe->writers, ++f.pipe->writer_opens;
    if (f.pipe->inode) fifo_wake(*f.pipe);
}

void pipe_detach(Fd& f) {
    Pipe& pipe = *f.pipe;
    if (pipe_reads(f)) --pipe.readers;
    if (pipe_writes(f)) --pipe.writers;
    if (pipe.readers == 0 && pipe.writers == 0) {
        // Nobody can wait on it any more (a waiter holds a descriptor).
        if (pipe.reader.saved != kNoHandle) sys::handle_close(pipe.reader.saved);
        if (pipe.writer.saved != kNoHandle) sys::handle_close(pipe.writer.saved);
        Pipe** link = &g_fifos;
        while (*link && *link != &pipe) link = &(*link)->next_fifo;
        if (*link) *link = pipe.next_fifo;
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
