#!/usr/bin/env python3
"""A stand-in for the harness side of the driver protocol (docs/driver-protocol.md).

Starts a driver command, plays hello -> configure -> connect -> N commands (INCR on unique keys,
plus a few others) -> shutdown, prints every line the driver writes, and checks the session:
valid JSON lines with a `type`, one result per command, INCR replies of 1, `bye` then exit 0
within 5 s. Standard library only.

    fake_harness.py --driver client-under-test/drivers/run-go-redis.sh --redis-server
    fake_harness.py --driver "..." --port 6379 --mode enabled --commands 50

Exit status: 0 if the session went as the protocol says (a connect_failed counts as a valid
outcome and is reported), 1 otherwise, 2 on bad usage.
"""

import argparse
import json
import os
import queue
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(port):
    exe = shutil.which("redis-server")
    if not exe:
        sys.exit("fake_harness: redis-server not found (apt-get install redis-server)")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--loglevel", "warning", "--enable-debug-command", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("fake_harness: redis-server did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driver", required=True, help="driver command line (shell-split)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, help="server port (default: start a redis-server)")
    ap.add_argument("--redis-server", action="store_true",
                    help="start Debian's redis-server on a free port for the session")
    ap.add_argument("--case", default="fake-harness")
    ap.add_argument("--protocol", type=int, default=3)
    ap.add_argument("--mode", default="auto", choices=["disabled", "enabled", "auto"])
    ap.add_argument("--endpoint-type", default="auto")
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--relaxed-timeout-ms", type=int, default=3000)
    ap.add_argument("--post-handoff-relaxed-ms", type=int, default=6000)
    ap.add_argument("--handoff-timeout-ms", type=int, default=15000)
    ap.add_argument("--connect-timeout-ms", type=int, default=2000)
    ap.add_argument("--pool-size", type=int, default=4)
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--cluster", action="store_true",
                    help="send settings.cluster = true: --port is a cluster seed node "
                         "(e.g. from `schsim serve scenarios/cluster-slot-migration.toml`)")
    ap.add_argument("--commands", type=int, default=20, help="number of INCR commands")
    ap.add_argument("--extra", action="append", default=[], metavar="CMD",
                    help="an extra command sent before the INCRs, e.g. 'DEBUG SLEEP 1' "
                         "(repeatable; its result is printed, not checked)")
    ap.add_argument("--interval-ms", type=float, default=5.0, help="open-loop spacing")
    ap.add_argument("--connect-wait-s", type=float, default=15.0,
                    help="how long to wait for connected/connect_failed")
    ap.add_argument("--result-wait-s", type=float, default=15.0,
                    help="how long to wait for the last result")
    ap.add_argument("--hold-s", type=float, default=0.0,
                    help="keep the session open this long after the last result (to let a "
                         "simulator send notifications)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args()

    server = None
    port = args.port
    if port is None:
        if not args.redis_server:
            ap.error("give --port or --redis-server")
        port = free_port()
        server = start_redis_server(port)
        print(f"# redis-server on 127.0.0.1:{port}", flush=True)

    problems = []
    lines = queue.Queue()
    t0 = time.monotonic()

    cmd = shlex.split(args.driver)
    drv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=None, bufsize=0)

    def reader():
        for raw in drv.stdout:
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()

    def send(msg):
        data = (json.dumps(msg) + "\n").encode()
        if not args.quiet:
            print(f"> {json.dumps(msg)}", flush=True)
        if send.broken:
            return False
        try:
            drv.stdin.write(data)
            drv.stdin.flush()
        except BrokenPipeError:
            send.broken = True
            problems.append(f"driver closed its stdin (exited?) while sent {msg['type']}")
            return False
        return True

    send.broken = False

    results = {}
    events = []
    state = {"bye": None, "eof": False}

    def take(timeout):
        """Next parsed message or None on timeout/EOF."""
        try:
            raw = lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if raw is None:
            state["eof"] = True
            return None
        text = raw.decode("utf-8", "replace").rstrip("\n")
        if not args.quiet:
            print(f"< {text}", flush=True)
        try:
            msg = json.loads(text)
        except ValueError:
            problems.append(f"not JSON: {text!r}")
            return {}
        if not isinstance(msg, dict) or "type" not in msg:
            problems.append(f"no type: {text!r}")
            return {}
        if msg["type"] == "result":
            if msg.get("id") in results:
                problems.append(f"second result for id {msg.get('id')}")
            results[msg.get("id")] = msg
        elif msg["type"] == "event":
            events.append(msg)
        elif msg["type"] == "bye":
            state["bye"] = msg
        return msg

    def wait_for(types, timeout):
        deadline = time.monotonic() + timeout
        while not state["eof"]:
            msg = take(deadline - time.monotonic())
            if msg is None:
                return None
            if msg.get("type") in types:
                return msg
        return None

    outcome = "?"
    shutdown_t = None
    try:
        send({"type": "hello", "protocol": 1, "case": args.case})
        hello = wait_for({"hello"}, 10)
        if not hello:
            problems.append("no hello reply")
            raise RuntimeError
        for k in ("client", "version", "capabilities", "timeouts"):
            if k not in hello:
                problems.append(f"hello lacks {k}")

        settings = {
            "protocol": args.protocol, "mode": args.mode, "endpoint_type": args.endpoint_type,
            "timeout_ms": args.timeout_ms, "relaxed_timeout_ms": args.relaxed_timeout_ms,
            "post_handoff_relaxed_ms": args.post_handoff_relaxed_ms,
            "handoff_timeout_ms": args.handoff_timeout_ms,
            "connect_timeout_ms": args.connect_timeout_ms, "pool_size": args.pool_size,
            "username": args.username, "password": args.password, "retry_idempotent": False,
        }
        if args.cluster:
            if "cluster" not in (hello.get("capabilities") or []):
                problems.append("--cluster, but the driver does not declare the cluster "
                                "capability")
            settings["cluster"] = True
        send({"type": "configure", "endpoint": {"host": args.host, "port": port},
              "settings": settings})
        conf = wait_for({"configured", "unsupported", "error"}, 10)
        if not conf:
            problems.append("no reply to configure")
            raise RuntimeError
        if conf["type"] != "configured":
            outcome = f"configure -> {conf['type']}: {conf.get('feature', '')} {conf.get('message', '')}"
            raise RuntimeError

        send({"type": "connect"})
        conn = wait_for({"connected", "connect_failed"}, args.connect_wait_s)
        if not conn:
            # A client may legitimately never settle (node-redis in enabled mode against a
            # server without SCH): an outcome to report, not a driver bug.
            outcome = (f"connect never settled: no connected/connect_failed within "
                       f"{args.connect_wait_s:g} s")
            raise RuntimeError
        if conn["type"] == "connect_failed":
            outcome = f"connect_failed ({conn.get('error_class')}): {conn.get('message')}"
            raise RuntimeError

        run = f"{os.getpid()}-{int(time.time() * 1000)}"
        ids = []
        base = time.monotonic_ns()
        plan = [["PING"], ["SET", f"schsim:fh:{run}:s", "v"], ["GET", f"schsim:fh:{run}:s"],
                ["GET", f"schsim:fh:{run}:missing"], ["NO_SUCH_COMMAND"]]
        plan += [shlex.split(x) for x in args.extra]
        plan += [["INCR", f"schsim:fh:{run}:ctr:{i}"] for i in range(args.commands)]
        # The GET of the SET's key is only sent once the SET has its result: a pooled client may
        # put them on different connections, and the GET could then run first and read nil
        # without any bug in the client.
        depends_on = {2: 1001}
        for i, argv in enumerate(plan):
            if i in depends_on:
                until = time.monotonic() + args.result_wait_s
                while depends_on[i] not in results and not state["eof"] and time.monotonic() < until:
                    take(0.05)
                base = max(base, time.monotonic_ns() - int(i * args.interval_ms * 1e6))
            intended = base + int(i * args.interval_ms * 1e6)
            delay = (intended - time.monotonic_ns()) / 1e9
            while delay > 0:  # keep draining output while waiting for the schedule
                take(min(delay, 0.05))
                delay = (intended - time.monotonic_ns()) / 1e9
            cid = 1000 + i
            if state["eof"] or not send({"type": "command", "id": cid, "args": argv,
                                         "intended_ns": intended}):
                break
            ids.append((cid, argv))
        deadline = time.monotonic() + args.result_wait_s
        while len([c for c, _ in ids if c in results]) < len(ids) and not state["eof"]:
            if take(deadline - time.monotonic()) is None and time.monotonic() >= deadline:
                break
        missing = [c for c, _ in ids if c not in results]
        if missing:
            problems.append(f"no result for ids {missing[:10]}{'...' if len(missing) > 10 else ''}")
        ok = sum(1 for c, _ in ids if results.get(c, {}).get("ok"))
        classes = {}
        for c, argv in ids:
            r = results.get(c)
            if not r:
                continue
            for k in ("sent_ns", "t_ns"):
                if not isinstance(r.get(k), int):
                    problems.append(f"result {c} lacks integer {k}")
            if r.get("ok") is False:
                classes[r.get("error_class")] = classes.get(r.get("error_class"), 0) + 1
            if argv[0] == "INCR" and r.get("ok") and r.get("reply") != "1":
                problems.append(f"INCR {argv[1]} replied {r.get('reply')!r}, expected '1'")
        expect = {1000: "PONG", 1001: "OK", 1002: "v", 1003: "nil"}
        for c, want in expect.items():
            r = results.get(c)
            if r and r.get("ok") and r.get("reply") != want:
                problems.append(f"id {c}: reply {r.get('reply')!r}, expected {want!r}")
        r = results.get(1004)
        if not args.extra and r and (r.get("ok") or r.get("error_class") != "server"):
            problems.append(f"unknown command: expected error_class server, got {r}")
        outcome = f"connected; {ok}/{len(ids)} ok; errors {classes or 'none'}"
        failed = [(c, argv, results[c]) for c, argv in ids if c in results and not results[c].get("ok")]
        for c, argv, r in failed[:8]:
            ms = (r.get("t_ns", 0) - r.get("sent_ns", 0)) / 1e6
            outcome += (f"\n#   {c} {' '.join(argv)[:40]} -> {r.get('error_class')} after {ms:.0f} ms: "
                        f"{str(r.get('message'))[:120]}")
        if args.hold_s > 0:
            end = time.monotonic() + args.hold_s
            while time.monotonic() < end and not state["eof"]:
                take(end - time.monotonic())
    except RuntimeError:
        pass
    finally:
        if not state["eof"]:
            send({"type": "shutdown"})
            t_sd = time.monotonic()
            shutdown_t = t_sd
            while state["bye"] is None and not state["eof"]:
                if take(t_sd + 5 - time.monotonic()) is None and time.monotonic() >= t_sd + 5:
                    break
            try:
                rc = drv.wait(timeout=max(0.1, t_sd + 5 - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append("driver did not exit within 5 s of shutdown (hung)")
                drv.terminate()
                try:
                    rc = drv.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    drv.kill()
                    rc = drv.wait()
        else:
            rc = drv.wait()
        if state["bye"] is None:
            problems.append(f"no bye (driver exit status {rc})")
        elif rc != 0:
            problems.append(f"driver exited {rc} after bye")
        if server:
            server.terminate()
            server.wait()

    print(f"# outcome: {outcome}")
    if events:
        names = {}
        for e in events:
            names[e.get("name")] = names.get(e.get("name"), 0) + 1
        print(f"# events: {names}")
        dials = [str((e.get("detail") or {}).get("endpoint")) for e in events if e.get("name") == "dial"]
        if dials:
            runs = []  # run-length: "host:port x3"
            for ep in dials:
                if runs and runs[-1][0] == ep:
                    runs[-1][1] += 1
                else:
                    runs.append([ep, 1])
            print("# dialled, in order: " + ", ".join(f"{ep}" + (f" x{n}" if n > 1 else "")
                                                     for ep, n in runs))
    if state["bye"]:
        print(f"# bye stats: {state['bye'].get('stats')}")
    took = f", shutdown->exit {time.monotonic() - shutdown_t:.2f} s" if shutdown_t else ""
    print(f"# driver exit status: {rc}; session {time.monotonic() - t0:.2f} s{took}")
    for p in problems:
        print(f"# PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
