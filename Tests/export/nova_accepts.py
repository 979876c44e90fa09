#!/usr/bin/env python3
"""gpuprep export nova, read by Nova itself (the `nova` package from PyPI, 34.x).

For each (host tree, export file) it does what nova-compute and the scheduler do with
nova.conf, with Nova's own code:
  - nova.conf.CONF parses the file (every option Nova registers, with its types and bounds);
  - nova.pci.whitelist.Whitelist takes [pci] device_spec (PciConfigInvalidSpec on a domain
    above 0xffff, nova/pci/devspec.py MAX_DOMAIN);
  - nova.pci.request.get_alias_from_config takes [pci] alias, once as by default and once with
    [filter_scheduler] pci_in_placement = True (its stricter rules, nova/pci/request.py);
  - the libvirt driver's own _get_supported_vgpu_types registers [mdev_*] and refuses one
    address under two types ("duplicate types for PCI ID", nova/virt/libvirt/driver.py);
  - the driver's _get_gpu_inventories, fed the host's mdevs and available_instances as libvirt
    would report them, gives each type's inventory: it must be what the GPUs can hold;
  - nova.pci.stats.PciDeviceStats pools the host's PCI devices as the libvirt driver reports them
    (type-PF when sriov_totalvfs > 0, type-VF with its parent, else type-PCI:
    nova/virt/libvirt/host.py _get_device_type) and each alias is matched with the scheduler's
    own _filter_pools_for_spec; with PCI in Placement (the export's [pci] report_in_placement)
    the compute's PlacementView gives each device its resource provider and class
    (PlacementPciMixedResourceClassException where one PF's VFs differ), and an alias with a
    resource_class matches only the devices of that class, as Placement allocates them.

The devices are read from the tree here, apart from gpuprep: what is on a VFIO driver or
carries a vGPU 17+ type, the mdevs, and NVIDIA's max_instance per type (its description).

A prepared device the export leaves out must be named in one of its warnings.

usage: nova_accepts.py MANIFEST.json   (a list of {"host", "root", "export", "warnings"}; exit 0: all accepted)
"""
import collections, json, os, re, sys, tempfile, warnings

warnings.simplefilter("ignore")
import nova.conf                                     # noqa: E402
from nova import exception, objects                  # noqa: E402
from nova.compute import pci_placement_translator as placement  # noqa: E402
from nova.pci import request, stats, whitelist        # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
import os_resource_classes as orc                    # noqa: E402

objects.register_all()
CONF = nova.conf.CONF


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class Tree:
    """The host as Nova's libvirt driver would see it, read from the fixture's sysfs."""

    def __init__(self, root):
        self.root = root
        self.pci = os.path.join(root, "sys/bus/pci/devices")
        self.devices = []
        for address in sorted(os.listdir(self.pci)):
            d = os.path.join(self.pci, address)
            dev = {"address": address, "vendor_id": read(d + "/vendor")[2:], "product_id": read(d + "/device")[2:]}
            physfn = os.path.join(d, "physfn")
            if int(read(d + "/sriov_totalvfs") or 0) > 0:
                dev["dev_type"] = "type-PF"              # libvirt's virt_functions capability
            elif os.path.islink(physfn):
                dev["dev_type"] = "type-VF"
                dev["parent_addr"] = os.path.basename(os.readlink(physfn))
            else:
                dev["dev_type"] = "type-PCI"
            link = os.path.join(d, "driver")
            dev["driver"] = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
            dev["vgpu_type"] = read(d + "/nvidia/current_vgpu_type")
            self.devices.append(dev)
        self.mdevs = []
        mdev_dir = os.path.join(root, "sys/bus/mdev/devices")
        for uuid in sorted(os.listdir(mdev_dir)) if os.path.isdir(mdev_dir) else []:
            type_link = os.readlink(os.path.join(mdev_dir, uuid, "mdev_type"))
            parts = type_link.split("/")
            self.mdevs.append({"uuid": uuid, "type": parts[-1], "parent": parts[-3]})
        # Every mdev parent's types: available_instances, and NVIDIA's max_instance per GPU.
        self.mdev_types = {}
        for dev in self.devices:
            types_dir = os.path.join(self.pci, dev["address"], "mdev_supported_types")
            if os.path.isdir(types_dir):
                self.mdev_types[dev["address"]] = {
                    t: {"available": int(read(os.path.join(types_dir, t, "available_instances")) or 0),
                        "max": int(m.group(1)) if (m := re.search(r"max_instance=(\d+)", read(os.path.join(types_dir, t, "description")) or "")) else None}
                    for t in os.listdir(types_dir)}

    def prepared(self, dev):
        """On a VFIO driver (vfio-pci or a variant), or a VF carrying an NVIDIA vGPU 17+ type."""
        driver = dev["driver"] or ""
        return driver == "vfio-pci" or driver.endswith("vfio_pci") or dev["vgpu_type"] not in (None, "0")

    def gpu(self, address):
        dev = next(d for d in self.devices if d["address"] == address)
        return dev.get("parent_addr") or address


def libvirt_name(address):
    return "pci_" + address.replace(":", "_").replace(".", "_")


def check(host, root, export, said):
    problems = []
    tree = Tree(root)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(open(export).read())
    CONF(args=[], project="nova", default_config_files=[f.name], default_config_dirs=[])

    # [pci] device_spec, as the compute's resource tracker takes it.
    try:
        spec = whitelist.Whitelist(CONF.pci.device_spec)
    except exception.NovaException as e:
        return [f"device_spec refused: {e}"]
    def assignable(d):
        try:
            return spec.device_assignable(d)
        except exception.PciConfigInvalidSpec:    # a 32-bit domain: the tracker skips it (nova/pci/manager.py)
            return None
    listed = [d for d in tree.devices if assignable(d)]
    for d in listed:
        if not tree.prepared(d):
            problems.append(f"device_spec gives Nova {d['address']}, which is on {d['driver']} with no vGPU")
    prepared = [d for d in tree.devices if tree.prepared(d) and int(d["address"].split(":")[0], 16) <= 0xffff]
    for d in prepared:
        if d not in listed and not any(d["address"] in w for w in said):
            problems.append(f"{d['address']} is prepared ({d['driver']}) but no device_spec gives it to Nova")

    # [pci] alias: Nova's parser, by default and in placement mode.
    aliases = {}
    for in_scheduler in (False, True):
        CONF.set_override("pci_in_placement", in_scheduler, "filter_scheduler")
        try:
            aliases = request.get_alias_from_config()
        except exception.NovaException as e:
            problems.append(f"alias refused{' with pci_in_placement' if in_scheduler else ''}: {e}")
    CONF.clear_override("pci_in_placement", "filter_scheduler")

    # Each alias matched against the pools the scheduler keeps for this host.
    pools = stats.PciDeviceStats(objects.NUMATopology(cells=[]), dev_filter=spec)
    for n, d in enumerate(listed):
        pools.add_device(objects.PciDevice(
            compute_node_id=1, address=d["address"], vendor_id=d["vendor_id"], product_id=d["product_id"],
            dev_type=d["dev_type"], parent_addr=d.get("parent_addr"), numa_node=None, status="available",
            dev_id=libvirt_name(d["address"]), label=f"label_{d['vendor_id']}_{d['product_id']}", request_id=None,
            extra_info={}, instance_uuid=None))
    in_placement = CONF.pci.report_in_placement
    class_of = {}
    if in_placement:
        view = placement.PlacementView("compute1", instances_under_same_host_resize=[])
        for pool in pools.pools:
            for dev in pool["devices"]:
                try:
                    view.process_dev(dev, spec.get_devspec(dev))
                except exception.NovaException as e:
                    problems.append(f"Placement refuses the devices: {e}")
        for rp in view.rps.values():
            class_of.update({dev.address: rp.resource_class for dev in rp.devs})
    matched = collections.Counter()
    for name in aliases:
        requests = request._translate_alias_to_requests(f"{name}:1")
        found = set()
        for r in requests:
            for spec_ in r.spec:
                for pool in pools._filter_pools_for_spec(pools.pools, objects.InstancePCIRequest(count=1, spec=[spec_])):
                    for dev in pool["devices"]:
                        wanted = placement.get_resource_class(spec_.get("resource_class"), spec_.get("vendor_id"), spec_.get("product_id"))
                        if not in_placement or class_of.get(dev.address) == wanted:
                            found.add(dev.address)
        if not found:
            problems.append(f"alias {name} matches no device Nova has")
        matched.update(found)
    for d in listed:
        if matched[d["address"]] == 0:
            problems.append(f"no alias matches {d['address']} ({d['dev_type']})")
        elif matched[d["address"]] > 1:
            problems.append(f"{matched[d['address']]} aliases match {d['address']}: a flavor cannot ask for it alone")

    # [devices] / [mdev_*]: the libvirt driver's own reading, then its inventories.
    if CONF.devices.enabled_mdev_types:
        drv = libvirt_driver.LibvirtDriver.__new__(libvirt_driver.LibvirtDriver)
        drv.pgpu_type_mapping = collections.defaultdict(str)
        drv.mdev_class_mapping = collections.defaultdict(lambda: orc.VGPU)
        drv.mdev_classes = set()
        drv.mdev_type_max_mapping = collections.defaultdict(str)
        drv.pgpu_type_default = None
        drv.virtual_mdevs = set()
        try:
            drv.supported_vgpu_types = drv._get_supported_vgpu_types()
        except exception.NovaException as e:
            return problems + [f"nova-compute would not start: {e}"]
        enabled = drv.supported_vgpu_types
        for m in tree.mdevs:
            if m["type"] in enabled and drv.pgpu_type_mapping.get(m["parent"]) != m["type"]:
                problems.append(f"vGPU {m['uuid']} ({m['type']} on {m['parent']}) is not counted: its parent is given to "
                                f"{drv.pgpu_type_mapping.get(m['parent']) or 'no type'}")
        drv._get_mediated_devices = lambda types=None: [
            {"uuid": m["uuid"], "type": m["type"], "parent": libvirt_name(m["parent"])} for m in tree.mdevs if m["type"] in (types or [])]
        drv._get_mdev_capable_devices = lambda types=None: [
            {"dev_id": libvirt_name(parent), "types": {t: {"availableInstances": v["available"]} for t, v in ts.items() if t in (types or [])}}
            for parent, ts in tree.mdev_types.items()]
        inventory = drv._get_gpu_inventories()
        # What each GPU can hold of the type its parents are given: NVIDIA's max_instance.
        per_gpu = collections.defaultdict(int)
        for name, inv in inventory.items():
            address = drv._get_device_address(name)
            per_gpu[tree.gpu(address)] += inv["total"]
        for gpu, total in sorted(per_gpu.items()):
            types = {drv.pgpu_type_mapping[p] for p in tree.mdev_types if tree.gpu(p) == gpu and drv.pgpu_type_mapping.get(p)}
            maxima = {tree.mdev_types[p][t]["max"] for p in tree.mdev_types if tree.gpu(p) == gpu for t in types if t in tree.mdev_types[p]}
            if len(maxima) == 1 and None not in maxima and total != maxima.pop():
                problems.append(f"Nova's inventory of GPU {gpu} ({', '.join(sorted(types))}) is {total}, not the "
                                f"{[tree.mdev_types[p][t]['max'] for p in tree.mdev_types if tree.gpu(p) == gpu for t in types][0]} it can hold")
    return problems


def main():
    failed = False
    for entry in json.load(open(sys.argv[1])):
        pid = os.fork()
        if pid == 0:    # a fresh CONF per host, on the modules imported once
            try:
                problems = check(entry["host"], entry["root"], entry["export"], entry.get("warnings", []))
            except Exception as e:    # anything Nova raises is a refusal
                problems = [f"{type(e).__name__}: {e}"]
            for p in problems:
                print(f"{entry['host']}: {p}")
            sys.stdout.flush()
            os._exit(1 if problems else 0)
        _, status = os.waitpid(pid, 0)
        failed |= status != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
