/* hold-open FILE SECONDS [ARGS...]: opens FILE read-write and keeps it open for SECONDS, as a VMM
 * keeps its /dev/vfio/N while the VM runs. The arguments after SECONDS are ignored: they stand in
 * for a QEMU command line (`-name guest=NAME`), which gpuprep reads from /proc/PID/cmdline to name
 * the VM. One process holds the file, so the holder named is this one (a shell would fork). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: hold-open FILE SECONDS [ARGS...]\n"); return 2; }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    sleep((unsigned)atoi(argv[2]));
    close(fd);
    return 0;
}
