#define _GNU_SOURCE
#include "gpuprep_pci.h"
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread jmp_buf *escape;
/* Set when names must come from the given pci.ids alone. */
static int no_hwdb;
static __thread char message[512];

__attribute__((noreturn)) static void on_error(char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vsnprintf(message, sizeof message, msg, ap);
    va_end(ap);
    if (escape)
        longjmp(*escape, 1);
    /* Unreachable in practice: every entry point below sets `escape`. */
    abort();
}

/* Warnings (a missing optional file, an unreadable config space) are expected on odd hosts: stay quiet. */
static void on_warning(char *msg, ...) { (void)msg; }
static void on_debug(char *msg, ...) { (void)msg; }

/* libpci opens its sysfs files without O_NONBLOCK, so a FIFO in a captured tree (at modalias,
   say) would hold it in open(2) for ever. A FIFO's open waits interruptibly: a timer of this
   thread's own (timer_create, SIGEV_THREAD_ID) sends it SIGALRM every 2 s while libpci runs,
   the handler (without SA_RESTART) makes that open fail with EINTR, and libpci reports it as
   an error. Reads of regular files and of sysfs are not interrupted by a signal. */
static __thread timer_t watchdog;
static __thread int watchdog_made;
static __thread volatile sig_atomic_t watchdog_fired;

static void on_alarm(int signal) { (void)signal; watchdog_fired = 1; }

static void watchdog_start(void)
{
    static int handler_set;
    if (!handler_set) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_alarm;   /* no SA_RESTART: the open returns EINTR */
        sigemptyset(&action.sa_mask);
        sigaction(SIGALRM, &action, NULL);
        handler_set = 1;
    }
    if (!watchdog_made) {
        /* A parent may start gpuprep with signals blocked (test runners do): let SIGALRM in. */
        sigset_t alarm;
        sigemptyset(&alarm);
        sigaddset(&alarm, SIGALRM);
        pthread_sigmask(SIG_UNBLOCK, &alarm, NULL);
        struct sigevent event;
        memset(&event, 0, sizeof event);
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = SIGALRM;
        event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &event, &watchdog) != 0) return;
        watchdog_made = 1;
    }
    watchdog_fired = 0;
    struct itimerspec every = { .it_interval = { 2, 0 }, .it_value = { 2, 0 } };
    timer_settime(watchdog, 0, &every, NULL);
}

static void watchdog_stop(void)
{
    if (!watchdog_made) return;
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timer_settime(watchdog, 0, &off, NULL);
}

/* A libpci call that reads the tree (`files`: under the watchdog) or only names. */
#define GUARDED_CALL(files, failure, body)                      \
    do {                                                        \
        jmp_buf here;                                           \
        jmp_buf *saved = escape;                                \
        int watched = (files) && !saved;                        \
        escape = &here;                                         \
        if (watched) watchdog_start();                          \
        if (setjmp(here)) {                                     \
            escape = saved;                                     \
            if (watched) watchdog_stop();                       \
            if (err && errlen) snprintf(err, errlen, watched && watchdog_fired ? "%s (a file that waited over 2 s to open: a FIFO?)" : "%s", message); \
            return failure;                                     \
        }                                                       \
        body;                                                   \
        escape = saved;                                         \
        if (watched) watchdog_stop();                           \
    } while (0)
#define GUARDED(failure, body) GUARDED_CALL(1, failure, body)

struct pci_access *gp_pci_open(const char *sysfs_path, const char *ids_path, char *err, size_t errlen)
{
    struct pci_access *a = pci_alloc();
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->error = on_error;
    a->warning = on_warning;
    a->debug = on_debug;
    a->method = PCI_ACCESS_SYS_BUS_PCI;
    GUARDED(NULL, {
        pci_set_param(a, "sysfs.path", (char *)sysfs_path);   /* libpci copies parameter values */
        /* libpci keeps the pointer (and frees it when told to), so hand it a copy. */
        if (ids_path && *ids_path) {
            pci_set_name_list_path(a, strdup(ids_path), 1);
            no_hwdb = 1;
        }
        pci_init(a);
    });
    return a;
}

int gp_pci_scan(struct pci_access *a, char *err, size_t errlen)
{
    GUARDED(-1, pci_scan_bus(a));
    return 0;
}

int gp_pci_fill(struct pci_dev *d, unsigned int flags, char *err, size_t errlen)
{
    /* libpci marks fields as known before reading them: after a failure, forget them so
       that a later call reads (and fails) again instead of returning zeros. */
    unsigned int known = d->known_fields;
    jmp_buf here;
    jmp_buf *saved = escape;
    escape = &here;
    if (!saved) watchdog_start();
    if (setjmp(here)) {
        escape = saved;
        if (!saved) watchdog_stop();
        d->known_fields = known;
        if (err && errlen) snprintf(err, errlen, watchdog_fired ? "%s (a file that waited over 2 s to open: a FIFO?)" : "%s", message);
        return -1;
    }
    pci_fill_info(d, (int)flags);
    escape = saved;
    if (!saved) watchdog_stop();
    return 0;
}

int gp_pci_read(struct pci_dev *d, int pos, unsigned char *buf, int len)
{
    int ok = 0;
    char *err = NULL; size_t errlen = 0;
    GUARDED(0, ok = pci_read_block(d, pos, buf, len));
    return ok;
}

int gp_pci_find_cap(struct pci_dev *d, unsigned int id, unsigned int type)
{
    struct pci_cap *cap = NULL;
    char *err = NULL; size_t errlen = 0;
    GUARDED(-1, cap = pci_find_cap(d, id, type));
    return cap ? (int)cap->addr : -1;
}

static const char *lookup(struct pci_access *a, char *buf, int size, int flags,
                          unsigned int a1, unsigned int a2, unsigned int a3, unsigned int a4)
{
    const char *name = NULL;
    char *err = NULL; size_t errlen = 0;
    flags |= PCI_LOOKUP_NO_NUMBERS | (no_hwdb ? PCI_LOOKUP_NO_HWDB : 0);
    GUARDED_CALL(0, NULL, name = pci_lookup_name(a, buf, size, flags, a1, a2, a3, a4));
    return name;
}

const char *gp_pci_vendor_name(struct pci_access *a, char *buf, int size, unsigned int vendor)
{
    return lookup(a, buf, size, PCI_LOOKUP_VENDOR, vendor, 0, 0, 0);
}

const char *gp_pci_device_name(struct pci_access *a, char *buf, int size, unsigned int vendor, unsigned int device)
{
    return lookup(a, buf, size, PCI_LOOKUP_DEVICE, vendor, device, 0, 0);
}

const char *gp_pci_subsystem_name(struct pci_access *a, char *buf, int size, unsigned int vendor, unsigned int device,
                                  unsigned int subvendor, unsigned int subdevice)
{
    return lookup(a, buf, size, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, vendor, device, subvendor, subdevice);
}

const char *gp_pci_class_name(struct pci_access *a, char *buf, int size, unsigned int class_code)
{
    return lookup(a, buf, size, PCI_LOOKUP_CLASS, class_code, 0, 0, 0);
}
