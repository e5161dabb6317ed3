/*
 * linux-threads: POSIX threads through the Linux personality. A static
 * glibc program, unmodified in the way any pthread program is: glibc
 * creates threads with clone(CLONE_THREAD|...) after clone3 says ENOSYS,
 * and locks, joins and waits with futexes. Each part checks what it sees
 * and prints "linux-threads: PART ok" or a FAILED line; the last line is
 * "linux-threads: done, N failures". Runs the same on Linux.
 *
 * The poll part waits for descriptors while other threads write, close and
 * signal: poll, ppoll, select and pselect, with and without timeouts.
 *
 *   linux-threads            every part
 *   linux-threads exec-done  (what the execve part runs: prints a line)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char* part, int ok, const char* what) {
    if (ok) return;
    ++failures;
    printf("linux-threads: FAILED %s: %s\n", part, what);
}

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* --- counter: 8 threads, a mutex, 20,000 increments each --- */
enum { kThreads = 8, kIncrements = 20000 };
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_counter;
static __thread long t_own;  /* thread-local: each thread counts its own */
static pid_t g_tids[kThreads];

static void* count(void* arg) {
    long index = (long)arg;
    g_tids[index] = gettid_();
    for (int i = 0; i < kIncrements; ++i) {
        pthread_mutex_lock(&g_lock);
        ++g_counter;
        pthread_mutex_unlock(&g_lock);
        ++t_own;
        if (i % 1000 == 0) sched_yield();
    }
    return (void*)(t_own * 10 + index);
}

static void counter(void) {
    pthread_t threads[kThreads];
    for (long i = 0; i < kThreads; ++i) {
        int e = pthread_create(&threads[i], NULL, count, (void*)i);
        if (e) printf("linux-threads: pthread_create: %s\n", strerror(e));
        check("counter", e == 0, "pthread_create");
    }
    int results_ok = 1;
    for (long i = 0; i < kThreads; ++i) {
        void* result = NULL;
        check("counter", pthread_join(threads[i], &result) == 0, "pthread_join");
        results_ok &= (long)result == (long)kIncrements * 10 + i;
    }
    check("counter", g_counter == (long)kThreads * kIncrements, "the total under the mutex");
    check("counter", results_ok, "each thread's own (thread-local) count, returned through join");
    check("counter", t_own == 0, "the main thread's thread-local count untouched");
    int distinct = 1;
    for (int i = 0; i < kThreads; ++i) {
        distinct &= g_tids[i] != getpid() && g_tids[i] > 0;
        for (int j = 0; j < i; ++j) distinct &= g_tids[i] != g_tids[j];
    }
    check("counter", distinct, "every thread has its own tid, none the pid");
    check("counter", gettid_() == getpid(), "the main thread's tid is the pid");
    printf("linux-threads: counter ok (%ld)\n", g_counter);
}

/* --- queue: a producer and two consumers, a condition variable --- */
enum { kItems = 2000, kSlots = 8 };
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_not_empty = PTHREAD_COND_INITIALIZER, q_not_full = PTHREAD_COND_INITIALIZER;
static int q_items[kSlots], q_head, q_used, q_done;
static long q_sum[2];

static void* produce(void* arg) {
    (void)arg;
    for (int i = 1; i <= kItems; ++i) {
        pthread_mutex_lock(&q_lock);
        while (q_used == kSlots) pthread_cond_wait(&q_not_full, &q_lock);
        q_items[(q_head + q_used++) % kSlots] = i;
        pthread_cond_signal(&q_not_empty);
        pthread_mutex_unlock(&q_lock);
    }
    pthread_mutex_lock(&q_lock);
    q_done = 1;
    pthread_cond_broadcast(&q_not_empty);
    pthread_mutex_unlock(&q_lock);
    return NULL;
}

static void* consume(void* arg) {
    long which = (long)arg;
    for (;;) {
        pthread_mutex_lock(&q_lock);
        while (q_used == 0 && !q_done) pthread_cond_wait(&q_not_empty, &q_lock);
        if (q_used == 0) {
            pthread_mutex_unlock(&q_lock);
            return NULL;
        }
        int item = q_items[q_head];
        q_head = (q_head + 1) % kSlots, --q_used;
        pthread_cond_signal(&q_not_full);
        pthread_mutex_unlock(&q_lock);
        q_sum[which] += item;
    }
}

static void queue(void) {
    pthread_t p, c[2];
    pthread_create(&c[0], NULL, consume, (void*)0);
    pthread_create(&c[1], NULL, consume, (void*)1);
    pthread_create(&p, NULL, produce, NULL);
    pthread_join(p, NULL);
    pthread_join(c[0], NULL);
    pthread_join(c[1], NULL);
    check("queue", q_sum[0] + q_sum[1] == (long)kItems * (kItems + 1) / 2, "every item consumed once");
    printf("linux-threads: queue ok\n");
}

/* --- timeouts: a timed wait that nobody ends, and one that is ended in time --- */
static sem_t t_sem;

static void* post_later(void* arg) {
    (void)arg;
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    sem_post(&t_sem);
    return NULL;
}

static void timeouts(void) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec start, deadline, end;
    clock_gettime(CLOCK_REALTIME, &start);
    deadline = start;
    deadline.tv_nsec += 50 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
    pthread_mutex_lock(&m);
    int e = pthread_cond_timedwait(&c, &m, &deadline);
    pthread_mutex_unlock(&m);
    clock_gettime(CLOCK_REALTIME, &end);
    long waited = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    check("timeouts", e == ETIMEDOUT, "pthread_cond_timedwait with nobody to signal: ETIMEDOUT");
    check("timeouts", waited >= 45, "it waited until its deadline");
    sem_init(&t_sem, 0, 0);
    pthread_t poster;
    pthread_create(&poster, NULL, post_later, NULL);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    check("timeouts", sem_timedwait(&t_sem, &deadline) == 0, "sem_timedwait posted before its deadline");
    pthread_join(poster, NULL);
    /* clock_nanosleep to a time (TIMER_ABSTIME), on both clocks; one past returns at once */
    clockid_t clocks[2] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (int i = 0; i < 2; ++i) {
        clock_gettime(clocks[i], &start);
        deadline = start;
        deadline.tv_nsec += 50 * 1000 * 1000;
        if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
        e = clock_nanosleep(clocks[i], TIMER_ABSTIME, &deadline, NULL);
        clock_gettime(clocks[i], &end);
        waited = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
        check("timeouts", e == 0 && waited >= 45 && waited < 5000, "clock_nanosleep(TIMER_ABSTIME) until 50 ms on");
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    deadline = start; /* (the monotonic clock may be under a second old) */
    e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    waited = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    check("timeouts", e == 0 && waited < 20, "clock_nanosleep(TIMER_ABSTIME) to a time past: at once");
    printf("linux-threads: timeouts ok\n");
}

/* --- signals: pthread_kill reaches the thread named, a process signal a thread not blocking it --- */
static volatile pid_t s_handled_by;
static volatile int s_ready, s_go;

static void on_usr1(int signal) {
    (void)signal;
    s_handled_by = gettid_();
}

static void* wait_for_signal(void* arg) {
    (void)arg;
    s_ready = gettid_();
    while (!s_go) sched_yield();
    return NULL;
}

static void signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    pthread_t t;
    pthread_create(&t, NULL, wait_for_signal, NULL);
    while (!s_ready) sched_yield();
    pthread_kill(t, SIGUSR1);
    for (int i = 0; i < 100000 && !s_handled_by; ++i) sched_yield();
    check("signals", s_handled_by == s_ready, "pthread_kill's signal handled by that thread");
    /* The main thread blocks SIGUSR1: kill() to the process goes to the other one. */
    s_handled_by = 0;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 100000 && !s_handled_by; ++i) sched_yield();
    check("signals", s_handled_by == s_ready, "a process's signal taken by the thread that does not block it");
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    s_go = 1;
    pthread_join(t, NULL);
    printf("linux-threads: signals ok\n");
}

/* --- fork in a threaded process: the child has the calling thread alone --- */
static void* fork_from_thread(void* arg) {
    (void)arg;
    pid_t child = fork();
    if (child == 0) {
        pthread_t t;
        /* The child can make threads of its own. */
        int made = pthread_create(&t, NULL, count, (void*)0) == 0 && pthread_join(t, NULL) == 0;
        _exit(made ? 42 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return (void*)(long)(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void forks(void) {
    pthread_t t;
    void* result = NULL;
    pthread_create(&t, NULL, fork_from_thread, NULL);
    pthread_join(t, &result);
    check("fork", (long)result == 42, "a child forked by a thread runs, makes a thread, and exits 42");
    printf("linux-threads: fork ok\n");
}

/* --- execve with other threads: they end, the new program runs --- */
static void* block_forever(void* arg) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    (void)arg;
    pthread_mutex_lock(&m);
    for (;;) pthread_cond_wait(&c, &m);
    return NULL;
}

static void* spin_forever(void* arg) {
    (void)arg;
    for (volatile unsigned long i = 0;; ++i) {
    }
    return NULL;
}

static void execs(const char* self) {
    pid_t child = fork();
    if (child == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, spin_forever, NULL);
        sched_yield();
        execl("/proc/self/exe", self, "exec-done", (char*)NULL);
        _exit(2);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) printf("linux-threads: exec: status %#x\n", status);
    check("exec", WIFEXITED(status) && WEXITSTATUS(status) == 7, "execve ends the other threads; the program runs");
    /* And exit_group (returning from main) with threads blocked and busy. */
    child = fork();
    if (child == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, block_forever, NULL);
        pthread_create(&b, NULL, spin_forever, NULL);
        sched_yield();
        exit(5);
    }
    waitpid(child, &status, 0);
    check("exec", WIFEXITED(status) && WEXITSTATUS(status) == 5, "exit ends every thread");
    printf("linux-threads: exec ok\n");
}

/* --- poll and select: waiting for pipes that other threads write and close --- */
static int p_pipe[2];

static long since_ms(const struct timespec* start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void pause_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
}

static void* write_later(void* arg) {
    pause_ms(20);
    if (write(p_pipe[1], "x", 1) != 1) return NULL;
    if (arg) close(p_pipe[1]);
    return NULL;
}

static volatile int p_usr2;
static void on_usr2(int signal) { (void)signal, ++p_usr2; }

static void* signal_later(void* arg) {
    pause_ms(20);
    pthread_kill(*(pthread_t*)arg, SIGUSR2);
    return NULL;
}

static void polls(void) {
    struct timespec start;
    char c;
    if (pipe(p_pipe)) check("poll", 0, "pipe");
    struct pollfd fds[3] = {{p_pipe[0], POLLIN, 0}, {1000, POLLIN, 0}, {-1, POLLIN, 0}};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int n = poll(fds, 1, 50);
    check("poll", n == 0 && fds[0].revents == 0, "an empty pipe times out: 0");
    check("poll", since_ms(&start) >= 45, "after its timeout");
    n = poll(fds, 3, 0);
    check("poll", n == 1 && fds[1].revents == POLLNVAL && fds[2].revents == 0, "POLLNVAL for a closed descriptor, a negative one skipped");
    pthread_t writer;
    pthread_create(&writer, NULL, write_later, NULL);
    n = poll(fds, 1, -1);
    check("poll", n == 1 && fds[0].revents == POLLIN, "woken by another thread's write");
    check("poll", read(p_pipe[0], &c, 1) == 1 && c == 'x', "the byte written");
    pthread_join(writer, NULL);

    /* select: a timeout, then a write. */
    fd_set set;
    FD_ZERO(&set);
    FD_SET(p_pipe[0], &set);
    struct timeval tv = {0, 30000};
    check("poll", select(p_pipe[0] + 1, &set, NULL, NULL, &tv) == 0 && !FD_ISSET(p_pipe[0], &set), "select times out, its set emptied");
    pthread_create(&writer, NULL, write_later, NULL);
    FD_SET(p_pipe[0], &set);
    check("poll", select(p_pipe[0] + 1, &set, NULL, NULL, NULL) == 1 && FD_ISSET(p_pipe[0], &set), "select woken by a write");
    check("poll", read(p_pipe[0], &c, 1) == 1, "read after select");
    pthread_join(writer, NULL);
    FD_ZERO(&set);
    FD_SET(p_pipe[1], &set);
    check("poll", select(p_pipe[1] + 1, NULL, &set, NULL, NULL) == 1, "select: an empty pipe can be written");

    /* A signal ends a poll that waits: EINTR (poll is never restarted). */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr2;
    sigaction(SIGUSR2, &action, NULL);
    pthread_t self = pthread_self(), signaller;
    pthread_create(&signaller, NULL, signal_later, &self);
    errno = 0;
    n = poll(fds, 1, 5000);
    check("poll", n == -1 && errno == EINTR, "a signal's handler ends it with EINTR");
    pthread_join(signaller, NULL);

    /* The signal blocked and pending: ppoll with a mask that blocks it too
       waits on for the write; one with an empty mask ends at once. */
    sigset_t mask, empty, old;
    sigemptyset(&mask);
    sigemptyset(&empty);
    sigaddset(&mask, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    pthread_create(&signaller, NULL, signal_later, &self);
    pthread_join(signaller, NULL);
    pthread_create(&writer, NULL, write_later, NULL);
    struct timespec limit = {5, 0};
    p_usr2 = 0;
    n = ppoll(fds, 1, &limit, &mask);
    check("poll", n == 1 && fds[0].revents == POLLIN && p_usr2 == 0, "ppoll's mask held the signal off until the write");
    check("poll", read(p_pipe[0], &c, 1) == 1, "read after ppoll");
    pthread_join(writer, NULL);
    errno = 0;
    n = ppoll(fds, 1, &limit, &empty);
    check("poll", n == -1 && errno == EINTR && p_usr2 == 1, "ppoll's own mask lets the pending signal in: EINTR");
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* The other end closed: POLLHUP for the reader, POLLERR for a writer. */
    pthread_create(&writer, NULL, write_later, (void*)1);
    pthread_join(writer, NULL);
    check("poll", read(p_pipe[0], &c, 1) == 1, "the last byte");
    n = poll(fds, 1, 1000);
    check("poll", n == 1 && (fds[0].revents & POLLHUP), "POLLHUP once no writer is left");
    int other[2];
    if (pipe(other)) check("poll", 0, "pipe");
    close(other[0]);
    struct pollfd w = {other[1], POLLOUT, 0};
    check("poll", poll(&w, 1, 1000) == 1 && (w.revents & POLLERR), "POLLERR once no reader is left");
    close(other[1]);
    close(p_pipe[0]);
    printf("linux-threads: poll ok\n");
}

/* --- detached threads that end on their own, many times over --- */
static void* nothing(void* arg) { return arg; }

static void churn(void) {
    for (int i = 0; i < 200; ++i) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0) {
            check("churn", 0, "pthread_create");
            break;
        }
        if (i % 2) pthread_detach(t);
        else pthread_join(t, NULL);
    }
    printf("linux-threads: churn ok\n");
}

/* --- lazy: large mappings take memory only where they are touched --- */
enum { kLazyThreads = 24, kStackUse = 256 << 10 };
static pthread_barrier_t l_barrier;

static void* use_stack(void* arg) {
    volatile char used[kStackUse];
    for (long i = 0; i < kStackUse; i += 4096) used[i] = (char)(i >> 12);
    pthread_barrier_wait(&l_barrier); /* all of them alive at once */
    long sum = 0;
    for (long i = 0; i < kStackUse; i += 4096) sum += used[i];
    return (void*)(sum + (long)arg);
}

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') value = atol(line + n + 1);
    if (f) fclose(f);
    return value;
}

static void lazy(void) {
    long size_before = status_kb("VmSize"), resident_before = status_kb("VmRSS");
    struct rlimit r;
    check("lazy", getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur >= 8 << 20, "RLIMIT_STACK is 8 MiB or more");
    /* Two mappings of 1 GiB: more than the machine has. */
    const size_t size = 1UL << 30;
    char* a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("lazy", a != MAP_FAILED && b != MAP_FAILED, "two mappings of 1 GiB");
    if (a == MAP_FAILED || b == MAP_FAILED) return;
    a[0] = 1, a[size - 1] = 2, a[size / 2 + 12345] = 3;
    for (size_t i = 0; i < (4 << 20); i += 4096) b[i] = (char)(i >> 12); /* 4 MiB, in order */
    int same = 1;
    for (size_t i = 0; i < (4 << 20); i += 4096) same &= b[i] == (char)(i >> 12) && b[i + 1] == 0;
    check("lazy", a[0] == 1 && a[size - 1] == 2 && a[size / 2 + 12345] == 3 && same, "what was written is there");
    check("lazy", a[1] == 0 && a[size - 2] == 0 && a[size / 3] == 0 && b[5 << 20] == 0, "the rest reads as zeros");
    long grown = status_kb("VmSize") - size_before, held = status_kb("VmRSS") - resident_before;
    check("lazy", size_before > 0 && resident_before > 0 && grown >= 2L << 20 && held < 64L << 10,
          "/proc/self/status: VmSize 2 GiB more, VmRSS less than 64 MiB more");
    /* Calls read untouched memory (zeros) and write into it. */
    int fds[2];
    char z[100];
    check("lazy", pipe(fds) == 0 && write(fds[1], a + size / 4, sizeof z) == (long)sizeof z, "write from untouched memory");
    memset(z, 1, sizeof z);
    int zeros = read(fds[0], z, sizeof z) == (long)sizeof z;
    for (size_t i = 0; i < sizeof z; ++i) zeros &= z[i] == 0;
    check("lazy", zeros, "which is zeros");
    char* into = a + size / 4 * 3 + 100;
    check("lazy", write(fds[1], "lazy", 4) == 4 && read(fds[0], into, 4) == 4 && !memcmp(into, "lazy", 4),
          "read into untouched memory");
    close(fds[0]), close(fds[1]);
    /* mprotect and munmap in the middle of it */
    check("lazy", mprotect(a + size / 8, 1 << 20, PROT_READ) == 0 && a[size / 8 + 100] == 0, "mprotect, then read");
    check("lazy", munmap(a + size / 4 + (1 << 20), 1 << 20) == 0, "munmap of a part");
    /* fork: the child sees what was written and zeros elsewhere; its writes are its own */
    pid_t pid = fork();
    if (pid == 0) {
        int ok = a[0] == 1 && a[size - 1] == 2 && b[4096] == 1 && a[5 << 20] == 0 && !memcmp(into, "lazy", 4);
        a[0] = 9, a[7 << 20] = 9;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    check("lazy", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a forked child sees the same");
    check("lazy", a[0] == 1 && a[7 << 20] == 0, "the child's writes are its own");
    check("lazy", munmap(a, size) == 0 && munmap(b, size) == 0, "munmap");
    /* Threads with stacks of RLIMIT_STACK, each using 256 KiB of it, alive at once */
    pthread_t threads[kLazyThreads];
    pthread_barrier_init(&l_barrier, NULL, kLazyThreads);
    int made = 0;
    for (long i = 0; i < kLazyThreads; ++i) made += pthread_create(&threads[i], NULL, use_stack, (void*)i) == 0;
    check("lazy", made == kLazyThreads, "24 threads with stacks of RLIMIT_STACK");
    long want = 0;
    for (long i = 0; i < kStackUse; i += 4096) want += (char)(i >> 12);
    int sums = 1;
    for (long i = 0; i < made; ++i) {
        void* result;
        sums &= pthread_join(threads[i], &result) == 0 && (long)result == want + i;
    }
    check("lazy", sums, "each used its stack");
    pthread_barrier_destroy(&l_barrier);
    printf("linux-threads: lazy ok\n");
}

/* --- remap: mremap shrinks, grows in place or moves, keeping the bytes --- */
static int unreadable(const void* address) {
    int ends[2], bad;
    if (pipe(ends)) return 0;
    bad = write(ends[1], address, 1) == -1 && errno == EFAULT;
    close(ends[0]), close(ends[1]);
    return bad;
}

static void remap(void) {
    const size_t k = 4096;
    char* a = mmap(NULL, 16 * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("remap", a != MAP_FAILED, "mmap of 64 KiB");
    if (a == MAP_FAILED) return;
    for (size_t i = 0; i < 16 * k; i += k) a[i] = (char)(i / k + 1);
    check("remap", mremap(a, 16 * k, 8 * k, 0) == a && a[7 * k] == 8 && unreadable(a + 8 * k),
          "shrunk in place: the rest is gone");
    char* b = mremap(a, 8 * k, 4096 * k, MREMAP_MAYMOVE);
    int same = b != MAP_FAILED;
    for (size_t i = 0; same && i < 8 * k; i += k) same &= b[i] == (char)(i / k + 1);
    check("remap", same && b[8 * k] == 0 && b[4096 * k - 1] == 0, "grown to 16 MiB (moved if it must): the bytes kept, the rest zeros");
    if (b == MAP_FAILED) return;
    b[4096 * k - 1] = 9;
    /* A place made for it: MREMAP_FIXED moves it there. */
    char* place = mmap(NULL, 8192 * k, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* c = mremap(b, 4096 * k, 4096 * k, MREMAP_MAYMOVE | MREMAP_FIXED, place);
    check("remap", place != MAP_FAILED && c == place && c[0] == 1 && c[7 * k] == 8 && c[4096 * k - 1] == 9 &&
                       (b == c || unreadable(b)), "MREMAP_FIXED: moved to the place given, the old one gone");
    /* Two mappings side by side: the first cannot grow in place. */
    char* two = mmap(NULL, 32 * k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("remap", two != MAP_FAILED && mremap(two, 16 * k, 32 * k, 0) == MAP_FAILED && errno == ENOMEM,
          "no room after it and no MREMAP_MAYMOVE: ENOMEM");
    check("remap", mremap(two + 1, k, 2 * k, 0) == MAP_FAILED && errno == EINVAL, "an unaligned address: EINVAL");
    check("remap", mremap(two, k, 0, 0) == MAP_FAILED && errno == EINVAL, "a new size of 0: EINVAL");
    check("remap", mremap(two, k, 2 * k, MREMAP_FIXED, two + 64 * k) == MAP_FAILED && errno == EINVAL,
          "MREMAP_FIXED without MREMAP_MAYMOVE: EINVAL");
    munmap(two, 32 * k);
    check("remap", mremap(two, k, 2 * k, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT, "nothing mapped there: EFAULT");
    munmap(c, 4096 * k);
    if (place != MAP_FAILED && c != place) munmap(place, 8192 * k);
    /* glibc's realloc of a large block (mmap'd) moves it with mremap */
    char* big = malloc(1 << 20);
    if (big) memset(big, 7, 1 << 20);
    char* bigger = big ? realloc(big, 16 << 20) : NULL;
    check("remap", bigger && bigger[0] == 7 && bigger[(1 << 20) - 1] == 7, "realloc from 1 to 16 MiB keeps the bytes");
    free(bigger);
    printf("linux-threads: remap ok\n");
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "exec-done")) {
        printf("linux-threads: the new program runs\n");
        return 7;
    }
    counter();
    queue();
    timeouts();
    signals();
    forks();
    execs(argv[0]);
    polls();
    churn();
    lazy();
    remap();
    printf("linux-threads: done, %d failures\n", failures);
    return failures != 0;
}
