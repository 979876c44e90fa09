#!/usr/bin/env python3
"""What each stack does with gpuprep's export, where no registry ships the stack's code: the
rules its own code applies, written as data with their sources (file:line at the commit
named), checked against the host tree the export was made from.

Sources read (fetched 2026-12-05):
  PGC  proxmox/pve-guest-common   4a8f6cbf78e1b6992ef77facb4ff2ab3372999e7 (2025-07-30)
  PC   proxmox/pve-common         f665029eac78022e81810ab2e44eace57ade13fb (2026-08-04)
  QS   proxmox/qemu-server        e6352be67f70042a7433a3a3c712b36d02f9f7cb (2026-08-17)
  NV   NVIDIA/kubevirt-gpu-device-plugin d26f2374d3c3f4785f52689cf954d1eea6202fb5 (2026-08-19)
  KV   kubevirt/kubevirt          d923fdb815cd2016ddaebdaaa51db04133576d72 (2026-08-22)
  NFD  kubernetes-sigs/node-feature-discovery 76e6cc8cc0d54b8bce037098b72611ffdf66ef5a (2026-07-30)

A prepared device (on a VFIO driver, or a VF carrying a vGPU 17+ type) that an export leaves out
must be named in one of its warnings.

usage: stack_rules.py MANIFEST.json   (a list of {"host", "root", "format", "export", "warnings", "node"})
"""
import json, os, re, sys

RULES = {
    # Proxmox VE: /etc/pve/mapping/pci.cfg and what qemu-server does with it.
    "pve-header": ("PGC src/PVE/Mapping/PCI.pm:26-39; PC src/PVE/JSONSchema.pm:30",
                   "a section header is the bare mapping id, [a-z][a-z0-9_-]+ (no 'pci:' type)"),
    "pve-property": ("PC src/PVE/SectionConfig.pm:1485; PGC PCI.pm:134-141",
                     "property lines are indented 'key value'; keys: map (required, repeatable), mdev, description, live-migration-capable"),
    "pve-map-format": ("PGC PCI.pm:51-88; PC JSONSchema.pm:1096-1135",
                       "map is key=value,...: node, id, path required; subsystem-id, iommugroup, description optional"),
    "pve-assert-ids": ("PGC PCI.pm:147-174, 182-197",
                       "assert_valid: every path's id and subsystem-id, and the first path's iommugroup, match the hardware"),
    "pve-assert-mdev": ("PGC PCI.pm:177-180; PC src/PVE/SysFSTools.pm:316-322",
                        "assert_valid: the section's mdev flag equals pci_device_info's: mdev_supported_types or an nvidia/ directory"),
    "pve-alternatives": ("QS src/PVE/QemuServer/PCI.pm:456, 465-471, 547-617",
                         "each map line is one alternative; its ';' paths (a path without function: the whole slot) are one VM's multifunction device"),
    "pve-mdev-multifunction": ("QS PCI.pm:472-475", "cannot use mediated device with multifunction device"),
    # KubeVirt and NVIDIA's kubevirt-gpu-device-plugin.
    "nv-drivers": ("NV pkg/device_plugin/device_plugin.go:70-78, 192-220",
                   "NVIDIA's plugin advertises vendor 10de functions on vfio-pci or nvgrace_gpu_vfio_pci only"),
    "nv-mdev": ("NV device_plugin.go:259-269, 334-355; generic_vgpu_device_plugin.go:167",
                "NVIDIA's plugin advertises every mdev as nvidia.com/ + its type name, whitespace runs turned into _"),
    "kv-external": ("KV pkg/virt-handler/device-manager/device_controller.go:263-266, 280-284",
                    "externalResourceProvider true: KubeVirt neither discovers nor serves the selector"),
    "kv-own-pci": ("KV pkg/virt-handler/device-manager/pci_device.go:258-283; nvidia.go:23-39 (v1.9+)",
                   "KubeVirt's PCI plugin serves functions on vfio-pci, or VFs on nvidia whose current_vgpu_type is not 0"),
    "kv-mdev-handling": ("KV device-manager/mediated_devices_types.go:81-96, 271-285; api core/v1/types.go:3772-3788",
                         "unless mediatedDevicesConfiguration.enabled is false, virt-handler removes mdevs of types it does not want"),
    # Node Feature Discovery.
    "nfd-format": ("NFD source/local/local.go:199-230", "a features.d line is name=value; # starts a comment"),
    "nfd-namespace": ("NFD pkg/apis/nfd/validate/validate.go:95-121; pkg/nfd-master/nfd-master.go:536-551",
                      "a label needs a namespace outside kubernetes.io and *.kubernetes.io, or (*.)feature.node.kubernetes.io"),
    "nfd-unprefixed": ("NFD nfd-master.go:542-545, 681-694; pkg/features/features.go:25, 39",
                       "unprefixed names are deprecated: prefixed by nfd-master, kept bare under DisableAutoPrefix"),
    "k8s-label": ("k8s.io/apimachinery validation IsQualifiedName, IsValidLabelValue",
                  "name: optional DNS-subdomain prefix and /, then 63 characters [A-Za-z0-9][-A-Za-z0-9_.]*; value: 63 such or empty"),
    # libvirt.
    "libvirt-address": ("libvirt src/conf/schemas/basictypes.rng pciDomain (uint32)", "a PCI address names a function of the host, domain whole"),
}


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class Tree:
    def __init__(self, root):
        self.root = root
        base = os.path.join(root, "sys/bus/pci/devices")
        self.devices = {}
        for address in os.listdir(base):
            d = os.path.join(base, address)
            link = os.path.join(d, "driver")
            group = os.path.join(d, "iommu_group")
            self.devices[address] = {
                "address": address, "dir": d,
                "id": read(d + "/vendor")[2:] + ":" + read(d + "/device")[2:],
                "subsystem": self.subsystem(d),
                "group": os.path.basename(os.readlink(group)) if os.path.islink(group) else None,
                "driver": os.path.basename(os.readlink(link)) if os.path.islink(link) else None,
                "pf": os.path.isfile(d + "/sriov_totalvfs"),
                "vgpu": read(d + "/nvidia/current_vgpu_type"),
                # pve-common pci_device_info: mdev_supported_types or NVIDIA's nvidia/ directory.
                "mdev_capable": os.path.isdir(d + "/mdev_supported_types") or os.path.isdir(d + "/nvidia"),
            }
        self.mdevs = {}
        mdev_dir = os.path.join(root, "sys/bus/mdev/devices")
        for uuid in os.listdir(mdev_dir) if os.path.isdir(mdev_dir) else []:
            type_dir = os.path.realpath(os.path.join(mdev_dir, uuid, "mdev_type"))
            self.mdevs[uuid] = {"name": read(type_dir + "/name") or os.path.basename(type_dir), "parent": type_dir.split("/")[-3]}

    @staticmethod
    def subsystem(d):
        """subsystem_vendor:subsystem_device, as the kernel shows them from config space 0x2c."""
        if read(d + "/subsystem_vendor"):
            return read(d + "/subsystem_vendor")[2:] + ":" + read(d + "/subsystem_device")[2:]
        with open(d + "/config", "rb") as f:
            config = f.read(0x30)
        return None if len(config) < 0x30 else "%04x:%04x" % (int.from_bytes(config[0x2c:0x2e], "little"), int.from_bytes(config[0x2e:0x30], "little"))

    def vfio(self, dev):
        driver = dev["driver"] or ""
        return driver == "vfio-pci" or driver.endswith("vfio_pci")

    def vgpu_vf(self, dev):
        return dev["driver"] == "nvidia" and not dev["pf"] and dev["vgpu"] not in (None, "", "0")

    def prepared(self):
        return [a for a, d in sorted(self.devices.items()) if self.vfio(d) or self.vgpu_vf(d)]


class Problems(list):
    def add(self, rule, text):
        source, _ = RULES[rule]
        self.append(f"{text} [{rule}: {source}]")


def said(warnings, address):
    return any(address in w for w in warnings)


def proxmox(tree, text, warnings, node, problems):
    sections, current = {}, None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            current = None
            continue
        if line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if not re.fullmatch(r"[a-z][a-z0-9_-]+", line, re.I):
                problems.add("pve-header", f"line {number}: {line!r} is not a bare mapping id")
            current = sections.setdefault(line, {"map": [], "mdev": 0})
            continue
        m = re.fullmatch(r"\s+(\S+)(?:\s+(.*\S))?\s*", line)
        if current is None or not m or m.group(1) not in ("map", "mdev", "description", "live-migration-capable"):
            problems.add("pve-property", f"line {number}: {line!r}")
            continue
        key, value = m.group(1), m.group(2) or "1"
        if key == "mdev":
            current["mdev"] = int(value) if value in ("0", "1") else problems.add("pve-property", f"line {number}: mdev {value}")
        elif key == "map":
            props = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
            pci_re = r"[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?"
            if (set(props) - {"node", "id", "subsystem-id", "path", "iommugroup", "description"} or not {"node", "id", "path"} <= set(props)
                    or not re.fullmatch(f"(?:{pci_re};)*{pci_re}", props["path"]) or not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", props["id"])):
                problems.add("pve-map-format", f"line {number}: map {value}")
                continue
            current["map"].append(props)
    covered = {}
    for name, section in sections.items():
        if not section["map"]:
            problems.add("pve-property", f"mapping {name} has no map")
        for props in section["map"]:
            if props["node"] != node:
                problems.add("pve-map-format", f"{name}: node {props['node']}, not {node}")
            paths = props["path"].split(";")
            devices = []
            for index, path in enumerate(paths):
                function = path if re.search(r"\.[0-9a-f]$", path) else path + ".0"
                dev = tree.devices.get(function)
                if dev is None:
                    problems.add("pve-assert-ids", f"{name}: pci device '{function}' not found")
                    continue
                if dev["id"] != props["id"] or dev["subsystem"] != props.get("subsystem-id") or (index == 0 and dev["group"] != props.get("iommugroup")):
                    problems.add("pve-assert-ids", f"{name}: {function} is {dev['id']} {dev['subsystem']} group {dev['group']}, the map says {props}")
                if int(dev["mdev_capable"]) != section["mdev"]:
                    problems.add("pve-assert-mdev", f"{name}: 'mdev' does not match ({int(dev['mdev_capable'])} != {section['mdev']})")
                # qemu-server's lspci prefix filter: a path without function is every function of the slot.
                devices += [a for a in sorted(tree.devices) if a == path or (path == function[:-2] and a.startswith(path + "."))]
            if len(devices) > 1 and section["mdev"]:
                problems.add("pve-mdev-multifunction", f"{name}: {props['path']} is {len(devices)} devices")
            slots = {a.rsplit(".", 1)[0] for a in devices}
            if len(slots) > 1:
                problems.add("pve-alternatives", f"{name}: one VM would get {', '.join(devices)} together")
            for a in devices:
                covered[a] = covered.get(a, 0) + 1
    for address in tree.prepared():
        if covered.get(address, 0) != 1 and not said(warnings, address):
            problems.add("pve-alternatives", f"{address} is prepared but in {covered.get(address, 0)} map lines")
    for uuid, mdev in tree.mdevs.items():
        if mdev["parent"] in tree.devices and mdev["parent"] not in covered:
            problems.add("pve-assert-mdev", f"the parent {mdev['parent']} of vGPU {uuid} is in no mapping")


def kubevirt(tree, text, warnings, problems):
    import yaml
    config = yaml.safe_load(text)["spec"]["configuration"]
    permitted = config["permittedHostDevices"]
    selectors = [e["pciVendorSelector"].lower() for e in permitted.get("pciHostDevices") or []]
    if len(selectors) != len(set(selectors)):
        problems.add("kv-external", f"a selector is given twice: {selectors}")
    served = set()
    for entry in permitted.get("pciHostDevices") or []:
        matching = [d for d in tree.devices.values() if d["id"] == entry["pciVendorSelector"].lower()]
        if entry.get("externalResourceProvider"):
            advertised = [d for d in matching if d["id"].startswith("10de:") and d["driver"] in ("vfio-pci", "nvgrace_gpu_vfio_pci")]
            if not advertised or not entry["resourceName"].startswith("nvidia.com/"):
                problems.add("nv-drivers", f"{entry} is left to NVIDIA's plugin, which advertises nothing of it here")
        else:
            advertised = [d for d in matching if d["driver"] == "vfio-pci" or tree.vgpu_vf(d)]
            if not advertised:
                problems.add("kv-own-pci", f"{entry} is left to KubeVirt's plugin, which advertises nothing of it here")
            if any(tree.vfio(d) and d["driver"] != "vfio-pci" for d in matching):
                problems.add("kv-own-pci", f"{entry}: a function of it is on a variant driver KubeVirt's plugin skips")
        served.update(d["address"] for d in advertised)
    for address in tree.prepared():
        if address not in served and not said(warnings, address):
            problems.add("kv-own-pci", f"{address} is prepared but no plugin advertises it")
    names = {re.sub(r"\s+", "_", m["name"].strip()) for m in tree.mdevs.values()}
    for entry in permitted.get("mediatedDevices") or []:
        selector = entry["mdevNameSelector"].replace(" ", "_")
        if selector not in names or entry["resourceName"] != "nvidia.com/" + selector or not entry.get("externalResourceProvider"):
            problems.add("nv-mdev", f"{entry}: no mdev of it, or not the name NVIDIA's plugin advertises")
    if tree.mdevs and (config.get("mediatedDevicesConfiguration") or {}).get("enabled") is not False:
        problems.add("kv-mdev-handling", "the host has vGPUs gpuprep made, but KubeVirt would make and remove mdevs itself")


LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
def nfd(tree, text, problems):
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            problems.add("nfd-format", f"line {number}: {line!r}")
            continue
        key, value = line.split("=", 1)
        if "/" not in key:
            problems.add("nfd-unprefixed", f"line {number}: {key}")
            continue
        ns, name = key.split("/", 1)
        if not re.fullmatch(LABEL_NAME, name) or len(ns) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", ns):
            problems.add("k8s-label", f"line {number}: {key}")
        if (ns == "kubernetes.io" or ns.endswith(".kubernetes.io")) and not re.fullmatch(r"(.+\.)?(feature|profile)\.node\.kubernetes\.io", ns):
            problems.add("nfd-namespace", f"line {number}: {ns}")
        if value and not re.fullmatch(LABEL_NAME, value):
            problems.add("k8s-label", f"line {number}: value {value!r}")


def libvirt(tree, text, warnings, problems):
    exported = set()
    for m in re.finditer(r"<address domain='0x([0-9a-f]+)' bus='0x([0-9a-f]+)' slot='0x([0-9a-f]+)' function='0x([0-7])'/>", text):
        address = "%04x:%02x:%02x.%x" % tuple(int(x, 16) for x in m.groups())
        if address not in tree.devices:
            problems.add("libvirt-address", f"<address> names {address}, which is not on the host")
        exported.add(address)
    for uuid in re.findall(r"<address uuid='([0-9a-f-]+)'/>", text):
        if uuid not in tree.mdevs:
            problems.add("libvirt-address", f"<address uuid='{uuid}'> is not an mdev of the host")
    for address in tree.prepared():
        if address not in exported and not said(warnings, address):
            problems.add("libvirt-address", f"{address} is prepared but not exported")


def main():
    failed = False
    for entry in json.load(open(sys.argv[1])):
        tree, problems = Tree(entry["root"]), Problems()
        text = open(entry["export"]).read()
        fmt = entry["format"]
        if fmt == "proxmox":
            proxmox(tree, text, entry["warnings"], entry.get("node", "pve1"), problems)
        elif fmt == "kubevirt":
            kubevirt(tree, text, entry["warnings"], problems)
        elif fmt == "nfd":
            nfd(tree, text, problems)
        elif fmt == "libvirt":
            libvirt(tree, text, entry["warnings"], problems)
        for p in problems:
            print(f"{entry['host']} {fmt}: {p}")
        failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
