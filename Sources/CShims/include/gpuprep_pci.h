#ifndef GPUPREP_PCI_H
#define GPUPREP_PCI_H
#include <stddef.h>
#include <pci/pci.h>

/*
 * libpci reports fatal errors through a callback that must not return (the
 * default one calls exit). These wrappers install a callback that jumps back
 * into the wrapper, which then returns -1 with the message in `err`, so one
 * unreadable sysfs file never ends the whole program.
 */

/* pci_alloc + sysfs method + sysfs.path + optional pci.ids path + pci_init. NULL on failure.
   With an ids_path, names come from that file alone (not also from udev's hwdb). */
struct pci_access *gp_pci_open(const char *sysfs_path, const char *ids_path, char *err, size_t errlen);
/* pci_scan_bus. 0 or -1. */
int gp_pci_scan(struct pci_access *a, char *err, size_t errlen);
/* pci_fill_info. 0 or -1 (the device's fields must then be treated as unknown). */
int gp_pci_fill(struct pci_dev *d, unsigned int flags, char *err, size_t errlen);
/* pci_read_block. 1 when all `len` bytes were read. */
int gp_pci_read(struct pci_dev *d, int pos, unsigned char *buf, int len);
/* pci_find_cap (PCI_CAP_NORMAL / PCI_CAP_EXTENDED). Offset of the capability or -1. */
int gp_pci_find_cap(struct pci_dev *d, unsigned int id, unsigned int type);

/* pci_lookup_name, one fixed-arity wrapper per kind. NULL when the database has no name. */
const char *gp_pci_vendor_name(struct pci_access *a, char *buf, int size, unsigned int vendor);
const char *gp_pci_device_name(struct pci_access *a, char *buf, int size, unsigned int vendor, unsigned int device);
const char *gp_pci_subsystem_name(struct pci_access *a, char *buf, int size, unsigned int vendor, unsigned int device,
                                  unsigned int subvendor, unsigned int subdevice);
const char *gp_pci_class_name(struct pci_access *a, char *buf, int size, unsigned int class_code);
#endif
