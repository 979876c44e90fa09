#ifndef GPUPREP_FILES_H
#define GPUPREP_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (Linux 5.6+): `path` is resolved as if
   `root_fd` were "/", so neither "..", an absolute symlink nor a relative one can lead out of it,
   and /proc's magic links are refused. glibc has no wrapper before 2.39, hence the syscall.
   Returns the fd, or -1 with errno (ENOSYS where the kernel or a seccomp filter lacks it). */
int gp_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: `path` is resolved below `dir_fd`
   and may not leave it, by "..", an absolute path or a link. For names below a sysfs
   directory already opened inside the root. -1 with errno (ENOSYS: no openat2). */
int gp_open_beneath(int dir_fd, const char *path, int flags);

/* O_PATH, which Swift's Glibc module leaves out (it needs _GNU_SOURCE). */
static const int GP_O_PATH = 010000000;

/* One write(2) of `len` bytes to the file `path_fd` (an O_PATH descriptor) names, bounded in
   time. A sysfs write can block in the kernel for as long as something holds the device:
   vfio-pci's remove waits, uninterruptibly once signalled, until the last user of the device
   closes it (vfio_unregister_group_dev, drivers/vfio/vfio_main.c). Such a wait cannot be
   cancelled, so the write is made by a child process: after `timeout_ms` the caller goes on
   (and may exit), and the child finishes the write whenever the kernel lets it. The child
   ignores SIGINT and SIGTERM, so an interrupted run still learns how its write ended.
   Returns 0, an errno the write failed with, or -1 when the deadline passed (*blocked_pid is
   then the child still in the write). */
int gp_write_bounded(int path_fd, const void *buf, size_t len, int timeout_ms, int *blocked_pid);

/* Reads of attributes the kernel shows under the device's lock, bounded in time. Reading
   driver_override or sriov_numvfs takes device_lock (driver_override_show, sriov_numvfs_show in
   drivers/pci/), which a probe or a remove holds throughout: while an unbind waits for a VM to
   let go of the device, such a read waits too, uninterruptibly. So the reads are made by a
   child process: the NUL-terminated paths at `paths + path_offsets[i]`, relative to `root_fd`
   (resolved inside it, as gp_open_in_root does) or absolute when it is -1, each a regular file
   read up to `capacity` bytes. `buffer` (count * capacity bytes) receives the values packed:
   value i at `buffer + offsets[i]`, `lengths[i]` bytes, or lengths[i] is -errno, or
   GP_READ_BLOCKED when the read was still waiting `timeout_ms` after the one before it ended;
   that child is left to finish alone, and a new one reads the rest, but for the paths right
   after it with the same `devices[i]` (a device's files wait on one lock), which are marked
   GP_READ_BLOCKED unread. `devices` may be NULL. Returns 0, or an errno when no child could
   be started (the caller then reads the files itself). */
#define GP_READ_BLOCKED (-1000000)
int gp_read_bounded(int root_fd, const char *paths, const size_t *path_offsets, const int *devices, size_t count,
                    char *buffer, size_t capacity, size_t *offsets, int *lengths, int timeout_ms);

/* SIGINT, SIGTERM and SIGHUP are noted instead of ending the process, so that a change in
   progress finishes its step or rolls back (see gp_signal_received). */
void gp_catch_signals(void);
/* The first such signal received since gp_catch_signals, or 0. */
int gp_signal_received(void);

#endif
