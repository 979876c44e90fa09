#!/usr/bin/env python3
"""Cuts pci.ids down to the vendors and devices of the fixture hosts, plus the class table.

usage: make-pci-ids-subset.py SYSTEM_PCI_IDS HOSTS_DIR > Tests/Fixtures/pci.ids
Keeps the tests' names stable whatever pci.ids version the machine has.
"""
import os, sys

src, hosts = sys.argv[1], sys.argv[2]
wanted = set()
for host in os.listdir(hosts):
    devs = os.path.join(hosts, host, "sys/bus/pci/devices")
    for d in os.listdir(devs):
        def rd(n):
            try:
                return open(os.path.join(devs, d, n)).read().strip()[2:]
            except OSError:
                return None
        v, dev, sv, sd = rd("vendor"), rd("device"), rd("subsystem_vendor"), rd("subsystem_device")
        if v and dev:
            wanted.add((v, dev, None, None))
            if sv and sd:
                wanted.add((v, dev, sv, sd))
                wanted.add((sv, None, None, None))
vendors = {w[0] for w in wanted}
devices = {(w[0], w[1]) for w in wanted if w[1]}
subsystems = {w for w in wanted if w[2]}

out, vendor, device, in_classes = [], None, None, False
for line in open(src, encoding="utf-8", errors="replace"):
    if line.startswith("C "):
        in_classes = True
    if in_classes:
        out.append(line)
        continue
    if line.startswith("#") or not line.strip():
        if not out or line.startswith("#\tSource") or line.startswith("#\tVersion") or line.startswith("#\tDate"):
            out.append(line)
        continue
    if not line.startswith("\t"):
        vendor = line[:4]
        device = None
        if vendor in vendors:
            out.append(line)
    elif line.startswith("\t\t"):
        sv, sd = line[2:6], line[7:11]
        if (vendor, device, sv, sd) in subsystems:
            out.append(line)
    else:
        device = line[1:5]
        if (vendor, device) in devices:
            out.append(line)
sys.stdout.write("# Subset of pci.ids (https://pci-ids.ucw.cz/, GPL-2.0-or-later or BSD-3-Clause)\n"
                 "# for the gpuprep test fixtures; made by Tests/Fixtures/make-pci-ids-subset.py.\n")
sys.stdout.writelines(out)
