#!/usr/bin/env python3
"""Checks the reasons in the matrix baseline against a matrix run's evidence.

    scripts/baseline-audit.py MATRIX_OUT [BASELINE]

MATRIX_OUT is a `schsim matrix -o` directory (its CLIENT/report.json files); BASELINE defaults
to client-under-test/drivers/baseline.json. For every cell the run and the baseline share that
has a reason, it lists
  - a check that failed in the run but that the reason does not name (the reason misses a cause),
  - a check the reason names as failing, "(check)" or "(check check)", that passed in the run
    (the reason may be stale: re-read the cell's evidence before keeping it).
A race cell can name a check that passed in this one run; the listing is where to look, not a
verdict. Exit 1 when anything is listed, 0 otherwise, 2 on bad arguments.
"""
import json
import pathlib
import sys


def audit(matrix_out, baseline):
    cells = json.loads(pathlib.Path(baseline).read_text())["clients"]
    findings = []
    for report in sorted(pathlib.Path(matrix_out).glob("*/report.json")):
        client = report.parent.name
        for case in json.loads(report.read_text())["cases"]:
            scenario = case["scenario_id"]
            cell = cells.get(client, {}).get(scenario)
            if not isinstance(cell, dict):
                continue
            reason = cell.get("reason", "")
            for check in case["checks"]:
                named = check["id"] in reason or check["id"].replace("_", " ") in reason
                if check["status"] == "fail" and not named:
                    findings.append(f"{client} / {scenario}: {check['id']} failed, the reason "
                                    f"does not name it: {check['summary'][:200]}")
                marked = f"({check['id']})" in reason or f"({check['id']} check)" in reason
                if check["status"] == "pass" and marked:
                    findings.append(f"{client} / {scenario}: the reason says {check['id']} "
                                    "fails, it passed in this run")
    return findings


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    baseline = argv[2] if len(argv) == 3 else "client-under-test/drivers/baseline.json"
    if not pathlib.Path(argv[1]).is_dir() or not pathlib.Path(baseline).is_file():
        print("baseline-audit.py: need a matrix output directory and a baseline file", file=sys.stderr)
        return 2
    findings = audit(argv[1], baseline)
    for f in findings:
        print(f)
    print(f"{len(findings)} reason(s) to re-check against the evidence")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
