#!/usr/bin/env python3
"""gpuprep's benchmark: whole-process timings against lspci and mdevctl on the same host trees.

usage: bench/run-bench.py GPUPREP HOSTS_DIR [--runs N] [--smoke]

HOSTS_DIR holds bench-small and bench-big (made by `make-fixture-hosts DATA DIR bench`).
Each command runs once to warm the page cache, then N times; the median wall time and the peak
resident memory (from wait4) are reported. mdevctl reads /sys/class/mdev_bus, so it runs in a
private mount namespace where that directory links to the tree's parents (needs root and
unshare). The targets are judged on bench-big, the host of thousands of functions they are about
(and start-up, measured once); bench-small's ratios are shown, with how time grows between the two.
Exits 1 when a target does not hold (not with --smoke, which only checks it runs).
"""
import json, os, statistics, subprocess, sys, time

def measure(argv, runs, env=None):
    """Median seconds and peak RSS (KiB) of running argv `runs` times, after one warm-up."""
    times, peak = [], 0
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"bench: {' '.join(argv)} exited {code}")
        if i > 0:
            times.append(elapsed)
            peak = max(peak, usage.ru_maxrss)
    return statistics.median(times), peak

def mdevctl_inner(root, runs):
    """Runs inside `unshare -m`: /sys/class/mdev_bus becomes the tree's parents, then mdevctl is timed."""
    subprocess.run(["mount", "-t", "tmpfs", "none", "/sys/class"], check=True)
    os.mkdir("/sys/class/mdev_bus")
    bus = os.path.join(root, "sys/class/mdev_bus")
    for parent in os.listdir(bus):
        os.symlink(os.path.realpath(os.path.join(bus, parent)), os.path.join("/sys/class/mdev_bus", parent))
    print(json.dumps(measure(["mdevctl", "types", "--dumpjson"], runs)))

def mdevctl(root, runs):
    try:
        out = subprocess.run(["unshare", "-m", sys.executable, __file__, "--mdevctl-inner", root, str(runs)],
                             capture_output=True, text=True, check=True).stdout
        return tuple(json.loads(out))
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError) as error:
        print(f"bench: mdevctl not measured ({error}); it needs root, unshare and mdevctl", file=sys.stderr)
        return None

def layout_matching(gpuprep, root, env):
    """A layout file that the host already matches: every GPU's VF count and every vGPU, by GPU
    and type (what a monitoring `apply --check` asserts on a prepared host)."""
    listed = json.loads(subprocess.run([gpuprep, "list", "--json", "--root", root], capture_output=True, text=True, env=env).stdout)
    vgpus = json.loads(subprocess.run([gpuprep, "vgpus", "--json", "--root", root], capture_output=True, text=True, env=env).stdout)
    lines = ["version: 1", "sriov:"]
    for d in listed["devices"]:
        if d.get("sriov") and d["sriov"]["numVFs"] > 0:
            lines += [f'  - match: {{address: "{d["address"]}"}}', f'    vfs: {d["sriov"]["numVFs"]}']
    counts = {}
    for v in vgpus["vgpus"]:
        # An mdev by its parent (a VF of an SR-IOV card, or the GPU); an nvidia-vfio vGPU by its GPU.
        key = ("parent" if v["uuid"] else "gpu", v["parent"], v["type"])
        counts[key] = counts.get(key, 0) + 1
    lines.append("vgpus:")
    for (kind, parent, vtype), n in sorted(counts.items()):
        lines += [f'  - match: {{{kind}: "{parent}"}}', f'    type: "{vtype}"', f'    count: {n}']
    path = os.path.join(os.path.dirname(root), f".{os.path.basename(root)}-layout.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path

def functions(root):
    return len(os.listdir(os.path.join(root, "sys/bus/pci/devices")))

def main():
    if sys.argv[1] == "--mdevctl-inner":
        return mdevctl_inner(sys.argv[2], int(sys.argv[3]))
    gpuprep, hosts = os.path.abspath(sys.argv[1]), sys.argv[2]
    smoke = "--smoke" in sys.argv
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else (1 if smoke else 7)
    names = ["bench-small"] if smoke else ["bench-small", "bench-big"]
    env = dict(os.environ, NO_COLOR="1")
    rows, results, failed = [], {}, False
    for name in names:
        root = os.path.join(hosts, name)
        lspci = ["lspci", "-A", "linux-sysfs", "-O", f"sysfs.path={root}/sys/bus/pci"]
        cases = [
            ("list --all --json", [gpuprep, "list", "--all", "--json", "--root", root], "lspci -nnk", lspci + ["-nnk"], 1.0),
            ("list --json", [gpuprep, "list", "--json", "--root", root], "lspci -nnk -d 10de:", lspci + ["-nnk", "-d", "10de:"], 0.5),
            ("types --json", [gpuprep, "types", "--json", "--root", root], "mdevctl types --dumpjson", None, 1.0),
            ("iommu --json", [gpuprep, "iommu", "--json", "--root", root], None, None, None),
            ("conflicts --json", [gpuprep, "conflicts", "--json", "--root", root], None, None, None),
            ("apply --check", [gpuprep, "apply", "--check", "--root", root, "-f", layout_matching(gpuprep, root, env)], None, None, None),
        ]
        # Start-up reads no host: measured once, with the last host's row.
        if name == names[-1]:
            cases.append(("--version", [gpuprep, "--version"], "lspci --version", ["lspci", "--version"], 2.0))
        for label, ours, peer_label, peer, target in cases:
            t, rss = measure(ours, runs, env)
            results[(name, label)] = t
            if peer_label == "mdevctl types --dumpjson":
                theirs = mdevctl(root, runs)
            else:
                theirs = measure(peer, runs, env) if peer else None
            ratio = t / theirs[0] if theirs else None
            # The targets are about large hosts (the "thousands of functions"); on the
            # small one fixed start-up dominates, and its ratios are shown for the growth only.
            judged = name == "bench-big" or label == "--version"
            verdict = "" if target is None or ratio is None else ("ok" if ratio <= target else "MISSED") if judged else "(info)"
            if verdict == "MISSED" and not smoke:
                failed = True
            rows.append((name, functions(root), label, f"{t * 1000:.1f}", peer_label or "-",
                         f"{theirs[0] * 1000:.1f}" if theirs else "-", f"{ratio:.2f}x" if ratio else "-",
                         f"<= {target}x" if target else "-", verdict, f"{rss / 1024:.1f}"))
    header = ("host", "functions", "gpuprep", "ms", "peer", "peer ms", "ratio", "target", "", "peak MiB")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    if not smoke:
        small, big = functions(os.path.join(hosts, "bench-small")), functions(os.path.join(hosts, "bench-big"))
        print(f"\ngrowth from {small} to {big} functions ({big / small:.1f}x):")
        for label in ("list --all --json", "list --json", "types --json", "iommu --json", "conflicts --json", "apply --check"):
            a, b = results[("bench-small", label)], results[("bench-big", label)]
            # Linear: the big host costs at most its size times the small one (fixed start-up makes it less).
            print(f"  {label:18} {a * 1000:7.1f} ms -> {b * 1000:7.1f} ms  ({b / a:5.1f}x)  {'linear' if b / a <= big / small * 1.1 else 'WORSE THAN LINEAR'}")
            if b / a > big / small * 1.1:
                failed = True
    if smoke:
        print("\nbench: smoke run finished (make bench judges the targets on the big host)")
    else:
        print("\nbench: " + ("every target holds" if not failed else "a target was missed: see MISSED above"))
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
