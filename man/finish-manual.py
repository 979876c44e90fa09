#!/usr/bin/env python3
"""Finishes the man page swift-argument-parser's generate-manual plugin writes.

usage: finish-manual.py GENERATED > man/gpuprep.1

The plugin copies --help's discussion into mdoc as it is: empty lines (which mdoc warns about:
groff -ww) and the EXIT STATUS table as plain text, while its own EXIT STATUS section says only
".Ex -std" (0 on success, >0 on error). This turns empty lines into paragraph breaks and moves
the table, which gpuprep prints from its code (ExitStatusTable), into the EXIT STATUS section
as a tagged list, one status per item.
"""
import re, sys

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out, statuses, i = [], [], 0
while i < len(lines):
    line = lines[i]
    if line == "EXIT STATUS" and not statuses:
        i += 1
        while i < len(lines) and re.match(r"^  \d+ +\S", lines[i]):
            number, meaning = lines[i].split(None, 1)
            statuses.append((number, meaning.strip()))
            i += 1
        while i < len(lines) and lines[i] == "":   # the blank line after the table
            i += 1
        continue
    if line == ".Ex -std" and statuses:
        out += [".Bl -tag -width 4n"] + [f".It {n}\n{m}" for n, m in statuses] + [".El"]
    elif line == "":
        # An empty line in mdoc is a warning; a paragraph break is what it meant. The file's
        # own trailing newline stays.
        out.append(".Pp" if i < len(lines) - 1 else "")
    else:
        out.append(line)
    i += 1
if not statuses:
    sys.exit("finish-manual.py: no EXIT STATUS table in the generated page")
sys.stdout.write("\n".join(out))
