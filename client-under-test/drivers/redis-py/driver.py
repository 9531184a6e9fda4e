#!/usr/bin/env python3
"""schsim driver for redis-py (sync client, MaintNotificationsConfig).

Speaks the JSON-lines driver protocol (docs/driver-protocol.md) on stdin/stdout and logs to
stderr only. redis-py's SCH support is most complete in its sync client, so commands run on
the sync API from a thread pool; the main thread only reads stdin. Output lines go through one
lock and are flushed one by one.
"""

import json
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.connection import BlockingConnectionPool, Connection, SSLConnection
from redis.exceptions import (
    AuthenticationError,
    WatchError,
    ConnectionError as RedisConnectionError,
    RedisError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
)
from redis.maint_notifications import EndpointType, MaintNotificationsConfig
from redis.retry import Retry

try:  # the library's own defaults for its default retry policy
    from redis._defaults import DEFAULT_RETRY_BASE, DEFAULT_RETRY_CAP, DEFAULT_RETRY_COUNT
except ImportError:  # pragma: no cover - older layouts
    DEFAULT_RETRY_BASE, DEFAULT_RETRY_CAP, DEFAULT_RETRY_COUNT = 0.008, 0.512, 3

DRIVER_PROTOCOL = 1
# Commands in flight at once. Beyond this they wait in the executor queue (the harness still
# measures from intended_ns, so such a stall is not hidden).
MAX_WORKERS = int(os.environ.get("SCHSIM_REDISPY_WORKERS", "256"))

log = logging.getLogger("schsim.driver")
_out_lock = threading.Lock()


def emit(msg):
    line = json.dumps(msg, separators=(",", ":")) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def mono_ns():
    return time.monotonic_ns()  # CLOCK_MONOTONIC on Linux


_stats = {"connections_opened": 0, "commands": 0}
_stats_lock = threading.Lock()


class CountingConnection(Connection):
    """The library's TCP connection, counting every socket it opens (MOVING reconnects too)."""

    def _connect(self):
        sock = super()._connect()
        with _stats_lock:
            _stats["connections_opened"] += 1
        emit({"type": "event", "t_ns": mono_ns(), "name": "dial",
              "detail": {"endpoint": f"{self.host}:{self.port}"}})
        return sock


class CountingSSLConnection(SSLConnection):
    """The library's TLS connection (configure.tls), counting every socket it opens."""

    def _connect(self):
        sock = super()._connect()
        with _stats_lock:
            _stats["connections_opened"] += 1
        emit({"type": "event", "t_ns": mono_ns(), "name": "dial",
              "detail": {"endpoint": f"{self.host}:{self.port}", "tls": True}})
        return sock


_library_connections_counted = False


def _count_library_connections():
    """Cluster mode: RedisCluster creates its node pools itself with the library's Connection,
    so the counting that CountingConnection does is put on that class instead (once)."""
    global _library_connections_counted
    if _library_connections_counted:
        return
    _library_connections_counted = True
    original = Connection._connect

    def _connect(self):
        sock = original(self)
        with _stats_lock:
            _stats["connections_opened"] += 1
        emit({"type": "event", "t_ns": mono_ns(), "name": "dial",
              "detail": {"endpoint": f"{self.host}:{self.port}"}})
        return sock

    Connection._connect = _connect


_EVENT_NAMES = {
    "NodeMovingNotification": "moving", "NodeMigratingNotification": "migrating",
    "NodeMigratedNotification": "migrated", "NodeFailingOverNotification": "failing_over",
    "NodeFailedOverNotification": "failed_over", "OSSNodeMigratingNotification": "smigrating",
    "OSSNodeMigratedNotification": "smigrated",
}


def _install_event_hooks():
    """Report each maintenance notification redis-py dispatches as an informative event. The
    parser holds bound methods of these handler classes (MOVING goes to the pool handler, the
    others to the connection handler), so wrapping the class methods sees every one once."""
    from redis import maint_notifications as mn

    def wrap(cls):
        orig = getattr(cls, "handle_notification", None)
        if orig is None:
            return

        def handle_notification(self, notification):
            try:
                detail = {"seq": getattr(notification, "id", None)}
                if isinstance(notification, mn.NodeMovingNotification):
                    host = getattr(notification, "new_node_host", None)
                    port = getattr(notification, "new_node_port", None)
                    detail["time_s"] = getattr(notification, "ttl", None)
                    detail["endpoint"] = f"{host}:{port}" if host else None
                name = type(notification).__name__
                emit({"type": "event", "t_ns": mono_ns(),
                      "name": _EVENT_NAMES.get(name, name.lower()), "detail": detail})
            except Exception as e:  # noqa: BLE001 - events are informative only
                log.warning("event hook: %r", e)
            return orig(self, notification)

        cls.handle_notification = handle_notification

    wrap(mn.MaintNotificationsPoolHandler)
    wrap(mn.MaintNotificationsConnectionHandler)


# ------------------------------------------------------------------------------------------
# Error classes


_HANDSHAKE_FRAMES = {"on_connect", "on_connect_check_health", "_enable_maintenance_notifications",
                     "_send_hello"}


def _raised_in_handshake(exc):
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name in _HANDSHAKE_FRAMES:
            return True
        tb = tb.tb_next
    return False


def classify(exc):
    if isinstance(exc, WatchError) and isinstance(exc.__context__, Exception):
        # Pipeline._disconnect_raise_on_watching turns a timeout or connection error met while
        # keys are WATCHed into WatchError("A TimeoutError occurred while watching ..."), raised
        # from the failure callback: the error it replaces is its __context__. That is a lost
        # connection, not a watched key that changed (EXEC answering null).
        return classify(exc.__context__)
    if isinstance(exc, WatchError):
        return "aborted"
    if isinstance(exc, RedisTimeoutError):
        return "timeout"
    if isinstance(exc, AuthenticationError):
        return "handshake"
    if isinstance(exc, RedisError) and _raised_in_handshake(exc):
        # Raised while setting up a new connection (HELLO/AUTH/CLIENT MAINT_NOTIFICATIONS),
        # even when the error is a ResponseError from the server.
        return "handshake"
    if isinstance(exc, RedisConnectionError):
        return "connection"
    if isinstance(exc, ResponseError):
        return "server"
    if isinstance(exc, (ConnectionError, OSError)):
        return "connection"
    return "other"


# ------------------------------------------------------------------------------------------
# Replies


def _plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (list, tuple, set)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(_plain(k)): _plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def render(v):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (bytes, str)):
        return _plain(v)
    if isinstance(v, (list, tuple, set, dict)):
        return json.dumps(_plain(v), separators=(",", ":"))
    return str(v)


# ------------------------------------------------------------------------------------------


def _text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class Driver:
    def __init__(self):
        self.client = None
        self.pool = None
        # Cluster mode: RedisCluster connects in its constructor (CLUSTER SLOTS from the seed),
        # so configure keeps the arguments and connect builds it.
        self.cluster_kwargs = None
        self.executor = ThreadPoolExecutor(max_workers=MAX_WORKERS,
                                           thread_name_prefix="cmd")
        self.inflight = 0
        self.inflight_cv = threading.Condition()
        self.stopping = False
        self.sharded = False  # the subscription is a ClusterPubSub's shard channels

    def hello(self, msg):
        log.info("hello, case %r", msg.get("case"))
        emit({"type": "hello", "protocol": DRIVER_PROTOCOL, "client": "redis-py",
              "version": redis.__version__, "language": "python",
              "capabilities": ["maint_notifications", "relaxed_timeouts", "handoff",
                               "moving_null_endpoint", "mode_auto", "mode_enabled", "resp2",
                               "auth", "reconnect", "cluster", "tls", "pubsub", "sharded_pubsub",
                               "blocking", "transactions"],
              "timeouts": {"reply": "command"}})

    def configure(self, msg):
        ep = msg.get("endpoint") or {}
        s = msg.get("settings") or {}
        host, port = ep.get("host"), ep.get("port")
        if not host or not port:
            emit({"type": "error", "error_class": "config",
                  "message": "configure: endpoint {host, port} is required"})
            return
        protocol = s.get("protocol", 3)
        if protocol not in (2, 3, None):
            emit({"type": "error", "error_class": "config",
                  "message": f"protocol must be 2 or 3, got {protocol!r}"})
            return
        mode = s.get("mode") or "auto"
        enabled = {"disabled": False, "enabled": True, "auto": "auto"}.get(mode)
        if enabled is None:
            emit({"type": "error", "error_class": "config", "message": f"unknown mode {mode!r}"})
            return
        et = s.get("endpoint_type")
        endpoint_type = None  # None = the library's own detection ("auto")
        if et and et != "auto":
            try:
                endpoint_type = EndpointType(et)
            except ValueError:
                emit({"type": "error", "error_class": "config",
                      "message": f"unknown endpoint_type {et!r}"})
                return

        def secs(key):
            v = s.get(key)
            return None if v is None else v / 1000.0

        mn_kwargs = {"enabled": enabled, "endpoint_type": endpoint_type}
        if "relaxed_timeout_ms" in s:
            relaxed = s["relaxed_timeout_ms"]
            # null or negative: relaxation off (redis-py's -1); absent: the library's default.
            mn_kwargs["relaxed_timeout"] = (-1 if relaxed is None or relaxed < 0
                                            else relaxed / 1000.0)
        mn = MaintNotificationsConfig(**mn_kwargs)

        if s.get("retry_idempotent") is False:
            retry = Retry(NoBackoff(), 0)  # no automatic re-send of any command
        else:  # redis.Redis's default policy
            retry = Retry(ExponentialWithJitterBackoff(base=DEFAULT_RETRY_BASE,
                                                       cap=DEFAULT_RETRY_CAP),
                          DEFAULT_RETRY_COUNT)

        kwargs = {
            "connection_class": CountingConnection,
            "host": host,
            "port": int(port),
            "protocol": protocol or 3,
            "username": s.get("username"),
            "password": s.get("password"),
            "retry": retry,
            "max_connections": s.get("pool_size") or 10,
        }
        tls = msg.get("tls")
        if tls:
            # redis-py verifies the certificate against the host it connects to (its
            # server_hostname is Connection.host) and has no separate server name: connected to
            # 127.0.0.1 it checks the certificate's IP entries; after a MOVING to a host name it
            # checks that name. tls.server_name is therefore not applied.
            kwargs["connection_class"] = CountingSSLConnection
            kwargs["ssl_ca_certs"] = tls["ca_file"]
            kwargs["ssl_cert_reqs"] = "required"
            kwargs["ssl_check_hostname"] = True
            if tls.get("cert_file"):
                kwargs["ssl_certfile"] = tls["cert_file"]
                kwargs["ssl_keyfile"] = tls.get("key_file")
        if secs("timeout_ms"):
            kwargs["socket_timeout"] = secs("timeout_ms")
        else:
            kwargs["socket_timeout"] = 5
        if secs("connect_timeout_ms"):
            kwargs["socket_connect_timeout"] = secs("connect_timeout_ms")
        # auto on RESP2: redis-py rejects any enabled config (even "auto") with RESP2, while its
        # default (no config) is simply "off" on RESP2. Auto mode is the default, so pass nothing.
        if not (mode == "auto" and kwargs["protocol"] == 2):
            kwargs["maint_notifications_config"] = mn
        if s.get("cluster"):
            self._configure_cluster(kwargs, mode, endpoint_type, mn, retry)
            return
        try:
            pool = BlockingConnectionPool(**kwargs)
            client = redis.Redis(connection_pool=pool)
        except RedisError as e:  # e.g. enabled + RESP2: the library refuses the configuration
            log.warning("configure refused by redis-py: %s", e)
            emit({"type": "error", "error_class": "config", "message": str(e)})
            return
        # Render raw replies (PONG, OK) instead of redis-py's Python conversions (True).
        client.response_callbacks.clear()
        if self.client is not None:
            self.client.close()
        self.client, self.pool = client, pool
        self.pool_kwargs = kwargs
        self.cluster_kwargs = None
        log.info("configured %s:%s protocol=%s mode=%s endpoint_type=%s socket_timeout=%s "
                 "connect_timeout=%s relaxed=%s pool=%s retries=%d", host, port,
                 kwargs["protocol"], mode, endpoint_type, kwargs["socket_timeout"],
                 kwargs.get("socket_connect_timeout"), mn.relaxed_timeout,
                 kwargs["max_connections"], retry._retries)
        emit({"type": "configured"})

    def _configure_cluster(self, kwargs, mode, endpoint_type, mn, retry):
        # RedisCluster takes the retry policy itself (its node clients never retry). It builds
        # each node as redis.Redis(host, port, **kwargs) with that class's default,
        # non-blocking ConnectionPool: no connection class and no pool class can be given, and
        # a max_connections as small as pool_size would fail concurrent commands with "Too
        # many connections" instead of making them wait, so each node's pool keeps
        # redis-py's default size (README).
        tls = kwargs.get("connection_class") is CountingSSLConnection
        kwargs = {k: v for k, v in kwargs.items()
                  if k not in ("connection_class", "max_connections")}
        if tls:
            # Each node's redis.Redis picks SSLConnection itself from ssl=True; the ssl_* keys
            # set above reach it (RedisCluster passes them through to every node).
            kwargs["ssl"] = True
        kwargs["retry"] = retry
        _count_library_connections()
        if self.client is not None:
            self.client.close()
        self.client, self.pool = None, None
        self.cluster_kwargs = kwargs
        log.info("configured cluster seed %s:%s protocol=%s mode=%s endpoint_type=%s "
                 "socket_timeout=%s relaxed=%s retries=%d", kwargs["host"], kwargs["port"],
                 kwargs["protocol"], mode, endpoint_type, kwargs["socket_timeout"],
                 mn.relaxed_timeout, retry._retries)
        emit({"type": "configured"})

    def _connect_cluster(self):
        kwargs = dict(self.cluster_kwargs)
        try:
            # The constructor reads CLUSTER SLOTS from the seed over a fully handshaken
            # connection (HELLO, CLIENT MAINT_NOTIFICATIONS, ...): that is the connect.
            client = redis.RedisCluster(**kwargs)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            if self.stopping:
                return
            cls = classify(e)
            if cls in ("server", "other"):
                cls = "handshake"
            log.warning("cluster connect failed: %r", e)
            emit({"type": "connect_failed", "t_ns": mono_ns(), "error_class": cls,
                  "message": str(e)})
            return
        self.client = client
        if not self.stopping:
            emit({"type": "connected", "t_ns": mono_ns()})

    def connect(self):
        if self.cluster_kwargs is not None:
            self._connect_cluster()
            return
        if self.client is None:
            emit({"type": "connect_failed", "t_ns": mono_ns(), "error_class": "other",
                  "message": "connect before configure"})
            return
        try:
            # redis-py connects lazily: take one connection through the whole handshake
            # (HELLO, CLIENT MAINT_NOTIFICATIONS, CLIENT SETINFO) and give it back.
            conn = self.pool.get_connection()
            self.pool.release(conn)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            if self.stopping:
                return
            cls = classify(e)
            if cls in ("server", "other"):
                cls = "handshake"
            log.warning("connect failed: %r", e)
            emit({"type": "connect_failed", "t_ns": mono_ns(), "error_class": cls,
                  "message": str(e)})
            return
        if not self.stopping:
            emit({"type": "connected", "t_ns": mono_ns()})

    def _run(self, cid, args):
        sent = mono_ns()
        try:
            reply = self.client.execute_command(*args)
            out = {"type": "result", "id": cid, "ok": True, "reply": render(reply)}
        except Exception as e:  # noqa: BLE001 - every failure becomes a result
            out = {"type": "result", "id": cid, "ok": False, "error_class": classify(e),
                   "message": str(e) or type(e).__name__}
        out["sent_ns"] = sent
        out["t_ns"] = mono_ns()
        emit(out)
        with self.inflight_cv:
            self.inflight -= 1
            self.inflight_cv.notify_all()

    def command(self, msg):
        cid = msg.get("id")
        if self.client is None:
            now = mono_ns()
            emit({"type": "result", "id": cid, "ok": False, "error_class": "other",
                  "message": "command before configure", "sent_ns": now, "t_ns": now})
            return
        args = [a if isinstance(a, str) else str(a) for a in msg.get("args") or []]
        with _stats_lock:
            _stats["commands"] += 1
        with self.inflight_cv:
            self.inflight += 1
        self.executor.submit(self._run, cid, args)

    def transaction(self, msg):
        """Runs one MULTI/EXEC block through redis-py's own transaction API on the executor (the
        command loop goes on reading): pipeline(transaction=True), WATCH first when asked (the
        pipeline sends it at once and keeps its connection), then the queued commands, which
        execute() sends with MULTI and EXEC in one write. Never retried here."""
        tid = msg.get("id")
        watch = [str(k) for k in msg.get("watch") or []]
        commands = [[a if isinstance(a, str) else str(a) for a in c]
                    for c in msg.get("commands") or []]
        if self.client is None:
            now = mono_ns()
            emit({"type": "transaction_result", "id": tid, "ok": False, "error_class": "other",
                  "message": "transaction before configure", "sent_ns": now, "t_ns": now})
            return
        with self.inflight_cv:
            self.inflight += 1
        self.executor.submit(self._run_transaction, tid, watch, commands)

    def _run_transaction(self, tid, watch, commands):
        sent = mono_ns()
        try:
            with self.client.pipeline(transaction=True) as pipe:
                if watch:
                    pipe.watch(*watch)
                    pipe.multi()
                for args in commands:
                    pipe.execute_command(*args)
                replies = pipe.execute()
            out = {"type": "transaction_result", "id": tid, "ok": True,
                   "replies": [render(r) for r in replies]}
        except Exception as e:  # noqa: BLE001 - every failure becomes a result
            out = {"type": "transaction_result", "id": tid, "ok": False,
                   "error_class": classify(e), "message": str(e) or type(e).__name__}
        out["sent_ns"] = sent
        out["t_ns"] = mono_ns()
        emit(out)
        with self.inflight_cv:
            self.inflight -= 1
            self.inflight_cv.notify_all()

    def subscribe(self, msg):
        """Subscribes through redis-py's own PubSub object and a listener thread, the way an
        application would; re-subscribing after a handoff is left to redis-py."""
        kind = msg.get("kind", "channel")
        names = [str(n) for n in msg.get("channels") or []]
        if self.client is not None and kind == "shard" and self.cluster_kwargs is not None:
            return self._ssubscribe(names)
        if self.client is None or kind == "shard":
            emit({"type": "subscribe_failed", "t_ns": mono_ns(), "error_class": "other",
                  "message": "sharded Pub/Sub needs the cluster client" if kind == "shard"
                  else "subscribe before configure"})
            return
        def start():
            # A subscriber of its own (own pool, same settings), as an application with a
            # one-connection command pool would do: PubSub holds its connection for good.
            sub_client = self.client
            if self.cluster_kwargs is None:
                sub_client = redis.Redis(connection_pool=BlockingConnectionPool(**self.pool_kwargs))
            self.pubsub = sub_client.pubsub()
            if kind == "pattern":
                self.pubsub.psubscribe(*names)
            else:
                self.pubsub.subscribe(*names)

        self._subscribe_then_listen(start, names, "psubscribe" if kind == "pattern" else "subscribe",
                                    lambda: self.pubsub.get_message(timeout=0.5))

    def _ssubscribe(self, names):
        """Shard channels the way a redis-py cluster application subscribes: RedisCluster's
        ClusterPubSub, ssubscribe (one PubSub per node, each channel on its slot's owner) and a
        listener thread on get_sharded_message; following a slot that moves is left to
        redis-py."""
        def start():
            self.pubsub = self.client.pubsub()
            self.sharded = True
            self.pubsub.ssubscribe(*names)

        self._subscribe_then_listen(start, names, "ssubscribe",
                                    lambda: self.pubsub.get_sharded_message(timeout=0.01))

    def _subscribe_then_listen(self, start, names, confirm, read):
        """Runs `start` (which subscribes), reads with `read` until the server confirmed every
        channel with a `confirm` message (delivering the messages that come meanwhile; 10 s at
        most), reports subscribed or subscribe_failed, then starts the listener thread."""
        try:
            start()
            pending = set(names)
            deadline = time.monotonic() + 10
            while pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no confirmation for {sorted(pending)}")
                m = read()
                if m is None:
                    continue
                if m["type"] == confirm:
                    pending.discard(_text(m["channel"]))
                else:
                    self._deliver(m)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            emit({"type": "subscribe_failed", "t_ns": mono_ns(), "error_class": classify(e),
                  "message": str(e) or type(e).__name__})
            return
        emit({"type": "subscribed", "t_ns": mono_ns()})
        threading.Thread(target=self._listen, name="pubsub", daemon=True).start()

    def _deliver(self, m):
        if m["type"] not in ("message", "pmessage", "smessage"):
            return
        pattern = m.get("pattern")
        emit({"type": "message", "channel": _text(m["channel"]),
              "pattern": _text(pattern) if pattern is not None else None,
              "payload": _text(m["data"]), "t_ns": mono_ns()})

    def _listen(self):
        while not self.stopping:
            try:
                # get_sharded_message reads one message per call, polling the node PubSubs in
                # turn and waiting up to `timeout` on each: any wait on a quiet node lets a busy
                # node's messages pile up unread, so poll without one and pause only when idle.
                if self.sharded:
                    m = self.pubsub.get_sharded_message(timeout=0.0)
                    if m is None:
                        time.sleep(0.002)
                else:
                    m = self.pubsub.get_message(timeout=1.0)
            except Exception as e:  # noqa: BLE001 - an application would log and go on
                log.warning("pubsub get_message: %r", e)
                time.sleep(0.05)
                continue
            if m is not None:
                self._deliver(m)

    def block(self, msg):
        """Runs the workload's blocking consumer through redis-py's own blpop/brpop on a client
        of its own (own pool, same settings: a pending call holds its connection, as it would
        in an application); a call cut by a handoff is left to redis-py, never retried here."""
        command = msg.get("command", "blpop")
        keys = [str(k) for k in msg.get("keys") or []]
        timeout = msg.get("timeout", 0)
        why = ("block before configure" if self.client is None and self.cluster_kwargs is None
               else "the cluster client's blocking commands are not driven"
               if self.cluster_kwargs is not None
               else f"unsupported command {command!r}" if command not in ("blpop", "brpop")
               else "no keys" if not keys else None)
        if why:
            emit({"type": "block_failed", "t_ns": mono_ns(), "error_class": "other",
                  "message": why})
            return
        consumer = redis.Redis(connection_pool=BlockingConnectionPool(**self.pool_kwargs))
        consumer.response_callbacks.clear()
        call = consumer.blpop if command == "blpop" else consumer.brpop
        emit({"type": "block_started", "t_ns": mono_ns()})
        threading.Thread(target=self._consume, args=(call, keys, timeout), name="block",
                         daemon=True).start()

    def _consume(self, call, keys, timeout):
        while not self.stopping:
            sent = mono_ns()
            try:
                reply = call(keys, timeout=timeout)
                if reply is None:
                    out = {"type": "block_timeout"}
                else:
                    out = {"type": "popped", "key": _text(reply[0]), "element": _text(reply[1])}
            except Exception as e:  # noqa: BLE001 - every failure is reported
                out = {"type": "block_error", "error_class": classify(e),
                       "message": str(e) or type(e).__name__}
            # Reported even while stopping: an element popped is the application's.
            out["sent_ns"] = sent
            out["t_ns"] = mono_ns()
            emit(out)

    def shutdown(self):
        self.stopping = True
        deadline = time.monotonic() + 3
        with self.inflight_cv:
            while self.inflight > 0 and time.monotonic() < deadline:
                self.inflight_cv.wait(deadline - time.monotonic())
            if self.inflight:
                log.warning("shutdown with %d commands in flight", self.inflight)
        if self.client is not None:
            try:
                self.client.close()
            except Exception as e:  # noqa: BLE001
                log.warning("close: %r", e)
        with _stats_lock:
            stats = dict(_stats)
        emit({"type": "bye", "stats": stats})
        sys.stdout.flush()
        os._exit(0)  # do not wait for worker threads stuck in the library


def main():
    # The library logs at WARNING and above (what an application would see by default); the
    # driver's own lines at INFO. SCHSIM_DRIVER_LOG=DEBUG shows the library's debug lines too.
    level = os.environ.get("SCHSIM_DRIVER_LOG", "WARNING")
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(threadName)s %(name)s: %(message)s")
    log.setLevel(min(logging.INFO, logging.getLevelName(level)))
    _install_event_hooks()
    d = Driver()
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        try:
            msg = json.loads(raw)
        except ValueError as e:
            log.error("bad input line %r: %s", raw, e)
            continue
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "hello":
            d.hello(msg)
        elif kind == "configure":
            d.configure(msg)
        elif kind == "connect":
            threading.Thread(target=d.connect, name="connect", daemon=True).start()
        elif kind == "command":
            d.command(msg)
        elif kind == "subscribe":
            threading.Thread(target=d.subscribe, args=(msg,), name="subscribe",
                             daemon=True).start()
        elif kind == "block":
            d.block(msg)
        elif kind == "transaction":
            d.transaction(msg)
        elif kind == "shutdown":
            d.shutdown()
        else:
            log.info("ignoring message type %r", kind)
    log.warning("stdin closed without shutdown")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
