// A Linux process as the personality keeps it: the Mica process and threads
// that run it, the memory it has mapped (each mapping a memory object the
// personality made, so the personality reads and writes the program's
// memory through those objects, never by mapping it into itself), its file
// descriptors and its little bits of state.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "linux_abi.h"
#include "mica/files.h"
#include "mica/runtime.h"

namespace personality {

// Descriptors: 1,024, as Linux's default RLIMIT_NOFILE (ash keeps saved ones at 256 and up).
constexpr uint32_t kMaxVmas = 1024, kMaxFds = 1024, kMaxProcesses = 16, kMaxMissing = 8, kMaxThreads = 32;
// A program's stack: its arguments, environment and vectors, and kStackFirst
// below them, mapped at first, grown down on a fault below it (or a call's pointer there) to at most kStackBytes, which
// RLIMIT_STACK says: 8 MiB, Linux's default. glibc gives each thread a stack
// of RLIMIT_STACK, which mmap reserves and fills as it is touched.
constexpr uint64_t kStackBytes = 8 << 20, kStackFirst = 32 << 10;
static_assert(kMaxProcesses <= 32);  // poll.cpp keeps a bit per process
// Fault badges: kBadgeBit | thread index << 8 | process slot.
constexpr uint64_t kBadgeBit = 1ULL << 44;

// [start, end) of the program's address space backed by `memory` from `offset`.
struct Vma {
    uint64_t start = 0, end = 0;
    mica::Handle memory = mica::kNoHandle;
    uint64_t offset = 0;
    uint32_t perms = 0;  // mica::VmPerms
    bool exe = false;    // a segment of the program's file (/proc/PID/maps names it)
    // Part of a large anonymous mapping, whose memory comes at the first
    // touch, a chunk at a time: `memory` is kNoHandle until then (memory.cpp).
    bool lazy = false;
};

struct Pipe;
struct CallState;  // a call being served (below)
struct Socket;  // a socket of net: (sockets.cpp)

// What dup and fork share of a descriptor that names a file, a directory or
// made-up text (Linux's open file description): how many descriptors hold
// its name or text, and the position, which a read or write by any of them moves.
struct Shared {
    uint32_t count = 1;
    uint64_t offset = 0;
};

struct Fd {
    enum Kind : uint8_t { kFree, kConsole, kFile, kDirectory, kNull, kZero, kRandom, kPipeRead, kPipeWrite,
                          kPasswd, kGroup, kFdFolder, kText, kSocket, kProcFolder };
    // kFdFolder: /proc/self/fd; kProcFolder: /proc; kText: made up (/proc's files)
    Kind kind = kFree;
    bool cloexec = false;
    // Its open file description (new_description()), which dup and fork keep:
    // F_SETFL changes the status flags of every descriptor that has it, as Linux's.
    uint32_t description = 0;
    uint64_t flags = 0;   // open flags (access mode, O_APPEND, O_NONBLOCK)
    uint64_t offset = 0;  // the position, or the listing's cursor, when there are no `shares`
    // directories: entries listed so far; kText: its length; a FIFO's reader
    // opened with no writer, without waiting: its pipe's writer_opens then (poll.cpp)
    uint32_t index = 0;
    bool dir_done = false;
    mica::files::Name* name = nullptr;  // files and directories (heap)
    Shared* shares = nullptr;           // with the descriptors dup and fork made of it
    Pipe* pipe = nullptr;               // pipes' ends
    Socket* socket = nullptr;           // sockets (heap, counted as a pipe's ends are)
    char* text = nullptr;               // kText: its contents, made when opened (heap, shared as name is)
    uint64_t& position() { return shares ? shares->offset : offset; }
};

// A call that waits: answered later through its saved reply.
struct Waiter {
    mica::Handle saved = mica::kNoHandle;
    int32_t slot = -1;      // the waiting process's
    uint32_t task = 0;      // and its thread's index
    uint64_t address = 0;   // its buffer
    uint64_t size = 0;
    uint64_t done = 0;      // writes: bytes already taken
};

// A pipe: a ring of kPipeBytes in the personality (from the first write
// on: a program may hold hundreds of pipes it never writes), a reader and a
// writer that may be waiting for the other.
// A named pipe (FIFO) is a pipe too, found by its inode while some
// descriptor has it open.
constexpr uint32_t kPipeBytes = 65536;
struct Pipe {
    uint32_t readers = 0, writers = 0;
    uint32_t head = 0, used = 0;
    Waiter reader, writer;
    uint8_t* data = nullptr;
    uint32_t inode = 0, generation = 0;  // a FIFO's (0: an anonymous pipe)
    uint32_t writer_opens = 0;           // writing ends attached so far
    Pipe* next_fifo = nullptr;
};
// A pipe's end reads, writes, or (a FIFO opened O_RDWR) both.
inline bool pipe_reads(const Fd& f) { return f.kind == Fd::kPipeRead; }
inline bool pipe_writes(const Fd& f) {
    return f.kind == Fd::kPipeWrite || (f.kind == Fd::kPipeRead && (f.flags & lx::kOAccMode) == lx::kORdWr);
}

// One thread of a Linux process (a Linux task): its Mica thread and what is
// its own rather than its process's — its id, its signal mask and the
// signals sent to it alone, the call it is in.
struct Task {
    mica::Handle thread = mica::kNoHandle;  // kNoHandle: a free entry
    uint64_t tid = 0;        // the first thread's is the pid
    uint64_t clear_tid = 0;  // set_tid_address, CLONE_CHILD_CLEARTID: zeroed and woken as it ends
    bool running = false;    // in its own code (not stopped here): a signal needs thread_interrupt
    // The call being served, or waited in: its number (for a restart), whether
    // SA_RESTART restarts it after a handler (else it fails with EINTR), and
    // the Waiter holding its reply while it waits (null: none, or a helper
    // thread's wait in calls.cpp, or a futex wait).
    uint64_t call = 0;
    bool restartable = false;
    Waiter* waiting_in = nullptr;
    uint64_t sigmask = 0;
    uint64_t sigpending = 0;          // sent to this thread (tgkill); the process's own are Process::sigpending
    uint64_t saved_mask = 0;          // rt_sigsuspend's caller's mask, back once its handler is entered
    bool mask_saved = false;
    Waiter suspend;                   // an rt_sigsuspend or pause that waits
    // A futex wait (futex.cpp): its reply and word (in `futex`), which wakes
    // may end it, and when it times out (0: never). `futex_generation` is
    // nonzero while it waits; whoever clears it (a wake, the timer, a
    // signal, the end) answers.
    Waiter futex;
    uint32_t futex_bitset = 0;
    uint64_t futex_deadline = 0;
    uint64_t futex_generation = 0;
    bool exiting = false;             // ended by execve in another thread: its next stop ends it
    // A poll, ppoll, select or pselect6 that waits (poll.cpp): its reply,
    // the call and its arguments (looked at again at each wake), and when it
    // times out (0: never).
    Waiter poll;
    uint64_t poll_number = 0;
    uint64_t poll_args[6] = {};
    uint64_t poll_deadline = 0;
    // A socket call that waits (sockets.cpp): its reply (`done`: what a
    // send has sent so far), the call and its arguments, tried again at
    // each wake.
    Waiter socket;
    uint64_t socket_number = 0;
    uint64_t socket_args[6] = {};
    // An open of a FIFO that waits for its other end (pipe.cpp): its reply,
    // and the descriptor it returns, already open (closed if a signal ends the wait).
    Waiter fifo_open;
    int32_t fifo_fd = -1;
    // Its process stopped (jobs.cpp) when it came here: the reply that lets
    // it go on (the registers as written), sent when the process continues.
    mica::Handle held = mica::kNoHandle;
};

// Everything a Linux process is but its descriptors (ProcessState, below).
struct ProcessState {
    bool used = false;
    uint32_t slot = 0;
    uint64_t pid = 0;  // Mica's, which is also the Linux pid it sees
    mica::Handle process = mica::kNoHandle;
    Task tasks[kMaxThreads];  // its threads; [0] is the first (when it has not ended)
    uint32_t current = 0;     // the one whose call is being served
    Task& task() { return tasks[current]; }
    char name[32] = "";
    char exe[256] = "";   // its Linux path, for /proc/self/exe
    uint64_t exe_inode = 0;
    uint64_t arg_start = 0, arg_end = 0;  // where its argv strings are (/proc/PID/cmdline)
    uint64_t started_ns = 0;              // when it was made (fork or Run): /proc/PID/stat
    // ITIMER_REAL (setitimer, alarm): when SIGALRM is next sent (clock_monotonic; 0: not
    // set), and then every `alarm_interval` ns. The timer thread watches it; a fork's child has none.
    uint64_t alarm_deadline = 0, alarm_interval = 0;
    char cwd[1024] = "/";
    uint32_t vma_count = 0;  // of Process::vmas
    uint64_t brk_base = 0, brk = 0, brk_mapped = 0;
    uint64_t stack_bottom = 0, stack_limit = 0;  // the stack's lowest mapped byte; how far down it may grow
    uint64_t mmap_top = 0;  // mappings without a hint are placed below this
    uint32_t umask = 022;
    uint64_t sigpending = 0;          // sent to the process: any thread not blocking one takes it
    uint64_t sigactions[65][4] = {};  // handler, flags, restorer, mask
    char pending_input[4096];         // console input read but not yet taken
    uint32_t pending_size = 0, pending_used = 0;
    bool reading = false;             // a helper thread reads a line from the console for it
    bool pending_eof = false;         // Ctrl-D came: the next read returns 0
    bool pending_error = false;       // the console failed: the next read returns EIO
    struct Missing {
        uint32_t number, count;
    } missing[8];                     // system calls it made that are not implemented (ENOSYS)
    uint32_t missing_count = 0, missing_more = 0;
    int32_t parent = -1;              // its parent's slot (-1: started by the shell, or orphaned)
    bool from_shell = false;          // started by Run: the console's modes are reset when it ends
    bool zombie = false;              // ended, its status kept for its parent's wait4
    uint64_t wait_status = 0;         // as wait4 reports it
    Waiter wait;                      // a wait4 that waits (address: where the status goes)
    int64_t wait_pid = 0;
    uint64_t wait_options = 0;        // its WNOHANG, WUNTRACED, WCONTINUED
    // Job control (jobs.cpp): its process group and session, whether it ran
    // execve since its fork (its parent's setpgid then fails), whether a
    // stop signal stopped it, and a stop (its signal) or continuation (-1)
    // its parent's wait4 has not yet been told of.
    uint64_t pgid = 0, sid = 0;
    bool execed = false;
    bool stopped = false;
    int32_t change = 0;
};

// A slot is made afresh by resetting its ProcessState alone: its 1,024
// descriptors (72 KiB, most of the slot) are all free already (release
// closes them), and rewriting them cost a fork and an exit about 9,000
// instructions each. Its mappings (48 KiB) are those below vma_count.
struct Process : ProcessState {
    Fd fds[kMaxFds];
    Vma vmas[kMaxVmas];  // sorted by start, none overlapping
    void reset() { static_cast<ProcessState&>(*this) = ProcessState{}; }
};

extern Process g_processes[kMaxProcesses];
extern mica::Handle g_console;
extern mica::Handle g_endpoint;  // linux:, where programs' faults arrive (badged)

// The process a fault badge names (its `current` set to the thread the
// badge names), or null.
Process* from_badge(uint64_t badge);
// A badge for thread `index` of p.
inline uint64_t badge_of(const Process& p, uint32_t index) { return kBadgeBit | index << 8 | p.slot; }
uint32_t live_threads(const Process& p);
// Frees what the personality held for `p` (its process is gone or going).
void release(Process& p);

// --- job control (jobs.cpp) ---
// The console's session and its foreground process group (0: none), as a
// terminal keeps them: Ctrl-C, Ctrl-Z and Ctrl-\ go to that group, and a
// program of the session in another group that reads the console stops
// (SIGTTIN).
extern uint64_t g_tty_sid, g_tty_pgrp;
// Sends `signal` to q (to its thread `to`, if given), as kill does: SIGKILL
// ends it; SIGCONT continues it; a stop signal with the default action
// stops it (SIGTSTP, SIGTTIN, SIGTTOU not in an orphaned group); others
// are pending, and one whose default action ends a program ends q at once
// unless q is `caller` (which finds it on its way back).
void send_signal(Process& q, int signal, Task* to = nullptr, const Process* caller = nullptr);
// To every program in process group `pgid`; false if it has none.
bool signal_group(uint64_t pgid, int signal, const Process* caller = nullptr);
// No member of the group has a parent in the same session but another group.
bool orphaned(uint64_t pgid);
// Thread t of the stopped p came here: its reply is kept until p continues.
void hold(Process& p, Task& t);
// p ended (a zombie now, its children without a parent): of `groups` (its
// own and its children's), one this left orphaned with a stopped program
// gets SIGHUP and SIGCONT; a session leader's end takes the console from
// its session, and the foreground group gets SIGHUP.
void after_end(Process& p, const uint64_t* groups, uint32_t count);
// setpgid, getpgid, getpgrp, setsid, getsid; false if `number` is none of them.
bool serve_job_call(Process& p, uint64_t number, const uint64_t* a, CallState& s);
// TIOCGPGRP, TIOCSPGRP, TIOCGSID on the console.
int64_t tty_ioctl(Process& p, uint64_t request, uint64_t arg, CallState& s);
// A read (SIGTTIN) or terminal change (SIGTTOU) of the console by p: 0 if
// it may go on; else -EIO, or 1 when p's group was stopped and the call is
// made again once it continues (s.restart).
int64_t tty_access(Process& p, int signal, CallState& s);
// Its parent's wait4 that waits is answered if c's change (an end, a stop,
// a continuation) is one it waits for.
void child_changed(Process& c);

// --- its memory (memory.cpp) ---
// Copies between the program's memory and ours; kErrBadAddress for any byte
// not mapped (or, for copy_out, not writable).
int64_t copy_in(Process& p, uint64_t address, void* out, size_t size);
int64_t copy_out(Process& p, uint64_t address, const void* data, size_t size);
// kErrBadAddress unless copy_out could write every byte (nothing is written).
int64_t check_out(Process& p, uint64_t address, size_t size);
// A NUL-terminated string of at most size - 1 bytes; kErrNameTooLong beyond.
int64_t read_string(Process& p, uint64_t address, char* out, size_t size);
// Maps new zeroed memory at [start, start + size) (page-aligned) with `perms`.
int64_t map_anonymous(Process& p, uint64_t start, uint64_t size, uint32_t perms, mica::Handle* memory = nullptr);
// Reserves [start, start + size) for zeroed memory that comes when touched
// (a lazy mapping). kErrAlreadyExists if anything is mapped there.
int64_t reserve(Process& p, uint64_t start, uint64_t size, uint32_t perms);
// New private zeroed memory at [start, start + size): reserved if `lazy` or
// large (4 MiB or more), else taken at once (map_anonymous), so that a
// program short of memory gets ENOMEM rather than a kill at its first touch.
int64_t add_anonymous(Process& p, uint64_t start, uint64_t size, uint32_t perms, bool lazy);
// mremap's work: [old, old + old_size) becomes `size` bytes, shrunk or grown
// in place, or else (`may_move`) moved to `to` (0: anywhere free), the
// memory objects mapped there rather than copied; added bytes read as zeros.
// *at: where it is now. kErrBadAddress if the old range has a hole.
int64_t remap(Process& p, uint64_t old, uint64_t old_size, uint64_t size, uint64_t to, bool may_move, uint64_t* at);
// The program touched `address`, reserved and not yet filled, wanting
// `need` (mica::VmPerms): the memory around it comes now. kErrNotFound if
// the address is no such place or the mapping does not allow it;
// kErrQuotaExceeded, kErrNoMemory or kErrLimit if there is no memory for it
// (the program's share is used up) or no room in its list of mappings.
int64_t fill(Process& p, uint64_t address, uint32_t need);
// Maps `memory` (from its start; the mapping takes the handle) at [start, start + size).
int64_t map_memory(Process& p, uint64_t start, uint64_t size, uint32_t perms, mica::Handle memory);
// `size` bytes of memory object `from` at `from_offset` into `to` at `to_offset`.
int64_t copy_memory(mica::Handle from, uint64_t from_offset, mica::Handle to, uint64_t to_offset, uint64_t size);
// Unmaps [start, start + size), splitting mappings that reach past it.
int64_t unmap(Process& p, uint64_t start, uint64_t size);
int64_t protect(Process& p, uint64_t start, uint64_t size, uint32_t perms);
// A free range of `size` bytes below p.mmap_top, or 0.
uint64_t find_free(Process& p, uint64_t size);
// `address` is below p's stack, within its limit: the stack now reaches it
// (twice as much mapped, at least). False if it cannot.
bool grow_stack(Process& p, uint64_t address);

// --- programs (loader.cpp) ---
// Loads the ELF file `path` into the new process p and builds its first
// thread's stack (argv, envp, auxv); `entry` and `stack` receive where it starts.
int64_t load_program(Process& p, const char* path, const char* strings, uint32_t argc, uint32_t envc,
                     uint32_t size, uint64_t* entry, uint64_t* stack);
// The same, for `path` already found as `file` (links followed), stat'ed as `st`.
int64_t load_program(Process& p, const char* path, const mica::files::Name& file, const proto::fs::Stat::Reply& st,
                     const char* strings, uint32_t argc, uint32_t envc, uint32_t size, uint64_t* entry,
                     uint64_t* stack);

// --- system calls (calls.cpp, files.cpp) ---
// Serves the call the thread of `p` stopped at; false if it is answered later.
// Otherwise *result is what RAX gets (a negative errno on failure) and *end
// is set when the process is gone (nothing to answer).
struct CallState {
    mica::ThreadRegs regs;
    int64_t result = 0;
    bool ended = false;
    bool thread_ended = false;  // the calling thread ended, its process goes on
    bool later = false;  // answered later (the call was saved)
    bool regs_changed = false;
    bool have_regs = false;  // `regs` were read (or written) while serving
    bool restart = false;    // the call is made again (its process stopped first: when it continues)
};
void serve(Process& p, uint64_t number, CallState& s);
// Random bytes for getrandom, /dev/urandom and AT_RANDOM (calls.cpp).
void fill_random(uint8_t* out, size_t size);
// r is set to make call `number` again: back onto its syscall instruction (2
// bytes), the number in RAX again, as the thread is resumed.
inline void rewind_call(mica::ThreadRegs& r, uint64_t number) { r.rip -= 2, r.rax = number; }
// Signals (signal.cpp): one sent to p (or to its thread t, `to_thread`) is
// pending until a thread that does not block it next stops here;
// deliver_signals then enters a handler on thread t (r changed: write it) or
// takes the default action (false: p has ended).
void raise_signal(Process& p, int signal, Task* to_thread = nullptr);
bool signal_waiting(const Process& p, const Task& t);
bool any_signal_waiting(const Process& p);  // for some thread of p
bool deliver_signals(Process& p, Task& t, mica::ThreadRegs& r);
// t waits in a call and an unblocked signal is pending: the call ends (EINTR,
// or restarted after the handler if it has SA_RESTART and the call allows)
// and the signal is delivered. raise_signal does it for the thread it picks.
void interrupt(Process& p, Task& t);
// A wait on a helper thread (calls.cpp: a console read, a sleep) taken back
// from it: its saved reply, and whether a restart may repeat the call. False if none.
bool take_helper_wait(Process& p, Task& t, mica::Handle* saved, bool* restartable);
// Futexes (futex.cpp): the call, a wake of `count` waiters of the word at
// `address` (the number woken), and a wait taken back (its saved reply; false if none).
int64_t futex(Process& p, const uint64_t* a, CallState& s);
int64_t futex_wake(Process& p, uint64_t address, uint64_t count, uint32_t bitset = ~0u);
bool futex_take(Task& t, mica::Handle* saved);
// Starts the timer thread if it is not running, and has it look at the deadlines again.
void timer_watch();
// alarm, setitimer, getitimer (ITIMER_REAL); alarm_wake sends SIGALRM to
// the programs whose timer is due (on the main thread, at a Wake).
int64_t itimer(Process& p, uint64_t number, const uint64_t* a);
void alarm_wake();
// poll, ppoll, select, pselect6 (poll.cpp); poll_wake looks at every call
// that waits again (on the main thread, after a change).
int64_t poll_call(Process& p, uint64_t number, const uint64_t* a, CallState& s);
void poll_wake();
// From a helper thread: the main thread runs poll_wake (a Wake message).
void wake_main();
struct Wake {
    static constexpr uint64_t kLabel = 0x9f0;
    struct Request { uint32_t unused; };
    struct Reply { uint32_t unused; };
};
// A helper reads the console's next line for p (if none does yet), for a
// poll; console_cancel takes a helper's read of the console back (p ends).
void console_prefetch(Process& p);
void console_cancel(Process& p);
// A new thread of p (clone with CLONE_THREAD), running from `regs`; its tid.
int64_t new_thread(Process& p, const uint64_t* a, const mica::ThreadRegs& regs);
// The calling thread ends (exit): true if p goes on, false if it was p's last.
bool exit_thread(Process& p, Task& t);
// Every thread of p but t ends (execve).
void end_other_threads(Process& p, Task& t);
// Frees what p holds for thread t (its handle, its waits).
void release_task(Process& p, Task& t);
int64_t sigreturn(Process& p, CallState& s);
// The console's terminal modes (one console, so one set, as a tty has):
// TCGETS, TCSETS. Back to canonical with echo when a program the shell
// started ends (as the shell would see to on Linux).
extern lx::Termios g_termios;
void reset_termios();
// The time on a Linux clock (REALTIME and its variants: from the RTC; else since boot).
lx::Timespec clock_now(uint64_t clock);
// fork, execve, wait4 (process.cpp); pipes (pipe.cpp).
bool serve_process_call(Process& p, uint64_t number, const uint64_t* a, CallState& s);
int64_t pipe_create(Process& p, uint64_t fds_address, uint64_t flags);
int64_t pipe_read(Process& p, Fd& f, uint64_t to, uint64_t size, CallState& s);
int64_t pipe_write(Process& p, Fd& f, uint64_t from, uint64_t size, CallState& s);
void pipe_attach(Fd& f);  // one more descriptor for this end
// Opens the FIFO (inode, generation) as descriptor fd of p (free) for
// `flags`: a reader waits for a writer and a writer for a reader, unless
// O_NONBLOCK (a writer then fails with ENXIO) or O_RDWR.
int64_t fifo_open(Process& p, int64_t fd, uint32_t inode, uint32_t generation, uint64_t flags, CallState& s);
void pipe_detach(Fd& f);  // one fewer: the last writer's close is the reader's end of file
// Answers a waiting call (and forgets it).
void answer(Waiter& w, int64_t result);
// The call being served waits: its reply is saved into w. False if it cannot be.
bool wait_here(Process& p, Waiter& w, uint64_t address, uint64_t size);
bool serve_file_call(Process& p, uint64_t number, const uint64_t* a, CallState& s);
void close_all(Process& p);
void close_fd(Process& p, Fd& f);  // its locks on the file go too
// Sends the files' last closes that wait to go in a batch (files.cpp).
void flush_closes();
// Call `number` of p's current thread (arguments `a`; null: not read yet)
// is about to be served: the first bytes an open brought are dropped
// unless this reads them (files.cpp).
void first_check(const Process& p, uint64_t number, const uint64_t* a);
// Descriptor `fd` of p, or null if it is not open.
Fd* fd_of(Process& p, uint64_t fd);
// The lowest free descriptor from `from`, or -EMFILE.
int64_t free_fd(Process& p, uint64_t from = 0);
// One more descriptor holds what f holds (dup, fork): f is that copy.
void fd_attach(Fd& f);
// A new open file description's number (for Fd::description).
uint32_t new_description();
// F_SETFL, FIONBIO: O_APPEND and O_NONBLOCK of `flags` become those of
// every descriptor, in every program, with f's open file description.
void set_status_flags(const Fd& f, uint64_t flags);
// Sockets over net: (sockets.cpp): the socket calls, and read, write, readv
// and writev on a socket; false if `number` is none of them.
bool serve_socket_call(Process& p, uint64_t number, const uint64_t* a, CallState& s);
// The waiting socket calls tried again (on the main thread, at a Wake).
void socket_wake();
// poll's bits for a socket, of those `wanted` and the errors; when it has
// none, net: is asked to wake us at its next change.
int16_t socket_ready(const Fd& f, int16_t wanted);
void socket_attach(Fd& f);
void socket_detach(Fd& f);  // the last descriptor's close closes it on net:
int64_t socket_ioctl(Process& p, Fd& f, uint64_t request, uint64_t arg);
// What /proc/self/fd/N names for it: "socket:[N]".
uint64_t socket_number(const Fd& f);
// Byte-range locks (locks.cpp): fcntl F_GETLK, F_SETLK, F_SETLKW on f;
// locks_release drops p's locks on `path` (null: on every file, and its
// waits, as p ends).
int64_t lock_call(Process& p, Fd& f, uint64_t cmd, uint64_t address, CallState& s);
void locks_release(Process& p, const char* path);
void open_console_fds(Process& p);
// Ends the program with exit code `code`, or by `signal` if not 0. Its
// parent (if it has one) finds it with wait4; the shell sees the code, or
// 128 + the signal.
void end(Process& p, int64_t code, int64_t signal = 0);
Process* parent_of(const Process& p);
// A free slot holding a new foreign Mica process named `name`, not started,
// whose faults and system calls come here badged with the slot; null (and
// *error) if none can be had.
Process* new_process(const char* name, int64_t* error);
// Frees its memory, descriptors and thread (a zombie keeps only its process handle);
// logs the unimplemented calls it made.
void free_resources(Process& p);

// `path` on file: as it is, no link followed (most names hold none).
int64_t plain_name(Process& p, const char* path, mica::files::Name* out);
// The Linux path `path` (relative to p's cwd) as a Mica name on file:; a
// symbolic link at the end of it is followed (up to 40 of them) unless
// `follow` is false; links in the middle are followed always.
// With `st`, what it names is stat'ed too (st->type 0: it does not exist),
// saving the caller a request to the file server.
int64_t linux_name(Process& p, const char* path, mica::files::Name* out, bool follow = true,
                   proto::fs::Stat::Reply* st = nullptr);
// The target of the symbolic link `n` (NUL-terminated); kErrInvalidArgument if it is none.
int64_t link_target(const mica::files::Name& n, char* out, size_t size);

}  // namespace personality
