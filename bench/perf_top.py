#!/usr/bin/env python3
"""Top functions, self and inclusive, from `perf script -F ip,sym,dso` output on stdin.

Debian 12's perf 6.1 cannot read the symbols of schsim's binaries ("symsrc__init: cannot get
elf header"), so frames perf leaves [unknown] are named here from the binary's symbol table (binutils nm).
  perf script -i perf.data -F ip,sym,dso | bench/perf_top.py [N]
"""
import bisect
import collections
import re
import subprocess
import sys

FRAME = re.compile(r"^\s*([0-9a-f]+) (.*) \((.*)\)$")


def read_samples(lines):
    sample = []
    for line in lines:
        m = FRAME.match(line)
        if m:
            sample.append((int(m.group(1), 16), m.group(2), m.group(3)))
        elif sample:
            yield sample
            sample = []
    if sample:
        yield sample


def symbol_table(dso):
    """(start address, name) of every function in `dso`'s symbol table, sorted."""
    out = subprocess.run(["nm", "-C", "--defined-only", "-n", dso], capture_output=True,
                         text=True, check=False).stdout.splitlines()
    table = []
    for line in out:
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    return table


def resolve(unknown):
    """Each address named by the function that contains it (not an inlined callee)."""
    names = {}
    by_dso = collections.defaultdict(set)
    for addr, dso in unknown:
        by_dso[dso].add(addr)
    for dso, addrs in by_dso.items():
        table = symbol_table(dso)
        starts = [a for a, _ in table]
        for addr in addrs:
            i = bisect.bisect_right(starts, addr) - 1
            name = table[i][1] if i >= 0 else "??"
            # Template arguments and parameter lists make names unreadable in a table.
            names[(addr, dso)] = re.sub(r"\(.*", "", name)[:90]
    return names


def main():
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    samples = list(read_samples(sys.stdin))
    unknown = {(a, d) for s in samples for a, sym, d in s if sym == "[unknown]"}
    names = resolve(unknown)

    def name(frame):
        addr, sym, dso = frame
        return names.get((addr, dso), "??") if sym == "[unknown]" else re.sub(r"\+0x.*", "", sym)

    self_count = collections.Counter()
    incl_count = collections.Counter()
    for s in samples:
        frames = [name(f) for f in s]
        self_count[frames[0]] += 1
        for n in set(frames):
            incl_count[n] += 1
    total = len(samples) or 1
    print(f"{total} samples")
    print("| self % | function |")
    print("|---|---|")
    for n, c in self_count.most_common(top):
        print(f"| {100 * c / total:.1f} | `{n}` |")
    print()
    print("| inclusive % | function |")
    print("|---|---|")
    for n, c in incl_count.most_common(top + 10):
        print(f"| {100 * c / total:.1f} | `{n}` |")


if __name__ == "__main__":
    main()
