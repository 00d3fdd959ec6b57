#!/usr/bin/env python3
"""scripts/bench.d/report.py - turn the bench's raw samples into the table and
the JSON file.

    report.py SAMPLES.tsv OUT.json META.json

SAMPLES.tsv has one measurement a line: transport, case, side (mgdcfs,
baseline, curl_file or rclone), value. Each case has a unit and a direction; the ratio
is always mgdcfs / peer in that unit, so for MiB/s and IOPS higher is better
and for ms and MiB lower is better, and the target column says which bound
applies. The table goes to stdout.
"""
import json
import statistics
import sys

from scale_cases import CASES as SCALE_CASES

# case: (title, unit, higher_is_better, baseline name, target)
# A target is ("ratio>=", x), ("ratio<=", x), ("ttfb", None) = mgdcfs <= 2 x base + 5 ms,
# ("max", x) = mgdcfs < x, ("limit", None) = mgdcfs <= the baseline column.
CASES = {
    "cold_read": ("1 cold read, 1 file", "MiB/s", True, "curl", ("ratio>=", 0.95)),
    "warm_read": ("2 warm read (remount, drop_caches)", "MiB/s", True, "local file", ("ratio>=", 0.8)),
    "hot_read": ("3 hot read (page cache)", "MiB/s", True, "local file", None),
    "ttfb": ("4 open + first 4 KiB, fresh mount", "ms", False, "curl 4 KiB range", ("ttfb", None)),
    "ls_cold": ("5 ls -l folder, cold", "ms", False, "curl List Blobs pages", ("ratio<=", 1.3)),
    "ls_warm": ("5 ls -l folder, warm", "ms", False, "curl List Blobs pages", ("max", 50.0)),
    "first_entry": ("5b big folder: first entry, cold", "ms", False, "curl first List page", ("ratio<=", 2.0)),
    "ls_cold_big": ("5c big folder: ls -l, cold", "ms", False, "curl List Blobs pages", ("ratio<=", 1.3)),
    "ls_warm_big": ("5d big folder: ls -l, warm", "ms", False, "mgdcfs ls -l of 10,000, warm", ("ratio<=", 10.0)),
    "lsf_warm_big": ("5e big folder: ls -f, warm", "ms", False, "", ("max", 300.0)),
    "stat_new": ("5f stat after TTL: a new blob", "ms", False, "curl HEAD", ("ratio<=", 2.0)),
    "stat_missing": ("5f stat after TTL: missing name", "ms", False, "curl HEAD + 1-entry List", ("ratio<=", 2.0)),
    "stat_listed": ("5f stat after TTL: listed name", "ms", False, "curl HEAD", ("ratio<=", 2.0)),
    "mem_entry": ("5g big folder: daemon RSS / entry", "B", False, "", None),
    "mem_listing": ("5g big folder: listing bytes / entry", "B", False, "", None),
    "par4": ("6 four readers, four files", "MiB/s", True, "4 parallel curls", None),
    "rand_cold": ("7 fio randread 4 KiB, cold", "IOPS", True, "curl 4 KiB ranges, 1 conn", ("ratio>=", 2.0)),
    "rand_warm": ("7 fio randread 4 KiB, warm", "IOPS", True, "local file", ("ratio>=", 0.8)),
    "rss": ("8 daemon peak RSS, streaming", "MiB", False, "", ("max", 128.0)),
    "lmdb": ("8 LMDB file, reading 3x budget", "MiB", False, "budget + 1 chunk", ("limit", None)),
    "cpu_cold": ("10 daemon CPU-s per GiB, cold read", "CPU-s/GiB", False,
                 "curl -o file on the cache's disk", ("ratio<=", 1.5)),
    "cpu_cold_perf": ("10 daemon CPU-s per GiB, cold (perf stat)", "CPU-s/GiB", False, "", None),
    "cpu_warm": ("10 daemon CPU-s per GiB, warm read", "CPU-s/GiB", False, "", ("max", 0.35)),
    "cpu_warm_perf": ("10 daemon CPU-s per GiB, warm (perf stat)", "CPU-s/GiB", False, "", None),
}
# Against bindfs (a FUSE filesystem over the local file: the kernel's FUSE ceiling).
BINDFS_TARGET = {"hot_read": ("ratio>=", 0.9)}
# Against rclone the targets are on reads only (>= 3x cold and warm).
RCLONE_TARGET = {"cold_read": ("ratio>=", 3.0), "warm_read": ("ratio>=", 3.0)}


def stats(vals):
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "n": len(vals), "samples": vals}


def verdict(target, m, b, ratio):
    if not target or m is None:
        return None, ""
    kind, x = target
    if kind == "ratio>=":
        return (ratio is not None and ratio >= x), f">= {x:g}x"
    if kind == "ratio<=":
        return (ratio is not None and ratio <= x), f"<= {x:g}x"
    if kind == "ttfb":
        if b is None:
            return None, "<= 2x+5ms"
        return m <= 2 * b + 5, "<= 2x+5ms"
    if kind == "max":
        return m < x, f"< {x:g}"
    if kind == "limit":
        return (b is not None and m <= b), "<= limit"
    return None, ""


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(s):
    if not s:
        return "-"
    return f"{fmt(s['median'])} [{fmt(s['min'])}-{fmt(s['max'])}]"


def main():
    CASES.update(SCALE_CASES)
    samples, out, meta_path = sys.argv[1:4]
    data = {}
    order = []
    with open(samples) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            tr, case, side, val = parts
            if case not in CASES:
                continue
            key = (tr, case)
            if key not in data:
                data[key] = {}
                order.append(key)
            data[key].setdefault(side, []).append(float(val))
    with open(meta_path) as f:
        meta = json.load(f)
    rows = []
    for tr, case in order:
        title, unit, higher, bname, target = CASES[case]
        sides = data[(tr, case)]
        m = stats(sides.get("mgdcfs", []))
        for peer, pname, ptarget in (("baseline", bname, target),
                                     ("curl_file", "curl -o file on the cache's disk", None),
                                     ("rclone", "rclone 1.60 --vfs-cache-mode full",
                                      RCLONE_TARGET.get(case)),
                                     ("bindfs", "bindfs (FUSE) over the local file",
                                      BINDFS_TARGET.get(case))):
            if peer != "baseline" and peer not in sides:
                continue
            if peer == "baseline" and peer not in sides and bname and not (target and target[0] == "max"):
                continue
            b = stats(sides.get(peer, []))
            ratio = None
            if m and b and b["median"] > 0:
                ratio = m["median"] / b["median"]
            met, tdesc = verdict(ptarget, m["median"] if m else None,
                                 b["median"] if b else None, ratio)
            rows.append({"transport": tr, "case": case, "title": title, "unit": unit,
                         "higher_is_better": higher, "mgdcfs": m, "peer": pname if b else "",
                         "baseline": b, "ratio": ratio, "target": tdesc, "met": met})
    meta["results"] = rows
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    head = ("transport", "case", "unit", "mgdcfs median [min-max]", "peer", "peer median [min-max]",
            "ratio", "target")
    lines = [head]
    for r in rows:
        met = r["met"]
        tgt = r["target"] + ("" if met is None else (" ok" if met else " MISSED"))
        lines.append((r["transport"], r["title"], r["unit"], cell(r["mgdcfs"]), r["peer"] or "-",
                      cell(r["baseline"]), fmt(r["ratio"]) if r["ratio"] is not None else "-", tgt))
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(head))]
    for i, l in enumerate(lines):
        print("| " + " | ".join(str(c).ljust(widths[j]) for j, c in enumerate(l)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if meta.get("settings"):
        print("\nSettings of every mgdcfs row: " + meta["settings"])


if __name__ == "__main__":
    main()
