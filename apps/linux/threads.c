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
    printf("linux-threads: done, %d failures\n", failures);
    return failures != 0;
}
