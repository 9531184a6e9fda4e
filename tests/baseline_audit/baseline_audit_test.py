#!/usr/bin/env python3
"""scripts/baseline-audit.py on a hand-made matrix run: a failed check the reason leaves out and a
check the reason blames that passed are listed (exit 1); a reason that matches is not (exit 0)."""
import json
import pathlib
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parents[2]
script = root / "scripts" / "baseline-audit.py"


def run(cells, checks):
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        (d / "go-redis").mkdir()
        case = {"scenario_id": "failover", "checks": [{"id": i, "status": s, "summary": i + " said"}
                                                    for i, s in checks.items()]}
        (d / "go-redis" / "report.json").write_text(json.dumps({"cases": [case]}))
        (d / "baseline.json").write_text(json.dumps({"clients": {"go-redis": cells}}))
        p = subprocess.run([sys.executable, str(script), str(d), str(d / "baseline.json")],
                           capture_output=True, text=True)
        return p.returncode, p.stdout


def main():
    failures = []
    rc, out = run({"failover": {"expected": "fail", "reason": "skips the opt-in (handshake)"}},
                  {"handshake": "pass", "zero_dropped": "fail"})
    if rc != 1 or "zero_dropped failed, the reason does not name it" not in out or \
            "the reason says handshake fails, it passed" not in out:
        failures.append(f"stale and missing causes not both listed (rc {rc}):\n{out}")
    rc, out = run({"failover": {"expected": "fail", "reason": "a timeout (zero_dropped)"}},
                  {"handshake": "pass", "zero_dropped": "fail"})
    if rc != 0 or "0 reason(s)" not in out:
        failures.append(f"a matching reason was listed (rc {rc}):\n{out}")
    rc, _ = run({"failover": "pass"}, {"zero_dropped": "fail"})
    if rc != 0:
        failures.append("a cell without a reason was audited")
    for f in failures:
        print("FAIL:", f)
    print("baseline_audit_test:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
