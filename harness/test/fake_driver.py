#!/usr/bin/env python3
"""A tiny client driver speaking docs/driver-protocol.md, for the harness's own tests.

It is a real (if minimal) RESP3 client: one connection, HELLO 3, CLIENT MAINT_NOTIFICATIONS,
then the commands in arrival order; it ignores every push, so it never hands off. Behaviours
for the launcher tests are chosen with --mode:
  good          (default) the protocol as documented
  unsupported   exit 127 before hello
  crash-after=N exit 1 with a message on stderr after N results
  hang          never answer hello
  hang-results  answer everything but never send a result
  garbage       interleave lines that are not protocol messages
  huge-line     print a 3 MB line (over the 1 MiB limit) before answering hello
  slow-set      a pooled client whose SETs go out 100 ms late on a connection of their own, so
                a GET sent just after a SET runs first (as with any pool)
  bad-results   also send a result for a command id never issued, and a second result for
                the first command
  no-caps       declare no capability at all
  no-opt-in     declare the SCH capabilities but never send CLIENT MAINT_NOTIFICATIONS (a
                client that ignores `mode`), so steps waiting for a handshake never run
"""
import json
import os
import socket
import sys
import threading
import time

MODE = "good"
for arg in sys.argv[1:]:
    if arg.startswith("--mode="):
        MODE = arg[len("--mode="):]

out_lock = threading.Lock()


def now_ns():
    return time.monotonic_ns()


def emit(msg):
    with out_lock:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


class Resp:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n", 1)
        return head

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def value(self):
        head = self.line()
        kind, rest = head[:1], head[1:].decode()
        if kind in (b"+",):
            return rest
        if kind in (b"-", b"!"):
            if kind == b"!":
                rest = self.exact(int(rest)).decode()
            return RuntimeError(rest)
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            n = int(rest)
            return None if n < 0 else self.exact(n).decode(errors="replace")
        if kind == b"_":
            return None
        if kind in (b"*", b"~", b">"):
            items = [self.value() for _ in range(int(rest))]
            return ("push", items) if kind == b">" else items
        if kind == b"%":
            return {str(self.value()): self.value() for _ in range(int(rest))}
        if kind in (b"#", b","):
            return rest
        raise ValueError("unknown RESP type %r" % kind)

    def reply(self):
        while True:
            v = self.value()
            if isinstance(v, tuple) and v[0] == "push":
                continue  # a maintenance push: this client ignores them
            return v

    def call(self, *args):
        payload = b"*%d\r\n" % len(args)
        for a in args:
            b = str(a).encode()
            payload += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(payload)
        return self.reply()


state = {"conn": None, "settings": {}, "results": 0}
work = []
work_cv = threading.Condition()


def worker():
    while True:
        with work_cv:
            while not work:
                work_cv.wait()
            msg = work.pop(0)
        if msg is None:
            return
        sent = now_ns()
        try:
            if state["conn"] is None:
                raise ConnectionError("not connected")
            v = state["conn"].call(*msg["args"])
            if isinstance(v, RuntimeError):
                res = {"ok": False, "error_class": "server", "message": str(v)}
            else:
                res = {"ok": True, "reply": "nil" if v is None else str(v)}
        except (OSError, ConnectionError) as e:
            res = {"ok": False, "error_class": "connection", "message": str(e)}
        if MODE == "hang-results":
            continue
        res.update({"type": "result", "id": msg["id"], "sent_ns": sent, "t_ns": now_ns()})
        emit(res)
        if MODE == "bad-results" and state["results"] == 0:
            emit(res)
            emit(dict(res, id=987654321))
        state["results"] += 1
        if MODE.startswith("crash-after=") and state["results"] >= int(MODE.split("=")[1]):
            sys.stderr.write("fake driver: simulated crash after %d results\n" % state["results"])
            sys.stderr.flush()
            os._exit(1)


def slow_set(msg):
    """SET on a second pooled connection that is 100 ms slow."""
    time.sleep(0.1)
    sent = now_ns()
    try:
        ep = state["endpoint"]
        conn = Resp(socket.create_connection((ep["host"], ep["port"]), timeout=5))
        conn.call("HELLO", "3")
        v = conn.call(*msg["args"])
        conn.sock.close()
        res = ({"ok": False, "error_class": "server", "message": str(v)}
               if isinstance(v, RuntimeError) else {"ok": True, "reply": str(v)})
    except (OSError, ConnectionError) as e:
        res = {"ok": False, "error_class": "connection", "message": str(e)}
    res.update({"type": "result", "id": msg["id"], "sent_ns": sent, "t_ns": now_ns()})
    emit(res)


def connect():
    ep = state["endpoint"]
    s = state["settings"]
    sock = socket.create_connection((ep["host"], ep["port"]), timeout=5)
    sock.settimeout(None)
    conn = Resp(sock)
    hello = conn.call("HELLO", "3")
    if isinstance(hello, RuntimeError):
        raise ConnectionError(str(hello))
    if s.get("mode", "auto") != "disabled" and MODE != "no-opt-in":
        etype = s.get("endpoint_type", "auto")
        if etype == "auto":
            etype = "internal-ip"
        r = conn.call("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", etype)
        if isinstance(r, RuntimeError) and s.get("mode") == "enabled":
            raise ConnectionError(str(r))
    state["conn"] = conn


def main():
    if MODE == "unsupported":
        sys.stderr.write("fake driver: this client cannot run here\n")
        sys.exit(127)
    threading.Thread(target=worker, daemon=True).start()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        t = msg.get("type")
        if MODE == "garbage":
            emit_raw = "this is not json"
            with out_lock:
                sys.stdout.write(emit_raw + "\n")
                sys.stdout.flush()
        if t == "hello":
            if MODE == "hang":
                continue
            if MODE == "huge-line":
                with out_lock:
                    sys.stdout.write("y" * (3 << 20) + "\n")
                    sys.stdout.flush()
            caps = [] if MODE == "no-caps" else ["maint_notifications", "mode_auto",
                                                   "mode_enabled", "relaxed_timeouts"]
            emit({"type": "hello", "protocol": 1, "client": "fake-python", "version": "0.0.1",
                  "language": "python", "capabilities": caps, "timeouts": {"reply": "none"}})
        elif t == "configure":
            state["endpoint"] = msg["endpoint"]
            state["settings"] = msg.get("settings", {})
            emit({"type": "configured"})
        elif t == "connect":
            try:
                connect()
                emit({"type": "connected", "t_ns": now_ns()})
            except (OSError, ConnectionError) as e:
                emit({"type": "connect_failed", "t_ns": now_ns(), "error_class": "handshake",
                      "message": str(e)})
        elif t == "command" and MODE == "slow-set" and msg["args"][0].upper() == "SET":
            threading.Thread(target=slow_set, args=(msg,), daemon=True).start()
        elif t == "command":
            with work_cv:
                work.append(msg)
                work_cv.notify()
        elif t == "shutdown":
            emit({"type": "bye", "stats": {"connections_opened": 1}})
            return


if __name__ == "__main__":
    main()
