#!/usr/bin/env node
// schsim driver for node-redis (npm `redis`, maintNotifications* options).
//
// Speaks the JSON-lines driver protocol (docs/driver-protocol.md) on stdin/stdout; logs to
// stderr only. Commands are promises on one client; the event loop keeps reading stdin while
// they are in flight. Writes to a pipe are synchronous on Linux, so lines never interleave.
//
// Deliberately NOT done: no process.on('unhandledRejection'/'uncaughtException') handler.
// node-redis 6.x rejects an un-awaited promise on a null-endpoint MOVING outside 'none' mode
// (sch-protocol.md §10); with Node's default behaviour that kills the process, and the harness
// must see that crash.
'use strict';

// node-redis's REDIS_DEBUG_MAINTENANCE logging uses console.log: keep stdout for the protocol.
console.log = console.error;
console.info = console.error;

const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const readline = require('node:readline');
const dc = require('node:diagnostics_channel');

const DRIVER_PROTOCOL = 1;

// process.hrtime.bigint() is libuv's uv_hrtime(): clock_gettime(CLOCK_MONOTONIC) on Linux.
const monoNs = () => process.hrtime.bigint();

function emit(msg) {
  const line = JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? `\u0000big${v}` : v))
    .replace(/"\\u0000big(-?\d+)"/g, '$1');
  process.stdout.write(line + '\n');
}

function log(...args) {
  process.stderr.write(`${new Date().toISOString()} driver: ${args.join(' ')}\n`);
}

// Count every TCP connection the library opens, including the temporary client that a MOVING
// handoff creates with duplicate(): both go through net.createConnection, or tls.connect with
// socket.tls (a TLSSocket connects itself, not through net.createConnection). A TLS connection
// counts when TCP connects, before its handshake, as a plaintext one does.
const stats = { connections_opened: 0, commands: 0 };
function countWhenConnected(sock, detail) {
  sock.once('connect', () => {
    stats.connections_opened++;
    emit({ type: 'event', t_ns: monoNs(), name: 'dial',
      detail: { endpoint: `${sock.remoteAddress}:${sock.remotePort}`, ...detail } });
  });
  return sock;
}
const origCreateConnection = net.createConnection;
net.createConnection = function countingCreateConnection(...args) {
  return countWhenConnected(origCreateConnection.apply(this, args), {});
};
const origTlsConnect = tls.connect;
tls.connect = function countingTlsConnect(...args) {
  return countWhenConnected(origTlsConnect.apply(this, args), { tls: true });
};

const redis = require('redis');
const { createClient, createCluster, createClientPool } = redis;
const clientPkg = require('@redis/client/package.json');
const errors = redis; // node-redis re-exports its error classes

// Maintenance notifications as informative events (node-redis's own diagnostics channels).
dc.subscribe('node-redis:maintenance', (m) => {
  emit({ type: 'event', t_ns: monoNs(), name: String(m.notification).toLowerCase(), detail: {} });
});
dc.subscribe('node-redis:connection:handoff', () => {
  emit({ type: 'event', t_ns: monoNs(), name: 'handoff_done', detail: {} });
});
dc.subscribe('node-redis:connection:relaxed-timeout', (m) => {
  emit({ type: 'event', t_ns: monoNs(), name: m.value > 0 ? 'relaxed' : 'unrelaxed', detail: {} });
});

function classify(err) {
  if (err instanceof errors.AbortError || err?.name === 'AbortError') return 'cancelled';
  // TimeoutError covers the command timeout and its maintenance variant; SocketTimeoutError is
  // the idle-socket timeout, the only bound node-redis puts on the wait for a reply.
  if (err instanceof errors.TimeoutError || err instanceof errors.SocketTimeoutError) {
    return 'timeout';
  }
  if (err instanceof errors.ErrorReply) return 'server';
  if (err instanceof errors.ConnectionTimeoutError ||
      err instanceof errors.SocketClosedUnexpectedlyError ||
      err instanceof errors.ClientClosedError ||
      err instanceof errors.ClientOfflineError ||
      err instanceof errors.DisconnectsClientError ||
      err instanceof errors.ReconnectStrategyError) {
    return 'connection';
  }
  if (typeof err?.code === 'string' && /^E[A-Z]+/.test(err.code)) return 'connection';
  return 'other';
}

function plain(v) {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(plain(k)), plain(x)]));
  if (v instanceof Set) return [...v].map(plain);
  if (typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function render(v) {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(plain(v));
}

let client = null;
let clientOpts = null; // the standalone client's options, for the WATCH pool
let clustered = false; // client is a RedisCluster (createCluster), whose sendCommand takes a key
let inflight = 0;
let shuttingDown = false;
let shutdownRequested = false;
let idleWaiters = [];

function settle() {
  inflight--;
  if (inflight === 0) {
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((f) => f());
  }
}

function hello(msg) {
  log(`hello, case ${JSON.stringify(msg.case)}`);
  emit({
    type: 'hello', protocol: DRIVER_PROTOCOL, client: 'node-redis', version: clientPkg.version,
    language: 'javascript',
    capabilities: ['maint_notifications', 'relaxed_timeouts', 'handoff', 'moving_null_endpoint',
      'mode_auto', 'mode_enabled', 'resp2', 'auth', 'reconnect', 'cluster', 'tls', 'pubsub',
      'sharded_pubsub', 'blocking', 'transactions'],
    // No option bounds the wait for a reply alone: commandOptions.timeout stops counting once
    // the command is written, and socket.socketTimeout is an idle-socket timeout after which
    // node-redis ends the client for good (an application would not set it as a reply timeout).
    timeouts: { reply: 'none' },
  });
}

function configError(message) {
  emit({ type: 'error', error_class: 'config', message });
}

// configure.tls onto node-redis's socket options, which it passes to tls.connect as they are.
// A MOVING handoff copies these options with only host and port replaced, so servername (the
// configured name) is what Node verifies on the announced endpoint too.
function tlsSocketOptions(t) {
  const o = { tls: true, ca: fs.readFileSync(t.ca_file), rejectUnauthorized: true };
  // Node sends servername as SNI and verifies the certificate against it (else against host);
  // an IP literal is not a valid SNI name (RFC 6066), and host is that IP already.
  if (t.server_name && net.isIP(t.server_name) === 0) o.servername = t.server_name;
  if (t.cert_file) {
    o.cert = fs.readFileSync(t.cert_file);
    o.key = fs.readFileSync(t.key_file);
  }
  return o;
}

function configure(msg) {
  const ep = msg.endpoint || {};
  const s = msg.settings || {};
  if (!ep.host || !ep.port) return configError('configure: endpoint {host, port} is required');
  const resp = s.protocol ?? 3;
  if (resp !== 2 && resp !== 3) return configError(`protocol must be 2 or 3, got ${resp}`);
  const mode = s.mode ?? 'auto';
  if (!['disabled', 'enabled', 'auto'].includes(mode)) return configError(`unknown mode ${mode}`);

  const socket = { host: ep.host, port: Number(ep.port) };
  if (s.connect_timeout_ms > 0) socket.connectTimeout = s.connect_timeout_ms;
  if (msg.tls) {
    try {
      Object.assign(socket, tlsSocketOptions(msg.tls));
    } catch (e) {
      return configError(`configure: tls: ${e.message}`);
    }
  }
  const opts = { socket, RESP: resp };
  // timeout_ms is a per-command timeout: node-redis's is commandOptions.timeout, which bounds
  // the wait to be written (offline queue, MOVING pause) and stops once the command is on the
  // wire (@redis/client commands-queue.js removes its listener on write). socket.socketTimeout
  // is not mapped: it is an idle-socket timeout that ends the client for good.
  if (s.timeout_ms > 0) opts.commandOptions = { timeout: s.timeout_ms };
  if (s.username != null) opts.username = s.username;
  if (s.password != null) opts.password = s.password;
  // Auto on RESP2: node-redis throws for any mode but 'disabled' with RESP2, and its default
  // (option unset) is 'disabled' on RESP2; auto is the default, so leave the option unset.
  if (!(mode === 'auto' && resp === 2)) opts.maintNotifications = mode;
  if (s.endpoint_type) opts.maintEndpointType = s.endpoint_type;
  if ('relaxed_timeout_ms' in s) {
    // null or negative means relaxation off: node-redis cannot switch it off (unset means
    // 10000 ms), so relax to the normal timeout, which is the same thing.
    const off = s.relaxed_timeout_ms === null || s.relaxed_timeout_ms < 0;
    const relaxed = off ? s.timeout_ms : s.relaxed_timeout_ms;
    // Only the command timeout is relaxed: maintRelaxedSocketTimeout would put the idle-socket
    // timeout (not mapped, see above) on the socket during maintenance.
    if (relaxed != null) opts.maintRelaxedCommandTimeout = relaxed;
  }
  // pool_size, post_handoff_relaxed_ms, retry_idempotent: no node-redis equivalent (one
  // multiplexed socket; no post-handoff window; written commands are never re-sent). See
  // README.md.

  let c;
  try {
    c = s.cluster ? makeCluster(opts) : createClient(opts);
  } catch (e) {
    log(`createClient refused the configuration: ${e.message}`);
    return configError(e.message);
  }
  // Every node-redis application must listen to 'error' (an EventEmitter 'error' without a
  // listener throws); report them as events instead.
  c.on('error', (e) => {
    log(`client error event: ${e?.constructor?.name}: ${e?.message}`);
    let cls = classify(e);
    if (cls === 'server' && !c.isReady) cls = 'handshake'; // an error reply while connecting
    emit({ type: 'event', t_ns: monoNs(), name: 'error',
      detail: { error_class: cls, message: String(e?.message ?? e) } });
  });
  c.on('reconnecting', () => log('client reconnecting'));
  if (client) {
    try { client.destroy(); } catch (e) { log(`destroy previous client: ${e.message}`); }
  }
  client = c;
  clustered = Boolean(s.cluster);
  clientOpts = clustered ? null : opts;
  watchPool = null;
  if (clustered) {
    // Per-node client errors; the cluster's own 'error' above covers discovery and SMIGRATED.
    c.on('node-error', (e, node) => {
      log(`node error event (${node?.host}:${node?.port}): ${e?.constructor?.name}: ${e?.message}`);
      emit({ type: 'event', t_ns: monoNs(), name: 'node_error',
        detail: { node: `${node?.host}:${node?.port}`, error_class: classify(e),
          message: String(e?.message ?? e) } });
    });
  }
  const shown = { ...opts, password: opts.password ? '***' : undefined };
  if (msg.tls) shown.socket = { ...socket, ca: msg.tls.ca_file, cert: msg.tls.cert_file, key: msg.tls.key_file };
  log(`configured ${JSON.stringify(shown)}`);
  emit({ type: 'configured' });
}

// node-redis's OSS cluster client from the seed node. Every per-node setting goes in
// `defaults` (node clients are built from it plus the discovered address, not from rootNodes);
// RESP is cluster-wide. Each node client runs its own maintenance manager, and SMIGRATED on a
// node rewrites the cluster's slot map from the push itself (cluster-slots.ts #handleSmigrated).
function makeCluster(opts) {
  const { socket, RESP, ...perNode } = opts;
  const { host, port, ...socketDefaults } = socket;
  return createCluster({
    rootNodes: [{ socket: { host, port } }],
    defaults: { ...perNode, socket: socketDefaults },
    RESP,
  });
}

// The key a workload command routes by. node-redis's raw cluster sendCommand needs it from the
// caller (its typed commands know their key positions); the workload's key commands all take
// the key first (driver-protocol.md).
const KEY_FIRST = new Set(['GET', 'SET', 'INCR', 'DEL', 'EXISTS']);
const READONLY = new Set(['GET', 'EXISTS']);

function send(args) {
  if (!clustered) return client.sendCommand(args);
  const name = String(args[0] ?? '').toUpperCase();
  if (!KEY_FIRST.has(name)) {
    // A keyless command (the PING probe) goes to one node, as an application's probe would:
    // sendCommand routes by the command's request policy (cluster/index.js
    // _executeWithPolicies), and PING's is all_shards, which runs it on every master and
    // reads to the harness as one command executed on each (findings/node-redis). The node is
    // the current master of the slot its first argument hashes to, so never a node the slot
    // map has dropped.
    const routeBy = String(args[1] ?? args[0]);
    return client.getNodeClientForKey(routeBy, false).then((node) => node.sendCommand(args));
  }
  return client.sendCommand(args[1], READONLY.has(name), args);
}

function connect() {
  if (!client) {
    return emit({ type: 'connect_failed', t_ns: monoNs(), error_class: 'other',
      message: 'connect before configure' });
  }
  client.connect().then(
    () => { if (!shuttingDown) emit({ type: 'connected', t_ns: monoNs() }); },
    (e) => {
      if (shuttingDown) return;
      let cls = classify(e);
      if (cls === 'server' || cls === 'other') cls = 'handshake';
      log(`connect failed: ${e?.constructor?.name}: ${e?.message}`);
      emit({ type: 'connect_failed', t_ns: monoNs(), error_class: cls,
        message: String(e?.message ?? e) });
    },
  );
}

function command(msg) {
  const id = msg.id;
  if (!client) {
    const now = monoNs();
    return emit({ type: 'result', id, ok: false, error_class: 'other',
      message: 'command before configure', sent_ns: now, t_ns: now });
  }
  const args = (msg.args || []).map((a) => (typeof a === 'string' ? a : String(a)));
  stats.commands++;
  inflight++;
  const sent = monoNs();
  let p;
  try {
    p = send(args);
  } catch (e) {
    p = Promise.reject(e);
  }
  p.then(
    (reply) => emit({ type: 'result', id, ok: true, reply: render(reply), sent_ns: sent,
      t_ns: monoNs() }),
    (e) => emit({ type: 'result', id, ok: false, error_class: classify(e),
      message: String(e?.message ?? e), sent_ns: sent, t_ns: monoNs() }),
  ).finally(settle);
}

async function shutdown() {
  if (shutdownRequested) return;
  shutdownRequested = true;
  if (inflight > 0) {
    await Promise.race([
      new Promise((r) => idleWaiters.push(r)),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    if (inflight > 0) log(`shutdown with ${inflight} commands in flight`);
  }
  shuttingDown = true;
  if (client) {
    try { client.destroy(); } catch (e) { log(`destroy: ${e.message}`); }
  }
  if (watchPool) {
    try { (await watchPool).destroy(); } catch (e) { log(`destroy watch pool: ${e.message}`); }
  }
  emit({ type: 'bye', stats });
  process.exit(0);
}

// A subscriber the way an application makes one: client.duplicate() copies the options
// (maintNotifications, endpoint type, timeouts), so the subscriber connection opts in too.
let subscriber = null;
async function subscribe(msg) {
  const fail = (cls, message) => emit({ type: 'subscribe_failed', t_ns: monoNs(),
    error_class: cls, message });
  const names = (msg.channels || []).map(String);
  if (client && clustered && msg.kind === 'shard') return sSubscribe(names, fail);
  if (!client || clustered || msg.kind === 'shard') {
    return fail('other', msg.kind === 'shard' ? 'sharded Pub/Sub needs a cluster client'
      : 'subscribe needs a standalone client');
  }
  const pattern = msg.kind === 'pattern';
  try {
    subscriber = client.duplicate();
    subscriber.on('error', (e) => log(`subscriber error: ${e?.message}`));
    await subscriber.connect();
    for (const name of names) {
      const listener = pattern
        ? (payload, channel) => emit({ type: 'message', channel: String(channel), pattern: name,
          payload: String(payload), t_ns: monoNs() })
        : (payload, channel) => emit({ type: 'message', channel: String(channel), pattern: null,
          payload: String(payload), t_ns: monoNs() });
      await (pattern ? subscriber.pSubscribe(name, listener) : subscriber.subscribe(name, listener));
    }
  } catch (e) {
    return fail(classify(e), String(e?.message ?? e));
  }
  emit({ type: 'subscribed', t_ns: monoNs() });
}

// Shard channels the way a node-redis cluster application subscribes: RedisCluster.sSubscribe,
// one channel per call (one call's channels must share a slot), each on the node that owns its
// slot. Following a slot that moves is left to node-redis.
async function sSubscribe(names, fail) {
  try {
    for (const name of names) {
      await client.sSubscribe(name, (payload, channel) => emit({ type: 'message',
        channel: String(channel), pattern: null, payload: String(payload), t_ns: monoNs() }));
    }
  } catch (e) {
    return fail(classify(e), String(e?.message ?? e));
  }
  emit({ type: 'subscribed', t_ns: monoNs() });
}

// A blocking consumer the way node-redis asks for one: a client.duplicate() of its own (a
// pending blPop holds its connection), one call at a time through blPop/brPop, each answer
// reported and the next call issued at once. A call cut by a handoff is left to node-redis.
let consumer = null;
async function block(msg) {
  const fail = (message) => emit({ type: 'block_failed', t_ns: monoNs(), error_class: 'other',
    message });
  const keys = (msg.keys || []).map(String);
  const name = msg.command === 'brpop' ? 'brPop' : msg.command === 'blpop' ? 'blPop' : null;
  if (!client || clustered) return fail('block needs a standalone client');
  if (!name || keys.length === 0) return fail(`unsupported block request ${JSON.stringify(msg)}`);
  try {
    consumer = client.duplicate();
    consumer.on('error', (e) => log(`consumer error: ${e?.message}`));
    await consumer.connect();
  } catch (e) {
    return fail(String(e?.message ?? e));
  }
  emit({ type: 'block_started', t_ns: monoNs() });
  const timeout = Number(msg.timeout ?? 0);
  while (!shuttingDown) {
    const sent = monoNs();
    let out;
    try {
      const reply = await consumer[name](keys, timeout);
      if (reply == null) {
        out = { type: 'block_timeout' };
      } else {
        // { key, element } in node-redis 5; an array [key, element] from older transforms.
        const [key, element] = Array.isArray(reply) ? reply : [reply.key, reply.element];
        out = { type: 'popped', key: String(key), element: String(element) };
      }
    } catch (e) {
      out = { type: 'block_error', error_class: classify(e), message: String(e?.message ?? e) };
    }
    // Reported even while stopping: an element popped is the application's.
    emit({ ...out, sent_ns: sent, t_ns: monoNs() });
    // A client that fails every call at once (closed for good) must not flood the harness.
    if (out.type === 'block_error') await new Promise((r) => setTimeout(r, 10));
  }
}

// WATCH is connection state, and node-redis multiplexes every caller on one socket: two blocks
// WATCHing on the shared client at once would share the watches (the first EXEC clears them
// all). node-redis's way to isolate one is a RedisClientPool (v5 replaced the v4 isolation
// pool with it), built here from the same options when the first WATCH block comes.
let watchPool = null;
function pool() {
  watchPool ??= (async () => {
    const p = createClientPool(clientOpts);
    p.on('error', (e) => log(`watch pool error: ${e?.constructor?.name}: ${e?.message}`));
    await p.connect();
    return p;
  })();
  return watchPool;
}

function transactionError(e) {
  // exec() throws WatchError when EXEC answered null (a watched key changed), and also, with
  // another message, when the connection was replaced after WATCH (the watch is gone with it).
  if (e instanceof errors.WatchError) {
    return /reconnected/i.test(String(e.message)) ? 'connection' : 'aborted';
  }
  return classify(e);
}

// A MULTI/EXEC block through node-redis's own API: multi(), one addCommand per command, exec()
// (MULTI, the commands and EXEC queued together, so nothing else is written in between). With
// WATCH: on a client of the pool, watch() then multi()...exec() on it. Never retried here.
function transaction(msg) {
  const id = msg.id;
  const watch = (msg.watch || []).map(String);
  const commands = (msg.commands || []).map((c) => c.map((a) => (typeof a === 'string' ? a : String(a))));
  if (!client || (watch.length > 0 && clustered)) {
    const now = monoNs();
    return emit({ type: 'transaction_result', id, ok: false, error_class: 'other',
      message: client ? 'WATCH through the cluster client is not driven' : 'transaction before configure',
      sent_ns: now, t_ns: now });
  }
  inflight++;
  const sent = monoNs();
  const run = (c) => {
    const m = c.multi();
    for (const args of commands) m.addCommand(args);
    return m.exec();
  };
  const p = watch.length === 0
    ? Promise.resolve().then(() => run(client))
    : pool().then((wp) => wp.execute(async (c) => {
      await c.watch(watch);
      return run(c);
    }));
  p.then(
    (replies) => emit({ type: 'transaction_result', id, ok: true,
      replies: (replies || []).map(render), sent_ns: sent, t_ns: monoNs() }),
    (e) => emit({ type: 'transaction_result', id, ok: false, error_class: transactionError(e),
      message: String(e?.message ?? e), sent_ns: sent, t_ns: monoNs() }),
  ).finally(settle);
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    log(`bad input line ${JSON.stringify(line)}: ${e.message}`);
    return;
  }
  switch (msg?.type) {
    case 'hello': return hello(msg);
    case 'configure': return configure(msg);
    case 'connect': return connect();
    case 'command': return command(msg);
    case 'subscribe': return void subscribe(msg);
    case 'block': return void block(msg);
    case 'transaction': return transaction(msg);
    case 'shutdown': return void shutdown();
    default: log(`ignoring message type ${JSON.stringify(msg?.type)}`);
  }
});
rl.on('close', () => {
  if (shutdownRequested) return;
  log('stdin closed without shutdown');
  process.exit(0);
});
