#!/usr/bin/env python3
"""Rewrites the output of the README's examples from what gpuprep prints now.

usage: scripts/update-readme-examples.py GPUPREP_BINARY   (make readme)

The examples are the ```-fenced blocks that start with `$ gpuprep ...`: those with --root
(run on a copy of examples/, so that none can change the checkout) and those of the live host
that show an error. A `...` line in a block keeps that many lines above it. Device names come
from Tests/Fixtures/pci.ids, as in the test that checks the same blocks (ReadmeTests.swift).
"""
import os, shlex, shutil, subprocess, sys, tempfile

binary = os.path.abspath(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme = os.path.join(root, "README.md")
lines = open(readme, encoding="utf-8").read().split("\n")
work = tempfile.mkdtemp(prefix="gpuprep-readme-")
shutil.copytree(os.path.join(root, "examples"), os.path.join(work, "examples"), symlinks=True)
env = dict(os.environ, NO_COLOR="1", GPUPREP_PCI_IDS=os.path.join(root, "Tests/Fixtures/pci.ids"))
env.pop("GPUPREP_ROOT", None)

out, i, changed = [], 0, 0
while i < len(lines):
    line = lines[i]
    out.append(line)
    i += 1
    if not (line.startswith("$ gpuprep") and len(out) > 1 and out[-2] == "```"):
        continue
    end = i
    while end < len(lines) and lines[end] != "```":
        end += 1
    old = lines[i:end]
    command = line[len("$ "):].split("   #")[0]
    if "--root" not in command and not any(l.startswith("gpuprep: error:") for l in old):
        continue
    run = subprocess.run([binary] + shlex.split(command)[1:], cwd=work, env=env, capture_output=True, text=True)
    new = (run.stdout + run.stderr).split("\n")
    if new and new[-1] == "":
        new.pop()
    if "..." in old:
        new = new[: old.index("...")] + ["..."]
    if new != old:
        changed += 1
    out += new
    i = end
shutil.rmtree(work)
open(readme, "w", encoding="utf-8").write("\n".join(out))
print(f"README.md: {changed} example(s) rewritten")
