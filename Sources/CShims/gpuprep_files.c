#define _GNU_SOURCE
#include "gpuprep_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int gp_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)flags;
    /* openat2 refuses a mode without O_CREAT or O_TMPFILE (EINVAL). */
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gp_write_bounded(int path_fd, const void *buf, size_t len, int timeout_ms, int *blocked_pid)
{
    int result[2];
    if (pipe2(result, O_CLOEXEC) != 0) return errno;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", path_fd);
    pid_t pid = fork();
    if (pid < 0) {
        int code = errno;
        close(result[0]);
        close(result[1]);
        return code;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here on. */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        close(result[0]);
        /* Let go of the caller's output: a pipe reader (a script, `| tee`) must not wait on a
           write the kernel holds. */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
        /* And of every other descriptor it inherited (another program's pipe, left without
           O_CLOEXEC by whoever started gpuprep), for the same reason. */
        long most = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (most > 0 && most < 65536 ? most : 65536); fd++)
            if (fd != path_fd && fd != result[1]) close(fd);
        int code = 0;
        int fd = open(proc, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) {
            code = errno;
        } else {
            ssize_t n = write(fd, buf, len);
            if (n < 0) code = errno;
            else if ((size_t)n != len) code = EIO;
            close(fd);
        }
        ssize_t ignored = write(result[1], &code, sizeof code);
        (void)ignored;
        _exit(0);
    }
    close(result[1]);
    long long deadline = now_ms() + timeout_ms;
    struct pollfd ready = { .fd = result[0], .events = POLLIN };
    for (;;) {
        long long left = deadline - now_ms();
        int n = poll(&ready, 1, left > 0 ? (int)left : 0);
        if (n > 0) break;
        if (n == 0 || (n < 0 && errno != EINTR)) {
            close(result[0]);
            *blocked_pid = pid;
            return -1;
        }
    }
    int code = EIO;
    if (read(result[0], &code, sizeof code) != (ssize_t)sizeof code) code = EIO;
    close(result[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return code;
}

static volatile sig_atomic_t received;

static void note_signal(int number)
{
    if (!received) received = number;
}

void gp_catch_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = note_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    /* A parent may have started gpuprep with these blocked (a thread's mask is inherited). */
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGINT);
    sigaddset(&unblock, SIGTERM);
    sigaddset(&unblock, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

int gp_signal_received(void) { return received; }
