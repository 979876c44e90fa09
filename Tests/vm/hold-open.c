/* hold-open FILE SECONDS [ARGS...]: opens FILE read-write and keeps it open for SECONDS, as a VMM
 * keeps its /dev/vfio/N while the VM runs. The arguments after SECONDS are ignored: they stand in
 * for a QEMU command line (`-name guest=NAME`), which gpuprep reads from /proc/PID/cmdline to name
 * the VM. One process holds the file, so the holder named is this one (a shell would fork).
 *
 * With HOLD_DEVICE=DDDD:BB:DD.F in the environment, FILE is a VFIO group and the device is opened
 * too, as QEMU does: the group joins a type1 container and VFIO_GROUP_GET_DEVICE_FD opens the
 * device. Then the kernel cannot unbind it until the device is closed: the driver/unbind write
 * blocks in vfio_unregister_group_dev (drivers/vfio/vfio_main.c), asking the user to let go every
 * 10 s. It prints "holding" once everything is open. */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: [HOLD_DEVICE=BDF] hold-open FILE SECONDS [ARGS...]\n"); return 2; }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    const char *device = getenv("HOLD_DEVICE");
    if (device) {
        int container = open("/dev/vfio/vfio", O_RDWR);
        if (container < 0) { perror("/dev/vfio/vfio"); return 1; }
        if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container) < 0) { perror("VFIO_GROUP_SET_CONTAINER"); return 1; }
        if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) { perror("VFIO_SET_IOMMU"); return 1; }
        if (ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, device) < 0) { perror("VFIO_GROUP_GET_DEVICE_FD"); return 1; }
    }
    printf("holding\n");
    fflush(stdout);
    sleep((unsigned)atoi(argv[2]));
    return 0;
}
