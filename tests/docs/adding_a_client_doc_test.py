#!/usr/bin/env python3
"""Runs every command block of docs/adding-a-client.md against the reference driver.

The guide's commands name a third-party client (`run-<client>.sh`, `--driver ...`); here they
name the reference client's driver, so the commands a new client author copies are known to work
as written. Substitutions, all in plain sight:
  client-under-test/drivers/run-<client>.sh, `--driver ...`  -> the reference driver
  build/apps/schsim/schsim, a leading `schsim`                -> the schsim under test
  `<port>`                                                    -> node-a's port from `schsim serve`
  `schsim suite ...`                                          -> with `-f notification-moving`
                                                                 (the whole suite is its own test)
  `install.sh <client>`                                       -> checked to exist, not run: it
                                                                 downloads from package registries
A line ending in `&` runs in the background until the block is done.

    adding_a_client_doc_test.py SOURCE_DIR SCHSIM REFERENCE_DRIVER WORK_DIR
Exit 0 when every command exited 0; 77 when redis-server (the guide's first server) is missing.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time


def blocks(markdown):
    return re.findall(r"```sh\n(.*?)```", markdown, flags=re.S)


def substitute(line, schsim, driver, port, work):
    line = line.replace("client-under-test/drivers/run-<client>.sh", driver)
    line = line.replace("--driver ...", "--driver " + driver)
    line = line.replace("build/apps/schsim/schsim", schsim)
    if line.startswith("schsim "):
        line = schsim + line[len("schsim"):]
    if port is not None:
        line = line.replace("<port>", str(port))
    if " suite " in line:
        line += " -f notification-moving -o " + shlex.quote(os.path.join(work, "suite-out"))
    return line


def start_serve(command, cwd):
    """Starts `schsim serve ... &` and returns (process, node-a's port)."""
    proc = subprocess.Popen(shlex.split(command), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        print("# serve: " + line.rstrip())
        m = re.search(r"node-a\s+\S+:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise SystemExit("schsim serve printed no node-a address: " + command)


def main():
    source, schsim, driver, work = sys.argv[1:5]
    if shutil.which("redis-server") is None:
        print("redis-server is not installed: the guide's first commands need it")
        return 77
    os.makedirs(work, exist_ok=True)
    text = open(os.path.join(source, "docs/adding-a-client.md"), encoding="utf-8").read()
    failures = []
    ran = 0
    for block in blocks(text):
        background = []
        port = None
        for raw in block.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if "install.sh" in line:
                script = os.path.join(source, line.split()[0])
                if not os.access(script, os.X_OK):
                    failures.append(f"{line}: {script} is not an executable file")
                continue
            command = substitute(line.rstrip("&").strip(), schsim, driver, port, work)
            if line.endswith("&"):
                proc, port = start_serve(command, source)
                background.append(proc)
                continue
            print("$ " + command, flush=True)
            ran += 1
            r = subprocess.run(command, shell=True, cwd=source, timeout=300)
            if r.returncode != 0:
                failures.append(f"{line}\n  ran as: {command}\n  exit {r.returncode}")
        for proc in background:
            proc.terminate()
            proc.wait(timeout=10)
    if ran == 0:
        failures.append("no command block found in docs/adding-a-client.md")
    for f in failures:
        print("FAILED: " + f)
    print(f"{ran} command(s) run, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
