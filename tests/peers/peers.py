#!/usr/bin/env python3
"""The JSON side of scripts/peers.sh: which test groups to run, the endpoints file the peers'
suites read, and the comparison of what ran with the committed expectations.

  peers.py groups EXPECTATIONS --selection ci|full
      one line per group to run: NAME TAB TOPOLOGY TAB GO_TEST_RUN_REGEX TAB TIMEOUT_S
  peers.py endpoints-config SERVE_ENDPOINTS_JSON --topology standalone|cluster --out FILE
      writes the REDIS_ENDPOINTS_CONFIG_PATH file and prints the fault injector's base URL
  peers.py compare EXPECTATIONS --selection ci|full [--json OUT] TEST2JSON_LOG...
      per test: expected and observed result; exit 1 when any differs
  peers.py compare-junit EXPECTATIONS [--json OUT] JUNIT_XML
      the same for a pytest run (every test the file lists; groups do not apply)

Standard library only: it runs wherever python3 does.
"""

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

RESULTS = ("pass", "fail", "skip")
RANK = {"skip": 0, "pass": 1, "fail": 2}


def load_expectations(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for name, entry in data["tests"].items():
        expect = entry.get("expect")
        if expect not in RESULTS + ("not_run",):
            sys.exit(f"{path}: test {name}: expect must be one of pass, fail, skip, not_run")
        if expect != "pass" and not entry.get("reason"):
            sys.exit(f"{path}: test {name}: every non-pass needs a reason")
        tolerate = entry.get("tolerate")
        if tolerate is not None and not (
            expect == "pass" and tolerate.get("errors") and tolerate.get("reason")
        ):
            sys.exit(f"{path}: test {name}: tolerate needs expect pass, errors and a reason")
    for name, group in data.get("groups", {}).items():
        for test in group["tests"]:
            if test not in data["tests"]:
                sys.exit(f"{path}: group {name} runs {test}, which has no expectation")
    return data


def selected_groups(data, selection):
    return {
        name: group
        for name, group in data["groups"].items()
        if selection == "full" or group.get("ci", False)
    }


def group_selects(group, test):
    """Whether running `group` runs `test` (a top-level test or a subtest, as go test names
    them): a group of top-level tests runs all their subtests; a group that names subtests of
    its one top-level test runs those."""
    tops = {t.split("/", 1)[0] for t in group["tests"]}
    subs = {t.split("/", 1)[1] for t in group["tests"] if "/" in t}
    top, _, sub = test.partition("/")
    return top in tops and (not subs or not sub or sub.split("/", 1)[0] in subs)


def run_regex(tests):
    """go test -run for a group: top-level tests, or subtests of one top-level test."""
    tops = sorted({t.split("/", 1)[0] for t in tests})
    subs = sorted({t.split("/", 1)[1] for t in tests if "/" in t})
    if subs and len(tops) != 1:
        sys.exit(f"a group with subtests must run one top-level test, not {tops}")
    regex = "^(" + "|".join(tops) + ")$"
    if subs:
        regex += "/^(" + "|".join(subs) + ")$"
    return regex


def cmd_groups(args):
    data = load_expectations(args.expectations)
    for name, group in selected_groups(data, args.selection).items():
        timeout = group.get("timeout_s", 600)
        print(f"{name}\t{group['topology']}\t{run_regex(group['tests'])}\t{timeout}")


def control_url(serve):
    control = serve.get("control")
    if isinstance(control, dict):
        if control.get("url"):
            return control["url"].rstrip("/")
        return f"http://{control['host']}:{control['port']}"
    if isinstance(control, str) and control:
        return control if control.startswith("http") else "http://" + control
    sys.exit("the serve endpoints JSON has no control address (schsim serve --control ...)")


def database_entry(serve, cluster):
    """One database as Redis Enterprise's endpoints file describes it (go-redis
    config_parser_test.go EnvDatabaseConfig): the template each test's create_database uses."""
    start = next(e for e in serve["endpoints"] if e["name"] == serve["start"])
    return {
        "bdb_id": 1,
        "username": "default",
        "password": "",
        "tls": False,
        "oss_cluster": cluster,
        "endpoints": [f"redis://{start['host']}:{start['port']}"],
        "raw_endpoints": [
            {
                "addr": [start["host"]],
                "addr_type": "external",
                "dns_name": start["host"],
                "port": start["port"],
                "oss_cluster_api_preferred_endpoint_type": "ip",
                "oss_cluster_api_preferred_ip_type": "external",
                "proxy_policy": "all-master-shards" if cluster else "single",
                "uid": "1:1",
            }
        ],
    }


def cmd_endpoints_config(args):
    with open(args.serve_json, encoding="utf-8") as f:
        serve = json.load(f)
    cluster = args.topology == "cluster"
    # go-redis's standalone tests look the database up as "standalone"; its cluster tests take
    # the first entry; redis-py's and Lettuce's default name is "m-standard".
    names = ["oss-cluster"] if cluster else ["standalone", "m-standard"]
    config = {name: database_entry(serve, cluster) for name in names}
    Path(args.out).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(control_url(serve))


def observed_results(logs):
    """test2json logs -> ({test: (result, elapsed_s)}, {test: output lines}); a test that
    started but never finished (killed, timed out) is a fail."""
    results, output = {}, {}
    for log in logs:
        one, out = observed_in_log(log)
        for test, (result, elapsed) in one.items():
            # A parent run by two groups (its subtests split between them): a fail anywhere wins.
            if test not in results or RANK[result] > RANK[results[test][0]]:
                results[test] = (result, elapsed)
        for test, lines in out.items():
            output.setdefault(test, []).extend(lines)
    return results, output


def observed_in_log(log):
    """One test2json stream -> ({test: (result, elapsed_s)}, {test: output lines})."""
    results, output = {}, {}
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            test, action = event.get("Test"), event.get("Action")
            if not test:
                continue
            if action == "run":
                results.setdefault(test, ("fail", 0.0))
            elif action == "output":
                output.setdefault(test, []).append(event.get("Output", ""))
            elif action in RESULTS:
                results[test] = (action, event.get("Elapsed", 0.0))
    return results, output


def failure_lines(lines):
    """What a failed test said went wrong: every "[ERROR]" line (go-redis's e2e tests print one
    per failed check, well before the "[FAIL] Errors detected" summary and the log dump that
    follows it, so the last lines alone never name the check), then its last failure lines."""
    errors = [l.rstrip() for l in lines if "[ERROR]" in l][:20]
    rest = [
        l.rstrip()
        for l in lines
        if "[ERROR]" not in l
        and ("FAIL" in l or "Error" in l or "panic" in l or "_test.go:" in l)
    ]
    return errors + rest[-8:]


def only_tolerated_errors(lines, tolerated):
    """Whether a failed test failed only on checks the expectations file tolerates: every
    "[ERROR]" line it printed (go-redis's e2e tests print one for each failed check, and one
    "[FAIL] Errors detected" summary) names one of them, and nothing else failed it (a panic, a
    timeout, or a failure without any "[ERROR]" line is never tolerated)."""
    errors = [l for l in lines if "[ERROR]" in l and "[FAIL] Errors detected" not in l]
    if not errors or any("panic:" in l or "test timed out" in l for l in lines):
        return False
    return all(any(t in l for t in tolerated) for l in errors)


def compare_one(name, entry, observed, output):
    expect = entry["expect"]
    got, elapsed = observed.get(name, ("not_run", 0.0))
    row = {"test": name, "expect": expect, "observed": got, "elapsed_s": round(elapsed, 1)}
    if entry.get("reason"):
        row["reason"] = entry["reason"]
    if got == "fail":
        row["failure"] = failure_lines(output.get(name, []))
    row["ok"] = got == expect
    tolerate = entry.get("tolerate")
    if not row["ok"] and expect == "pass" and got == "fail" and tolerate:
        if only_tolerated_errors(output.get(name, []), tolerate["errors"]):
            row["ok"] = True
            row["tolerated"] = tolerate["reason"]
            row["failure"] = [l.rstrip() for l in output.get(name, []) if "[ERROR]" in l]
    return row


def cmd_compare(args):
    data = load_expectations(args.expectations)
    groups = selected_groups(data, args.selection)
    wanted = [t for t in data["tests"] if any(group_selects(g, t) for g in groups.values())]
    observed, output = observed_results(args.logs)
    rows = [compare_one(t, data["tests"][t], observed, output) for t in wanted]
    # Subtests the suite ran that the file does not list: a new test upstream, or a renamed one.
    for test in sorted(observed):
        if test not in data["tests"] and any(group_selects(g, test) for g in groups.values()):
            rows.append({"test": test, "expect": "unlisted", "observed": observed[test][0],
                         "elapsed_s": round(observed[test][1], 1), "ok": False})
    return report(rows, args)


def report(rows, args):
    print_rows(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    differ = [r for r in rows if not r["ok"]]
    if differ:
        print(f"peers: {len(differ)} result(s) differ from {args.expectations}:")
        for r in differ:
            print(f"  {r['test']}: expected {r['expect']}, observed {r['observed']}")
            for line in r.get("failure", []):
                print(f"    {line[:300]}")
        return 1
    print(f"peers: all {len(rows)} result(s) as expected in {args.expectations}")
    return 0


def junit_results(path):
    """pytest's --junitxml -> ({"Class::test": (result, s)}, {"Class::test": message lines})."""
    results, output = {}, {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("classname", "").rsplit(".", 1)[-1] + "::" + case.get("name", "")
        result, lines = "pass", []
        for child in case:
            if child.tag in ("failure", "error"):
                result = "fail"
                lines = [child.get("message", "")] + (child.text or "").splitlines()[-6:]
            elif child.tag == "skipped":
                result = "skip"
        results[name] = (result, float(case.get("time", "0")))
        output[name] = lines
    return results, output


def cmd_compare_junit(args):
    data = load_expectations(args.expectations)
    if Path(args.junit).exists():
        observed, output = junit_results(args.junit)
    else:
        # pytest stopped before any test (e.g. an INTERNALERROR at session start): every test
        # counts as not run, so each one shows up as a difference.
        print(f"peers: no JUnit report at {args.junit}; pytest's log is beside it")
        observed, output = {}, {}
    rows = [compare_one(t, e, observed, output) for t, e in data["tests"].items()]
    for test in sorted(set(observed) - set(data["tests"])):
        rows.append({"test": test, "expect": "unlisted", "observed": observed[test][0],
                     "elapsed_s": round(observed[test][1], 1), "ok": False})
    return report(rows, args)


def print_rows(rows):
    width = max(len(r["test"]) for r in rows) if rows else 10
    for r in rows:
        mark = ("ok (tolerated)" if r.get("tolerated") else "ok") if r["ok"] else "DIFFERS"
        print(f"  {r['test']:<{width}}  expect {r['expect']:<8} got {r['observed']:<8} "
              f"{r['elapsed_s']:>7.1f} s  {mark}")
        if r.get("tolerated"):
            for line in r.get("failure", []):
                print(f"      {line[:300]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("groups")
    g.add_argument("expectations")
    g.add_argument("--selection", choices=["ci", "full"], default="ci")
    e = sub.add_parser("endpoints-config")
    e.add_argument("serve_json")
    e.add_argument("--topology", choices=["standalone", "cluster"], required=True)
    e.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("expectations")
    c.add_argument("--selection", choices=["ci", "full"], default="ci")
    c.add_argument("--json")
    c.add_argument("logs", nargs="+")
    j = sub.add_parser("compare-junit")
    j.add_argument("expectations")
    j.add_argument("--json")
    j.add_argument("junit")
    args = parser.parse_args()
    if args.command == "groups":
        return cmd_groups(args)
    if args.command == "endpoints-config":
        return cmd_endpoints_config(args)
    if args.command == "compare-junit":
        return cmd_compare_junit(args)
    return cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
