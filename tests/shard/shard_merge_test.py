#!/usr/bin/env python3
"""Issue 19: the merge of N shards equals the unsharded run.

Runs `schsim suite` and `schsim matrix` once unsharded and once as --shard 1/3, 2/3, 3/3, then
`schsim merge`, with the reference client (and, for the matrix, the same client with a deliberate
bug held to a baseline it breaks), and compares the case sets, the verdicts, the exit codes and
the list of cells that differ from the baseline.

usage: shard_merge_test.py SCHSIM REFCLIENT_DRIVER SOURCE_DIR WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

SCHSIM, DRIVER, SOURCE, WORK = sys.argv[1:5]
SHARDS = 3


def schsim(*args):
    r = subprocess.run([SCHSIM, *args], capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def cases(report_dir):
    with open(os.path.join(report_dir, "report.json")) as f:
        doc = json.load(f)
    return [(c["scenario_id"], c["repetition"], c["client"]["name"], c["outcome"])
            for c in doc["cases"]]


def differing_cells(output):
    """The "client / scenario: expected X, got Y" lines, without the observed evidence after
    " -- " (measured figures differ between any two runs)."""
    return sorted(line.strip().split(" -- ")[0] for line in output.splitlines()
                  if " / " in line and ": expected " in line)


def check_suite():
    args = ["suite", "--client", "reference", "--broken=no-relax", "-j", "2",
            "-f", "notification-m", "-f", "migrating-latency", "-f", "notification-failed-over"]
    whole = os.path.join(WORK, "suite-whole")
    rc_whole, out = schsim(*args, "-o", whole)
    dirs = []
    for i in range(1, SHARDS + 1):
        d = os.path.join(WORK, f"suite-shard{i}")
        rc, out_i = schsim(*args, "--shard", f"{i}/{SHARDS}", "-o", d)
        if rc not in (0, 1):
            fail(f"shard {i}: exit {rc}\n{out_i}")
        dirs.append(d)
    merged = os.path.join(WORK, "suite-merged")
    rc_merged, out_m = schsim("merge", *dirs, "-o", merged)
    if rc_merged != rc_whole:
        fail(f"suite: merge exit {rc_merged}, unsharded {rc_whole}\n{out}\n{out_m}")
    if cases(merged) != cases(whole):
        fail(f"suite: merged cases {cases(merged)}\n != unsharded {cases(whole)}")
    held = [c[0] for d in dirs for c in cases(d)]
    if sorted(held) != sorted(set(held)):
        fail(f"suite: a scenario ran in two shards: {held}")
    for f in ("junit.xml", "index.html"):
        if not os.path.exists(os.path.join(merged, f)):
            fail(f"suite: merge wrote no {f}")
    # Overlapping and missing shards are refused, naming the problem.
    rc, out = schsim("merge", dirs[0], dirs[0], dirs[1], dirs[2], "-o", merged + "-bad")
    if rc != 2 or "given twice" not in out:
        fail(f"merging a shard twice: exit {rc}\n{out}")
    rc, out = schsim("merge", dirs[0], dirs[2], "-o", merged + "-bad")
    if rc != 2 or "shard 2/3 is missing" not in out:
        fail(f"merging without shard 2: exit {rc}\n{out}")
    print(f"suite: {len(cases(merged))} cases, exit {rc_merged}, same as unsharded")


def check_matrix():
    args = ["matrix", "--client", "reference", "--client", f"no-relax={DRIVER} --broken=no-relax",
            "-f", "migrating-latency", "-f", "notification-moving", "-f", "notification-migrated",
            "-j", "2"]
    baseline = os.path.join(SOURCE, "tests", "matrix", "baseline-regressed.json")
    whole = os.path.join(WORK, "matrix-whole")
    rc_whole, out_whole = schsim(*args, "-o", whole, "--baseline", baseline)
    dirs = []
    for i in range(1, SHARDS + 1):
        d = os.path.join(WORK, f"matrix-shard{i}")
        rc, out_i = schsim(*args, "--shard", f"{i}/{SHARDS}", "-o", d)
        if rc not in (0, 1):
            fail(f"matrix shard {i}: exit {rc}\n{out_i}")
        dirs.append(d)
    merged = os.path.join(WORK, "matrix-merged")
    rc_merged, out_merged = schsim("merge", *dirs, "-o", merged, "--baseline", baseline)
    if rc_merged != rc_whole or rc_whole != 1:
        fail(f"matrix: merge exit {rc_merged}, unsharded {rc_whole} (expected 1)\n"
             f"{out_whole}\n{out_merged}")
    if differing_cells(out_merged) != differing_cells(out_whole) or not differing_cells(out_whole):
        fail(f"matrix: differing cells {differing_cells(out_merged)}\n"
             f" != unsharded {differing_cells(out_whole)}")
    with open(os.path.join(whole, "matrix.json")) as f:
        m_whole = json.load(f)
    with open(os.path.join(merged, "matrix.json")) as f:
        m_merged = json.load(f)
    verdicts = lambda m: [(c["name"], s, c["cells"][s]["verdict"])
                          for c in m["clients"] for s in m["scenarios"]]
    if m_merged["scenarios"] != m_whole["scenarios"] or verdicts(m_merged) != verdicts(m_whole):
        fail(f"matrix: merged {verdicts(m_merged)}\n != unsharded {verdicts(m_whole)}")
    for client in ("reference", "no-relax"):
        if cases(os.path.join(merged, client)) != cases(os.path.join(whole, client)):
            fail(f"matrix: {client}'s merged cases differ from the unsharded run's")
    print(f"matrix: {len(verdicts(m_merged))} cells, exit {rc_merged}, "
          f"{len(differing_cells(out_merged))} differing cell(s), same as unsharded")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
check_suite()
check_matrix()
