// SPDX-License-Identifier: GPL-2.0
/*
 * gpuprep_test_vfio_pci: a PCI driver for the test VM that behaves as a kernel can when gpuprep
 * binds or unbinds a device, on demand. It has no ID table, so it drives only the devices whose
 * driver_override names it, and its name ends in vfio_pci, so gpuprep takes it as a variant
 * driver (`bind --driver gpuprep_test_vfio_pci`). Its parameters, writable at run time under
 * /sys/module/gpuprep_test_vfio_pci/parameters/:
 *
 *   probe_result    what probe returns: -19 (-ENODEV, the default) binds nothing although the
 *                   drivers_probe write succeeds, as a variant driver does on a device it does
 *                   not support; 0 binds
 *   probe_delay_ms  how long probe sleeps first: the drivers_probe write waits that long
 *   remove_delay_ms how long remove sleeps: the driver/unbind write waits that long
 *
 * Built out of tree against the VM kernel's headers by Tests/vm/run-vm-tests.sh.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/pci.h>

static int probe_result = -ENODEV;
module_param(probe_result, int, 0644);
MODULE_PARM_DESC(probe_result, "what probe returns (0 binds; default -ENODEV binds nothing)");

static unsigned int probe_delay_ms;
module_param(probe_delay_ms, uint, 0644);
MODULE_PARM_DESC(probe_delay_ms, "milliseconds probe sleeps before it returns");

static unsigned int remove_delay_ms;
module_param(remove_delay_ms, uint, 0644);
MODULE_PARM_DESC(remove_delay_ms, "milliseconds remove sleeps before it returns");

static int gp_test_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	unsigned int delay = READ_ONCE(probe_delay_ms);
	int result = READ_ONCE(probe_result);

	pci_info(pdev, "gpuprep test driver: probe starts, %u ms\n", delay);
	if (delay)
		msleep(delay);
	pci_info(pdev, "gpuprep test driver: probe after %u ms returns %d\n", delay, result);
	return result;
}

static void gp_test_remove(struct pci_dev *pdev)
{
	unsigned int delay = READ_ONCE(remove_delay_ms);

	if (delay)
		msleep(delay);
	pci_info(pdev, "gpuprep test driver: removed after %u ms\n", delay);
}

static struct pci_driver gp_test_driver = {
	.name = KBUILD_MODNAME,
	.id_table = NULL,
	.probe = gp_test_probe,
	.remove = gp_test_remove,
};
module_pci_driver(gp_test_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gpuprep's test driver: probes and removes that fail or take time on demand");
