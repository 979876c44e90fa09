/*
 * vfio-group-status N: asks the kernel whether IOMMU group N is viable for VFIO
 * (VFIO_GROUP_GET_STATUS, flag VFIO_GROUP_FLAGS_VIABLE) and prints "viable" or
 * "not-viable". The real-kernel tests compare gpuprep's verdict with this one.
 * /dev/vfio/N exists only while a device of the group is bound to vfio-pci.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char path[64];
    struct vfio_group_status status = { .argsz = sizeof status };
    if (argc != 2) {
        fprintf(stderr, "usage: vfio-group-status GROUP\n");
        return 2;
    }
    snprintf(path, sizeof path, "/dev/vfio/%d", atoi(argv[1]));
    int group = open(path, O_RDWR);
    if (group < 0) {
        perror(path);
        return 2;
    }
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0) {
        perror("VFIO_GROUP_GET_STATUS");
        return 2;
    }
    puts(status.flags & VFIO_GROUP_FLAGS_VIABLE ? "viable" : "not-viable");
    return 0;
}
