#define _GNU_SOURCE
#include "gpuprep_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
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

int gp_open_beneath(int dir_fd, const char *path, int flags)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
}

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's scheduler state, the field after the command's closing parenthesis in
 * /proc/PID/stat (proc(5)): 'R' runnable, 'D' waiting in the kernel (a device's lock is a
 * mutex: an uninterruptible wait), ...; 0 when it cannot be read. */
static char child_state(pid_t pid)
{
    char path[40], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    text[n] = 0;
    char *paren = strrchr(text, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
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
    long long began = now_ms(), deadline = began + timeout_ms;
    struct pollfd ready = { .fd = result[0], .events = POLLIN };
    for (;;) {
        long long left = deadline - now_ms();
        int n = poll(&ready, 1, left > 0 ? (int)left : 0);
        if (n > 0) break;
        /* A runnable child waits for a CPU, not in the kernel: more time, five deadlines at most. */
        if (n == 0 && child_state(pid) == 'R' && now_ms() - began < 5LL * timeout_ms) { deadline = now_ms() + timeout_ms; continue; }
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

/* Lets go of every descriptor but 0-2 (pointed at /dev/null) and those in `keep` (sorted), so
   that a child left blocked in the kernel holds no pipe of the caller's (a `| tee` would wait
   on it). close_range(2) closes each gap in one call; before Linux 5.9, one close each. */
static void keep_only(const int *keep, size_t count)
{
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
    unsigned int from = 3;
    for (size_t i = 0; i <= count; i++) {
        if (i < count && (keep[i] < 3 || (unsigned int)keep[i] < from)) continue;
        unsigned int to = i < count ? (unsigned int)keep[i] : ~0U;
        if (to > from && syscall(SYS_close_range, from, to - 1, 0) != 0) {
            unsigned int last = to == ~0U ? 65536 : to;
            for (unsigned int fd = from; fd < last; fd++) close((int)fd);
        }
        if (i < count) from = to + 1;
    }
}

/* One attribute into `into`: a regular file (sysfs and procfs files are; a FIFO or a device in
   a captured tree is not read), not through a link. Opened without blocking; a file another
   process holds a lease on refuses that (EWOULDBLOCK) and is opened again, waiting, as a
   locked device's attribute would make a read wait. Bytes read, or -errno. */
static int read_one(int root_fd, const char *path, char *into, size_t capacity)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    int fd = root_fd >= 0 ? gp_open_in_root(root_fd, path, flags | O_NONBLOCK, 0) : open(path, flags | O_NONBLOCK);
    if (fd < 0 && errno == EWOULDBLOCK)
        fd = root_fd >= 0 ? gp_open_in_root(root_fd, path, flags, 0) : open(path, flags);
    if (fd < 0) return -errno;
    struct stat info;
    int code;
    if (fstat(fd, &info) != 0) code = -errno;
    else if (!S_ISREG(info.st_mode)) code = -EINVAL;
    else {
        ssize_t n = read(fd, into, capacity);
        code = n < 0 ? -errno : (int)n;
    }
    close(fd);
    return code;
}

/* One child reading paths[start..count) into memory shared with this process, packed: value i
   at `data + offsets[i]`, `lengths[i]` long, then `done`, the count read so far (only the pages
   written are ever touched: a host's thousands of short values fill few). The pipe only tells
   of the child's end (it closes when the child exits). Returns the index the child stopped at:
   count when it read them all, else the one it was still waiting on `timeout_ms` after the read
   before it ended (marked GP_READ_BLOCKED). -errno when no child started. */
static long read_batch(int root_fd, const char *paths, const size_t *path_offsets, size_t start, size_t count,
                       char *buffer, size_t capacity, size_t *offsets, int *lengths, size_t *used, int timeout_ms)
{
    /* A new mapping for each child: one left blocked may wake later and write into its own. */
    /* Offsets first, then lengths, then `done`: each aligned to its type. */
    size_t header = count * (sizeof(size_t) + sizeof(int)) + sizeof(int);
    size_t size = header + (count - start) * capacity;
    char *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (shared == MAP_FAILED) return -errno;
    size_t *shared_offsets = (size_t *)shared;
    int *shared_lengths = (int *)(shared + count * sizeof(size_t));
    int *done = shared_lengths + count;
    char *data = shared + header;
    *done = (int)start;
    int ended[2];
    if (pipe2(ended, O_CLOEXEC) != 0) { int code = errno; munmap(shared, size); return -code; }
    int keep[2] = { root_fd < ended[1] ? root_fd : ended[1], root_fd < ended[1] ? ended[1] : root_fd };
    pid_t pid = fork();
    if (pid < 0) {
        int code = errno;
        close(ended[0]);
        close(ended[1]);
        munmap(shared, size);
        return -code;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here on. */
        close(ended[0]);
        keep_only(keep, 2);
        size_t cursor = 0;
        for (size_t i = start; i < count; i++) {
            int length = read_one(root_fd, paths + path_offsets[i], data + cursor, capacity);
            shared_offsets[i] = cursor;
            shared_lengths[i] = length;
            if (length > 0) cursor += (size_t)length;
            __atomic_store_n(done, (int)i + 1, __ATOMIC_RELEASE);
        }
        _exit(0);
    }
    close(ended[1]);
    struct pollfd ready = { .fd = ended[0], .events = POLLIN };
    int seen = (int)start;
    long long last_progress = now_ms(), began = last_progress;
    size_t stopped = count;
    for (;;) {
        /* Look at the progress every 50 ms: a deadline runs from the last read that ended. */
        int n = poll(&ready, 1, 50);
        if (n < 0 && errno != EINTR) break;
        if (n > 0) break;   /* the child ended: every read is in */
        int now_done = __atomic_load_n(done, __ATOMIC_ACQUIRE);
        if (now_done != seen) { seen = now_done; last_progress = now_ms(); continue; }
        if (now_ms() - last_progress >= timeout_ms) {
            /* A runnable child waits for a CPU (a loaded host), not for a device's lock: it gets
             * more time, up to five deadlines in all, before its read counts as blocked. */
            if (child_state(pid) == 'R' && now_ms() - began < 5LL * timeout_ms) { last_progress = now_ms(); continue; }
            stopped = (size_t)seen;
            break;
        }
    }
    close(ended[0]);
    int finished = __atomic_load_n(done, __ATOMIC_ACQUIRE);
    if (stopped == count) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    } else {
        finished = (int)stopped;
    }
    for (size_t i = start; i < count; i++) {
        if ((int)i < finished) {
            lengths[i] = shared_lengths[i];
            offsets[i] = *used;
            if (lengths[i] > 0) {
                memcpy(buffer + *used, data + shared_offsets[i], (size_t)lengths[i]);
                *used += (size_t)lengths[i];
            }
        } else {
            lengths[i] = -EIO;   /* not read: the child ended early */
            offsets[i] = *used;
        }
    }
    if (stopped < count) lengths[stopped] = GP_READ_BLOCKED;
    munmap(shared, size);
    return (long)stopped;
}

int gp_read_bounded(int root_fd, const char *paths, const size_t *path_offsets, const int *devices, size_t count,
                    char *buffer, size_t capacity, size_t *offsets, int *lengths, int timeout_ms)
{
    size_t start = 0, used = 0;
    while (start < count) {
        long stopped = read_batch(root_fd, paths, path_offsets, start, count, buffer, capacity, offsets, lengths, &used, timeout_ms);
        if (stopped < 0) return (int)-stopped;
        if ((size_t)stopped == count) break;
        /* The same device's next files would wait on the same lock: busy too, unread. */
        start = (size_t)stopped + 1;
        while (devices && start < count && devices[start] == devices[stopped]) {
            lengths[start] = GP_READ_BLOCKED;
            offsets[start] = used;
            start++;
        }
    }
    return 0;
}
