#!/usr/bin/env python3
"""gpuprep export's output read by each stack's own parser, or its schema:

  kubevirt  YAML (PyYAML), every key one KubeVirt's API types have (kubevirt.io/api core/v1
            types.go: PermittedHostDevices, PciHostDevice, MediatedHostDevice,
            MediatedDevicesConfiguration), selectors as KubeVirt takes them
  nova      oslo.config, the library Nova reads nova.conf with, with Nova's options registered
            as nova/conf/pci.py and devices.py register them; every device_spec and alias a
            JSON object with the keys Nova knows
  libvirt   the <hostdev> elements inside a minimal domain, checked by virt-xml-validate
            against libvirt's own schema
  proxmox   the section format PVE::SectionConfig reads, each map property string checked
            against pve-guest-common's PCI.pm patterns
  nfd       each line name=value, a valid Kubernetes (qualified) label name and value

usage: validate.py FORMAT FILE    (exit 0: valid; 1: the problems are printed)
"""
import json, os, re, subprocess, sys, tempfile

fmt, path = sys.argv[1], sys.argv[2]
text = open(path).read()
problems = []

def kubevirt():
    import yaml
    doc = yaml.safe_load(text)
    config = doc["spec"]["configuration"]
    allowed = {"permittedHostDevices", "mediatedDevicesConfiguration"}
    if set(config) - allowed:
        problems.append(f"unknown keys in spec.configuration: {set(config) - allowed}")
    permitted = config["permittedHostDevices"]
    if set(permitted) - {"pciHostDevices", "mediatedDevices", "usb"}:
        problems.append(f"unknown keys in permittedHostDevices: {set(permitted)}")
    for entry in permitted.get("pciHostDevices") or []:
        if set(entry) - {"pciVendorSelector", "resourceName", "externalResourceProvider"}:
            problems.append(f"unknown keys in a pciHostDevice: {entry}")
        if not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", entry["pciVendorSelector"]):
            problems.append(f"pciVendorSelector {entry['pciVendorSelector']!r} is not VVVV:DDDD")
        if not re.fullmatch(r"[a-z0-9.-]+/[A-Za-z0-9_.-]+", entry["resourceName"]):
            problems.append(f"resourceName {entry['resourceName']!r} is not a Kubernetes extended resource name")
        if not isinstance(entry.get("externalResourceProvider"), bool):
            problems.append("externalResourceProvider is not a boolean")
    for entry in permitted.get("mediatedDevices") or []:
        if set(entry) - {"mdevNameSelector", "resourceName", "externalResourceProvider"}:
            problems.append(f"unknown keys in a mediatedDevice: {entry}")
        if not re.fullmatch(r"[a-z0-9.-]+/[A-Za-z0-9_.-]+", entry["resourceName"]):
            problems.append(f"resourceName {entry['resourceName']!r} is not a Kubernetes extended resource name")
    mdev = config.get("mediatedDevicesConfiguration")
    if mdev is not None:
        if set(mdev) - {"enabled", "mediatedDeviceTypes", "mediatedDevicesTypes", "nodeMediatedDeviceTypes"}:
            problems.append(f"unknown keys in mediatedDevicesConfiguration: {set(mdev)}")
        if "enabled" in mdev and not isinstance(mdev["enabled"], bool):
            problems.append("mediatedDevicesConfiguration.enabled is not a boolean")

def nova():
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.MultiStrOpt("device_spec", default=[]), cfg.MultiStrOpt("alias", default=[]),
                        cfg.BoolOpt("report_in_placement", default=False)], group="pci")
    conf.register_opts([cfg.ListOpt("enabled_mdev_types", default=[])], group="devices")
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    conf(args=[], default_config_files=[f.name], default_config_dirs=[])
    # As nova.conf.devices.register_dynamic_opts does, once the types are known.
    for mdev_type in conf.devices.enabled_mdev_types:
        group = "mdev_%s" % mdev_type
        conf.register_opts([cfg.ListOpt("device_addresses", default=[]),
                            cfg.StrOpt("mdev_class", default="VGPU", regex=r"^(VGPU|CUSTOM_[A-Z0-9_]+)$"),
                            cfg.IntOpt("max_instances", default=None, min=1)], group=group)
        addresses = conf[group].device_addresses
        if not addresses:
            problems.append(f"[{group}] has no device_addresses")
        for address in addresses:
            if not re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", address):
                problems.append(f"[{group}] device_addresses: {address!r} is not a PCI address")
        conf[group].mdev_class, conf[group].max_instances   # values are checked when read
    spec_keys = {"vendor_id", "product_id", "address", "devname", "physical_network", "remote_managed",
                 "resource_class", "traits", "managed", "live_migratable", "one_time_use"}
    alias_keys = {"name", "vendor_id", "product_id", "device_type", "numa_policy", "resource_class", "traits", "live_migratable"}
    for kind, values, keys in (("device_spec", conf.pci.device_spec, spec_keys), ("alias", conf.pci.alias, alias_keys)):
        for value in values:
            item = json.loads(value)
            if not isinstance(item, dict) or set(item) - keys:
                problems.append(f"{kind} {value}: keys Nova does not know")
            if item.get("managed") not in (None, "yes", "no"):
                problems.append(f"{kind} {value}: managed must be yes or no")
            if "resource_class" in item and not re.fullmatch(r"CUSTOM_[A-Z0-9_]+", item["resource_class"]):
                problems.append(f"{kind} {value}: resource class is not CUSTOM_[A-Z0-9_]+")
            if kind == "alias" and item.get("device_type", "type-PCI") not in ("type-PCI", "type-PF", "type-VF"):
                problems.append(f"alias {value}: device_type")
    names = [json.loads(v)["name"] for v in conf.pci.alias]
    if len(names) != len(set(names)):
        problems.append("two aliases with one name")

def libvirt():
    domain = ("<domain type='kvm'><name>gpuprep-export</name><memory unit='MiB'>1024</memory>"
              "<os><type arch='x86_64'>hvm</type></os><devices>\n" + text + "\n</devices></domain>\n")
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(domain)
    run = subprocess.run(["virt-xml-validate", f.name, "domain"], capture_output=True, text=True)
    if run.returncode != 0:
        problems.append("virt-xml-validate: " + (run.stderr + run.stdout).strip())

PCI_RE = r"[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?"    # PCI.pm's $PCI_RE
def proxmox():
    sections, current = {}, None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if not line[0].isspace():
            if not re.fullmatch(r"[a-z][a-z0-9_-]+", line.strip(), re.I):   # pve_verify_configid
                problems.append(f"line {number}: {line!r} is not a mapping id")
            current = line.strip()
            if current in sections:
                problems.append(f"line {number}: mapping {current} twice")
            sections[current] = {"map": []}
            continue
        key, _, value = line.strip().partition(" ")
        if current is None or key not in ("map", "mdev", "description"):
            problems.append(f"line {number}: {key!r} is no property of a PCI mapping")
            continue
        if key == "map":
            props = dict(part.split("=", 1) for part in value.split(","))
            if set(props) - {"node", "id", "subsystem-id", "path", "iommugroup", "description"} or not {"node", "id", "path"} <= set(props):
                problems.append(f"line {number}: map {value}")
            if not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", props.get("id", "")):
                problems.append(f"line {number}: id {props.get('id')}")
            if "subsystem-id" in props and not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", props["subsystem-id"]):
                problems.append(f"line {number}: subsystem-id {props['subsystem-id']}")
            if not re.fullmatch(f"(?:{PCI_RE};)*{PCI_RE}", props.get("path", "")):
                problems.append(f"line {number}: path {props.get('path')}")
            if "iommugroup" in props and not props["iommugroup"].isdigit():
                problems.append(f"line {number}: iommugroup {props['iommugroup']}")
            if not re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?", props.get("node", "")):
                problems.append(f"line {number}: node {props.get('node')}")
            sections[current]["map"].append(props)
        elif key == "mdev" and value not in ("0", "1"):
            problems.append(f"line {number}: mdev {value}")
    for name, section in sections.items():
        if not section["map"]:
            problems.append(f"mapping {name} has no map")

LABEL = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
def nfd():
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        prefix, _, name = name.rpartition("/")    # a qualified name: DNS-subdomain prefix / name
        if prefix and (len(prefix) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", prefix)):
            problems.append(f"line {number}: {prefix!r} is not a label prefix")
        if not sep or len(name) > 63 or not re.fullmatch(LABEL, name):
            problems.append(f"line {number}: {name!r} is not a label name")
        if len(value) > 63 or (value and not re.fullmatch(LABEL, value)):
            problems.append(f"line {number}: {value!r} is not a label value")

{"kubevirt": kubevirt, "nova": nova, "libvirt": libvirt, "proxmox": proxmox, "nfd": nfd}[fmt]()
for problem in problems:
    print(f"{fmt}: {problem}")
sys.exit(1 if problems else 0)
