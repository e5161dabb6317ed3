/*
 * linux-jobs: job control as a static glibc program sees it through the
 * Linux personality. One line per check ("linux-jobs: ok ..." or
 * "linux-jobs: FAILED ..."), then "linux-jobs: done, N checks, M failures".
 *
 * The parts: process groups (setpgid and its errors, getpgid, getsid,
 * setsid), stopping and continuing (SIGSTOP of a sleeping child, of one
 * busy in its own code, of one making calls; wait4 with WUNTRACED and
 * WCONTINUED; SIGCHLD; a signal to a stopped child waits for SIGCONT),
 * signals and waits by group (kill(-pgid), waitpid(0), waitpid(-pgid)), an
 * orphaned group with a stopped member (SIGHUP, SIGCONT), and, when
 * standard input is a terminal whose session this program leads (as when
 * Mica's shell starts it), the terminal: tcgetpgrp, tcsetpgrp, TIOCGSID,
 * SIGTTIN for a read from the background (EIO when ignored), and SIGTSTP
 * dropped for an orphaned group. Last, timers: alarm's remaining seconds,
 * a periodic ITIMER_REAL's SIGALRMs, getitimer, a blocking read ended by
 * SIGALRM (EINTR), and a forked child that has no timer.
 *
 * "linux-jobs raw" instead checks reads of the terminal in raw mode with
 * VMIN 0: with VTIME 0 a read returns 0 at once, with VTIME 3 after about
 * 0.3 s; then it says "type a key" and a read with VTIME 100 returns the
 * key typed; then with VMIN 3 it says "type three keys", a child says "and
 * two more" a second later, and one read must return all three ("xyz").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void check(const char* part, int ok, const char* what) {
    ++checks;
    if (!ok) ++failures;
    printf("linux-jobs: %s %s: %s", ok ? "ok" : "FAILED", part, what);
    if (!ok) printf(" (errno %d: %s)", errno, strerror(errno));
    printf("\n");
    fflush(stdout);
}

static void nap(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A child that waits for signals (in its own group if `own_group`). */
static pid_t sleeper(int own_group) {
    pid_t pid = fork();
    if (pid == 0) {
        if (own_group) setpgid(0, 0);
        for (;;) pause();
    }
    if (own_group) setpgid(pid, pid);  /* both sides, as shells do: whichever comes first */
    return pid;
}

static volatile int g_chld;
static void on_chld(int s) { (void)s; ++g_chld; }

static char stat_state(pid_t pid) {
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return '?';
    text[n] = '\0';
    char* close_paren = strrchr(text, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static void groups(void) {
    check("groups", getpgrp() == getpgid(0), "getpgrp is getpgid(0)");
    check("groups", getsid(0) > 0 && getsid(getpid()) == getsid(0), "getsid");
    pid_t a = sleeper(1);
    check("groups", getpgid(a) == a, "setpgid(child, child) makes a group");
    check("groups", getsid(a) == getsid(0), "the child stays in our session");
    errno = 0;
    check("groups", setpgid(a, 99999) == -1 && errno == EPERM, "a group not in the session: EPERM");
    errno = 0;
    check("groups", setpgid(99999, 0) == -1 && errno == ESRCH, "no such process: ESRCH");
    errno = 0;
    check("groups", setpgid(0, -1) == -1 && errno == EINVAL, "a negative group: EINVAL");
    errno = 0;
    check("groups", getpgid(99999) == -1 && errno == ESRCH, "getpgid of nobody: ESRCH");
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);

    /* A child leaves for a session of its own; then it leads a group, so a second setsid fails. */
    pid_t c = fork();
    if (c == 0) {
        int ok = setsid() == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
        errno = 0;
        ok = ok && setsid() == -1 && errno == EPERM;
        errno = 0;
        ok = ok && tcgetpgrp(0) == -1 && errno == ENOTTY;  /* no controlling terminal there */
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(c, &status, 0);
    check("groups", WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "setsid: a new session and group; again: EPERM; no terminal: ENOTTY");

    /* setpgid of a child that has run execve: EACCES. */
    pid_t e = fork();
    if (e == 0) {
        execl("/bin/sleep", "sleep", "5", (char*)NULL);
        _exit(127);
    }
    nap(300);
    errno = 0;
    check("groups", setpgid(e, e) == -1 && errno == EACCES, "setpgid after the child's execve: EACCES");
    kill(e, SIGKILL);
    waitpid(e, NULL, 0);
}

static void stopping(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    pid_t a = sleeper(0);
    int status = 0;
    g_chld = 0;
    kill(a, SIGSTOP);
    pid_t got = waitpid(a, &status, WUNTRACED);
    check("stop", got == a && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP, "WUNTRACED reports SIGSTOP");
    nap(50);
    check("stop", g_chld >= 1, "the parent got SIGCHLD for the stop");
    check("stop", stat_state(a) == 'T', "/proc/PID/stat says T");
    check("stop", waitpid(a, &status, WUNTRACED | WNOHANG) == 0, "a stop is reported once");
    kill(a, SIGCONT);
    got = waitpid(a, &status, WCONTINUED);
    check("stop", got == a && WIFCONTINUED(status), "WCONTINUED reports SIGCONT");
    kill(a, SIGSTOP);
    waitpid(a, &status, WUNTRACED);
    kill(a, SIGTERM);
    nap(100);
    check("stop", waitpid(a, &status, WNOHANG) == 0, "SIGTERM waits while it is stopped");
    kill(a, SIGCONT);
    got = waitpid(a, &status, 0);
    check("stop", got == a && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "continued, SIGTERM ends it");

    /* Busy in its own code, making no call: stopped all the same. */
    int fds[2];
    pipe(fds);
    pid_t b = fork();
    if (b == 0) {
        write(fds[1], "b", 1);
        for (volatile unsigned long i = 0;; ++i) {
        }
    }
    char byte;
    read(fds[0], &byte, 1);
    kill(b, SIGSTOP);
    got = waitpid(b, &status, WUNTRACED);
    check("stop", got == b && WIFSTOPPED(status), "a child busy in its own code stops");
    kill(b, SIGKILL);
    got = waitpid(b, &status, 0);
    check("stop", got == b && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "SIGKILL ends a stopped child");
    close(fds[0]);
    close(fds[1]);

    /* Making calls: none gets through while it is stopped. */
    pipe(fds);
    pid_t d = fork();
    if (d == 0) {
        close(fds[0]);
        for (;;) {
            write(fds[1], "d", 1);
            nap(5);
        }
    }
    close(fds[1]);
    read(fds[0], &byte, 1);
    kill(d, SIGSTOP);
    got = waitpid(d, &status, WUNTRACED);
    check("stop", got == d && WIFSTOPPED(status), "a child making calls stops");
    nap(50);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char buf[256];
    while (read(fds[0], buf, sizeof buf) > 0) {
    }
    nap(200);
    errno = 0;
    check("stop", read(fds[0], buf, sizeof buf) == -1 && errno == EAGAIN, "it writes nothing while stopped");
    fcntl(fds[0], F_SETFL, 0);
    kill(d, SIGCONT);
    check("stop", read(fds[0], buf, 1) == 1, "and writes again once continued");
    kill(d, SIGKILL);
    waitpid(d, NULL, 0);
    close(fds[0]);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
}

static void by_group(void) {
    pid_t e1 = sleeper(1);
    pid_t e2 = fork();
    if (e2 == 0) {
        setpgid(0, e1);
        for (;;) pause();
    }
    setpgid(e2, e1);
    check("group", getpgid(e2) == e1, "a second child joins the first's group");
    check("group", kill(-e1, SIGTERM) == 0, "kill(-pgid) to the group");
    int s1 = 0, s2 = 0;
    pid_t w1 = waitpid(-e1, &s1, 0), w2 = waitpid(-e1, &s2, 0);
    check("group", ((w1 == e1 && w2 == e2) || (w1 == e2 && w2 == e1)) && WIFSIGNALED(s1) && WTERMSIG(s1) == SIGTERM &&
                       WIFSIGNALED(s2) && WTERMSIG(s2) == SIGTERM,
          "both ended by it; waitpid(-pgid) reaps them");
    errno = 0;
    check("group", waitpid(-e1, NULL, WNOHANG) == -1 && errno == ECHILD, "then the group has no child: ECHILD");
    errno = 0;
    check("group", kill(-99999, SIGTERM) == -1 && errno == ESRCH, "kill of no group: ESRCH");

    /* waitpid(0): children in our own group only. */
    pid_t other = sleeper(1);
    pid_t mine = fork();
    if (mine == 0) {
        nap(100);
        _exit(7);
    }
    int status = 0;
    pid_t got = waitpid(0, &status, 0);
    check("group", got == mine && WIFEXITED(status) && WEXITSTATUS(status) == 7, "waitpid(0) takes our group's child");
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
}

static void on_hup(int s) {
    (void)s;
    write(3, "H", 1);
    _exit(0);
}

/* A child leaves a grandchild stopped in a group of its own and ends: the
 * group is orphaned with a stopped member, so it gets SIGHUP and SIGCONT. */
static void orphans(void) {
    int fds[2];
    pipe(fds);
    pid_t o = fork();
    if (o == 0) {
        pid_t g = fork();
        if (g == 0) {
            dup2(fds[1], 3);
            signal(SIGHUP, on_hup);
            setpgid(0, 0);
            write(3, "s", 1);
            kill(getpid(), SIGSTOP);
            for (;;) pause();
        }
        char byte;
        read(fds[0], &byte, 1);
        int status;
        waitpid(g, &status, WUNTRACED);  /* stopped */
        _exit(WIFSTOPPED(status) ? 0 : 1);
    }
    close(fds[1]);
    int status = -1;
    waitpid(o, &status, 0);
    check("orphans", WIFEXITED(status) && WEXITSTATUS(status) == 0, "the grandchild stopped itself");
    char byte = 0;
    ssize_t n = read(fds[0], &byte, 1);
    check("orphans", n == 1 && byte == 'H', "orphaned and stopped, it got SIGHUP (and SIGCONT to take it)");
    close(fds[0]);
}

static void terminal(void) {
    pid_t front = tcgetpgrp(0);
    check("tty", front == getpgrp(), "tcgetpgrp: our group is in front");
    pid_t sid = 0;
    check("tty", ioctl(0, TIOCGSID, &sid) == 0 && sid == getsid(0), "TIOCGSID is our session");

    pid_t t = fork();
    if (t == 0) {
        setpgid(0, 0);
        char c;
        read(0, &c, 1);  /* from the background: SIGTTIN stops it */
        _exit(3);
    }
    setpgid(t, t);
    int status = 0;
    pid_t got = waitpid(t, &status, WUNTRACED);
    check("tty", got == t && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTIN, "a read from the background: SIGTTIN");
    kill(t, SIGKILL);
    waitpid(t, NULL, 0);

    pid_t u = fork();
    if (u == 0) {
        setpgid(0, 0);
        signal(SIGTTIN, SIG_IGN);
        char c;
        errno = 0;
        _exit(read(0, &c, 1) == -1 && errno == EIO ? 0 : 1);
    }
    setpgid(u, u);
    waitpid(u, &status, 0);
    check("tty", WIFEXITED(status) && WEXITSTATUS(status) == 0, "with SIGTTIN ignored: EIO");

    pid_t v = sleeper(1);
    check("tty", tcsetpgrp(0, v) == 0 && tcgetpgrp(0) == v, "tcsetpgrp puts a child's group in front");
    signal(SIGTTOU, SIG_IGN);  /* as shells do: we are in the background now */
    check("tty", tcsetpgrp(0, getpgrp()) == 0 && tcgetpgrp(0) == getpgrp(), "and ours back (SIGTTOU ignored)");
    signal(SIGTTOU, SIG_DFL);
    errno = 0;
    check("tty", tcsetpgrp(0, 99999) == -1 && errno == ESRCH, "no such group: ESRCH");
    kill(v, SIGKILL);
    waitpid(v, NULL, 0);

    /* We lead the session and our parent is outside it: our group is orphaned, SIGTSTP is dropped. */
    raise(SIGTSTP);
    check("tty", 1, "SIGTSTP to an orphaned group does not stop it");
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int raw(void) {
    struct termios saved, t;
    if (tcgetattr(0, &saved) != 0) return 1;
    t = saved;
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 0, t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &t);
    char c;
    double start = seconds();
    ssize_t n = read(0, &c, 1);
    check("raw", n == 0 && seconds() - start < 0.2, "VMIN 0, VTIME 0: a read returns 0 at once");
    t.c_cc[VTIME] = 3;
    tcsetattr(0, TCSANOW, &t);
    start = seconds();
    n = read(0, &c, 1);
    double took = seconds() - start;
    check("raw", n == 0 && took > 0.25 && took < 2, "VMIN 0, VTIME 3: 0 after about 0.3 s");
    t.c_cc[VTIME] = 100;
    tcsetattr(0, TCSANOW, &t);
    printf("linux-jobs: raw: type a key\n");
    fflush(stdout);
    n = read(0, &c, 1);
    check("raw", n == 1 && c == 'k', "VMIN 0, VTIME 100: the key typed");
    /* VMIN 3: one key, then (when a child says so, a second later) two more. */
    t.c_cc[VMIN] = 3, t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &t);
    printf("linux-jobs: raw: type three keys\n");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(1000000);
        printf("linux-jobs: raw: and two more\n");
        fflush(stdout);
        _exit(0);
    }
    char keys[8];
    n = read(0, keys, sizeof keys);
    check("raw", n == 3 && !memcmp(keys, "xyz", 3), "VMIN 3: one read takes three keys typed apart");
    waitpid(child, NULL, 0);
    tcsetattr(0, TCSANOW, &saved);
    printf("linux-jobs: done, %d checks, %d failures\n", checks, failures);
    return failures != 0;
}

static volatile int g_alarms;
static void on_alarm(int signal) { (void)signal; ++g_alarms; }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void timers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    check("timers", alarm(0) == 0, "alarm(0) with none set: 0");
    alarm(5);
    unsigned left = alarm(0);
    check("timers", left == 5, "alarm(5), then alarm(0): 5 seconds were left");
    struct itimerval every = {{0, 50000}, {0, 50000}}, got;
    double start = now_s();
    check("timers", setitimer(ITIMER_REAL, &every, NULL) == 0, "setitimer: every 50 ms");
    check("timers", getitimer(ITIMER_REAL, &got) == 0 && got.it_interval.tv_usec == 50000 && got.it_value.tv_sec == 0 &&
                        got.it_value.tv_usec > 0 && got.it_value.tv_usec <= 50000, "getitimer: the interval, and under 50 ms left");
    sigset_t none;
    sigemptyset(&none);
    while (g_alarms < 3) sigsuspend(&none);
    double took = now_s() - start;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &got);
    check("timers", took >= 0.14 && took < 3, "three SIGALRMs, after 150 ms or so");
    check("timers", got.it_interval.tv_usec == 50000, "disarmed: the old timer given back");
    check("timers", getitimer(ITIMER_REAL, &got) == 0 && !got.it_value.tv_sec && !got.it_value.tv_usec, "getitimer: none left");
    int fds[2];
    if (pipe(fds) != 0) fds[0] = fds[1] = -1;
    char byte;
    alarm(1);
    check("timers", read(fds[0], &byte, 1) == -1 && errno == EINTR, "a read that waits, ended by SIGALRM: EINTR");
    close(fds[0]);
    close(fds[1]);
    alarm(100);
    pid_t child = fork();
    if (child == 0) _exit(alarm(0) == 0 ? 0 : 1);
    int status = -1;
    waitpid(child, &status, 0);
    check("timers", WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child has no timer");
    check("timers", alarm(0) >= 99, "the parent keeps its own");
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "raw")) return raw();
    groups();
    stopping();
    by_group();
    orphans();
    if (isatty(0) && getsid(0) == getpid()) terminal();
    timers();
    printf("linux-jobs: done, %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
