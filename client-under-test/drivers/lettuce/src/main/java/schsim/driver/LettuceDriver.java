package schsim.driver;

import static schsim.driver.Wire.emit;
import static schsim.driver.Wire.log;
import static schsim.driver.Wire.monoNs;
import static schsim.driver.Wire.msg;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.MaintNotificationsConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandInterruptedException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.event.connection.ConnectedEvent;
import io.lettuce.core.event.connection.DisconnectedEvent;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.RedisPubSubAdapter;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;

/**
 * schsim driver for Lettuce (io.lettuce:lettuce-core 7.x, MaintNotificationsConfig / TimeoutOptions).
 *
 * <p>Speaks the JSON-lines driver protocol (docs/driver-protocol.md) on stdin/stdout; logs to stderr
 * only (System.out is redirected to stderr so nothing else can reach the protocol stream). Commands
 * go through the async API on one connection; the main thread only reads stdin. Output lines are
 * written under one lock and flushed one by one ({@link Wire}, shared with the Jedis driver).
 * Timestamps: System.nanoTime(), which is clock_gettime(CLOCK_MONOTONIC) on Linux.
 */
public final class LettuceDriver {
    /** Connection initialization timeout when the harness gives no connect timeout. */
    private static final long DEFAULT_INIT_TIMEOUT_MS = 2_000;

    private static final int DRIVER_PROTOCOL = 1;

    private AbstractRedisClient client;
    private boolean cluster;

    private RedisURI uri;

    private StatefulConnection<String, String> connection;

    private volatile boolean shuttingDown;

    /** The transactions' dedicated connection (connected at the first transaction). */
    private CompletableFuture<StatefulRedisConnection<String, String>> txConnection;

    private final Object txLock = new Object();

    private final AtomicLong connectionsOpened = new AtomicLong();

    private final AtomicLong commands = new AtomicLong();

    private final AtomicLong inflight = new AtomicLong();

    private final Object idle = new Object();

    public static void main(String[] args) throws IOException {
        Wire.open();
        new LettuceDriver().run(System.in);
    }

    void run(InputStream in) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            Object parsed;
            try {
                parsed = Json.parse(line);
            } catch (RuntimeException e) {
                log("bad input line " + line + ": " + e.getMessage());
                continue;
            }
            if (!(parsed instanceof Map)) {
                log("bad input line (not an object): " + line);
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) parsed;
            String type = String.valueOf(m.get("type"));
            try {
                switch (type) {
                    case "hello" -> hello(m);
                    case "configure" -> configure(m);
                    case "connect" -> connect();
                    case "command" -> command(m);
                    case "subscribe" -> subscribe(m);
                    case "block" -> block(m);
                    case "transaction" -> transaction(m);
                    case "shutdown" -> shutdown();
                    default -> log("ignoring message type " + type);
                }
            } catch (RuntimeException e) {
                // Lettuce refusing a configuration (its builders validate): a config error.
                log(type + " failed: " + e);
                if ("configure".equals(type)) {
                    configError(message(e));
                } else if ("connect".equals(type)) {
                    emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", classify(e), "message",
                            message(e)));
                }
            }
        }
        log("stdin closed without shutdown");
        System.exit(0);
    }

    static String lettuceVersion() {
        try (InputStream in = LettuceDriver.class.getResourceAsStream("/schsim-lettuce-driver.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("lettuce.version");
        } catch (Exception e) {
            return "unknown";
        }
    }

    void hello(Map<String, Object> m) {
        log("hello, case " + m.get("case"));
        emit(msg("type", "hello", "protocol", DRIVER_PROTOCOL, "client", "lettuce", "version", lettuceVersion(),
                "language", "java",
                // No mode_enabled: Lettuce has no fail-closed mode, it always ignores a rejected
                // CLIENT MAINT_NOTIFICATIONS (RedisHandshake.enableMaintNotifications).
                "capabilities",
                List.of("maint_notifications", "relaxed_timeouts", "handoff", "moving_null_endpoint", "mode_auto",
                        "resp2", "auth", "reconnect", "cluster", "tls", "blocking", "pubsub",
                        "sharded_pubsub", "transactions"),
                "timeouts", msg("reply", "command")));
    }

    static Long longSetting(Map<String, Object> s, String key) {
        Object v = s.get(key);
        return v instanceof Number n ? n.longValue() : null;
    }

    static void configError(String message) {
        emit(msg("type", "error", "error_class", "config", "message", message));
    }

    @SuppressWarnings("unchecked")
    void configure(Map<String, Object> m) {
        Map<String, Object> ep = m.get("endpoint") instanceof Map ? (Map<String, Object>) m.get("endpoint") : Map.of();
        Map<String, Object> s = m.get("settings") instanceof Map ? (Map<String, Object>) m.get("settings") : Map.of();
        Object host = ep.get("host");
        Long port = longSetting(ep, "port");
        if (host == null || port == null) {
            configError("configure: endpoint {host, port} is required");
            return;
        }
        Long protocol = longSetting(s, "protocol");
        if (protocol != null && protocol != 2 && protocol != 3) {
            configError("protocol must be 2 or 3, got " + protocol);
            return;
        }
        String mode = s.get("mode") == null ? "auto" : String.valueOf(s.get("mode"));
        MaintNotificationsConfig.Builder mn = MaintNotificationsConfig.builder();
        switch (mode) {
            case "disabled" -> mn.enableMaintNotifications(false);
            case "auto" -> mn.enableMaintNotifications(true);
            case "enabled" -> {
                emit(msg("type", "unsupported", "feature", "mode_enabled", "message",
                        "Lettuce has no fail-closed mode: a rejected CLIENT MAINT_NOTIFICATIONS is always ignored"));
                return;
            }
            default -> {
                configError("unknown mode " + mode);
                return;
            }
        }
        Object et = s.get("endpoint_type");
        if (et == null || "auto".equals(et)) {
            mn.autoResolveEndpointType();
        } else {
            try {
                mn.endpointType(MaintNotificationsConfig.EndpointType
                        .valueOf(String.valueOf(et).toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                configError("unknown endpoint_type " + et);
                return;
            }
        }

        Long timeoutMs = longSetting(s, "timeout_ms");
        Long relaxedMs = longSetting(s, "relaxed_timeout_ms");
        Long connectMs = longSetting(s, "connect_timeout_ms");

        RedisURI.Builder uri = RedisURI.builder().withHost(String.valueOf(host)).withPort(port.intValue());
        // Commands are bounded by TimeoutOptions.fixedTimeout below. The RedisURI timeout then only
        // bounds connection initialization (HELLO, CLIENT MAINT_NOTIFICATIONS), which is not a
        // command of the workload: giving it the 250 ms command timeout made a cold JVM on a loaded
        // machine fail its first handshake ("Connection initialization timed out after 250
        // millisecond(s)") and turned load into handshake failures. It gets the connect timeout.
        long initMs = connectMs != null && connectMs > 0 ? connectMs : DEFAULT_INIT_TIMEOUT_MS;
        if (timeoutMs != null && timeoutMs > initMs) {
            initMs = timeoutMs;
        }
        uri.withTimeout(Duration.ofMillis(initMs));
        Object user = s.get("username");
        Object pass = s.get("password");
        if (pass != null) {
            if (user != null) {
                uri.withAuthentication(String.valueOf(user), String.valueOf(pass).toCharArray());
            } else {
                uri.withPassword(String.valueOf(pass).toCharArray());
            }
        }

        TimeoutOptions.Builder to = TimeoutOptions.builder().timeoutCommands(true);
        // Lettuce's own default command timeout (RedisURI.DEFAULT_TIMEOUT, 60 s) when none is given.
        to.fixedTimeout(Duration.ofMillis(timeoutMs != null && timeoutMs > 0 ? timeoutMs : 60_000));
        // Lettuce's relaxation is additive: a command that reaches its normal timeout during
        // maintenance gets relaxedTimeoutsDuringMaintenance more (MaintenanceAwareExpiryWriter).
        // relaxed_timeout_ms is the total timeout during a window, so the extra is the difference.
        Long relaxedExtraMs = null;
        if (s.containsKey("relaxed_timeout_ms") && (relaxedMs == null || relaxedMs < 0)) {
            relaxedExtraMs = -1L; // null or negative: no relaxation
        } else if (relaxedMs != null) {
            long normal = timeoutMs != null && timeoutMs > 0 ? timeoutMs : 60_000; // RedisURI default
            relaxedExtraMs = relaxedMs > normal ? relaxedMs - normal : -1L;
        }
        if (relaxedExtraMs != null) {
            // A negative duration is Lettuce's own "relaxation off" (TimeoutOptions.DISABLED_TIMEOUT).
            to.relaxedTimeoutsDuringMaintenance(
                    relaxedExtraMs < 0 ? TimeoutOptions.DISABLED_TIMEOUT : Duration.ofMillis(relaxedExtraMs));
        }
        SocketOptions.Builder so = SocketOptions.builder();
        if (connectMs != null && connectMs > 0) {
            so.connectTimeout(Duration.ofMillis(connectMs));
        }
        ClientOptions.Builder co = ClientOptions.builder().maintNotificationsConfig(mn.build())
                .timeoutOptions(to.build()).socketOptions(so.build());
        if (m.get("tls") instanceof Map<?, ?> tls) {
            uri.withSsl(true).withVerifyPeer(SslVerifyMode.FULL);
            co.sslOptions(sslOptionsFor((Map<String, Object>) tls));
        }
        if (protocol != null) {
            co.protocolVersion(protocol == 2 ? ProtocolVersion.RESP2 : ProtocolVersion.RESP3);
        }
        // pool_size, post_handoff_relaxed_ms, handoff_timeout_ms, retry_idempotent: no Lettuce
        // equivalent; see README.md.

        if (client != null) {
            closeQuietly();
        }
        this.uri = uri.build();
        cluster = Boolean.TRUE.equals(s.get("cluster"));
        client = cluster ? newClusterClient(this.uri, co.build()) : newStandaloneClient(co.build());
        client.getResources().eventBus().get().subscribe(ev -> {
            if (ev instanceof ConnectedEvent ce) {
                connectionsOpened.incrementAndGet();
                emit(msg("type", "event", "t_ns", monoNs(), "name", "dial", "detail",
                        msg("endpoint", addr(ce.remoteAddress()))));
            } else if (ev instanceof DisconnectedEvent de) {
                emit(msg("type", "event", "t_ns", monoNs(), "name", "disconnected", "detail",
                        msg("endpoint", addr(de.remoteAddress()))));
            }
        });
        log("configured " + host + ":" + port + " protocol=" + protocol + " mode=" + mode + " endpoint_type=" + et
                + " timeout_ms=" + timeoutMs + " relaxed_ms=" + relaxedMs + " (additive " + relaxedExtraMs + ")"
                + " connect_ms=" + connectMs);
        emit(msg("type", "configured"));
    }

    /**
     * configure.tls onto SslOptions: the run's CA as the trust manager (a PEM file, read by
     * Netty), the client certificate and key for mutual TLS. Lettuce verifies the peer against
     * the RedisURI host (SslVerifyMode.FULL sets endpoint identification "HTTPS"), so
     * server_name goes in as the SNI name through SslOptions.sslParameters; the JDK's trust
     * manager then verifies the SNI name and falls back to the dialled host.
     */
    static SslOptions sslOptionsFor(Map<String, Object> tls) {
        SslOptions.Builder b = SslOptions.builder().jdkSslProvider()
                .trustManager(new File(String.valueOf(tls.get("ca_file"))));
        Object cert = tls.get("cert_file");
        if (cert != null) {
            b.keyManager(new File(String.valueOf(cert)), new File(String.valueOf(tls.get("key_file"))), null);
        }
        Object name = tls.get("server_name");
        if (name != null && !isIpLiteral(String.valueOf(name))) {
            String serverName = String.valueOf(name);
            b.sslParameters(() -> {
                SSLParameters p = new SSLParameters();
                p.setServerNames(List.of(new SNIHostName(serverName)));
                return p;
            });
        }
        return b.build();
    }

    static boolean isIpLiteral(String name) {
        if (!name.matches("[0-9.]+|.*:.*")) {
            return false;
        }
        try {
            return InetAddress.getByName(name).getHostAddress() != null; // no lookup for a literal
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    static RedisClient newStandaloneClient(ClientOptions options) {
        RedisClient c = RedisClient.create();
        c.setOptions(options);
        return c;
    }

    /**
     * Lettuce's OSS Cluster API client with the same options on every node connection: each one
     * runs RedisHandshake (HELLO, CLIENT MAINT_NOTIFICATIONS) and gets a MaintenanceAwareExpiryWriter.
     * ClusterClientOptions.builder(ClientOptions) does not copy the MaintNotificationsConfig
     * (7.7.0), so it is set again. Lettuce 7.7.0 has no SMIGRATING/SMIGRATED handling; adaptive
     * topology refresh (on -MOVED/-ASK and reconnects) is how it learns a new slot map.
     */
    static RedisClusterClient newClusterClient(RedisURI seed, ClientOptions options) {
        ClusterClientOptions.Builder b = ClusterClientOptions.builder(options);
        b.maintNotificationsConfig(options.getMaintNotificationsConfig());
        b.topologyRefreshOptions(ClusterTopologyRefreshOptions.builder().enableAllAdaptiveRefreshTriggers().build());
        RedisClusterClient c = RedisClusterClient.create(seed);
        c.setOptions(b.build());
        return c;
    }

    static String addr(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            return i.getHostString() + ":" + i.getPort();
        }
        return String.valueOf(a);
    }

    void connect() {
        if (client == null) {
            emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", "other", "message",
                    "connect before configure"));
            return;
        }
        connectAsync().whenComplete((conn, err) -> {
            if (shuttingDown) {
                return;
            }
            if (err != null) {
                Throwable e = unwrap(err);
                String cls = classify(e);
                if (!cls.equals("connection") && !cls.equals("timeout")) {
                    cls = "handshake";
                }
                StringBuilder chain = new StringBuilder(String.valueOf(e));
                for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                    chain.append(" <- caused by ").append(c);
                }
                log("connect failed: " + chain);
                emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", cls, "message",
                        messageWithCause(e)));
                return;
            }
            connection = conn;
            if (conn instanceof StatefulRedisClusterConnection<String, String> cc) {
                cc.addListener((node, push) -> onPush(push));
            } else if (conn instanceof StatefulRedisConnection<String, String> sc) {
                sc.addListener(this::onPush);
            }
            emit(msg("type", "connected", "t_ns", monoNs()));
        });
    }

    private CompletableFuture<? extends StatefulConnection<String, String>> connectAsync() {
        if (client instanceof RedisClusterClient cc) {
            // connectAsync needs the slot map first (the sync connect() loads it itself).
            return cc.refreshPartitionsAsync().toCompletableFuture()
                    .thenCompose(loaded -> cc.connectAsync(StringCodec.UTF8));
        }
        return ((RedisClient) client).connectAsync(StringCodec.UTF8, uri).toCompletableFuture();
    }

    private void onPush(PushMessage push) {
        String type = push.getType();
        if (type == null) {
            return;
        }
        List<Object> content = push.getContent(b -> b == null ? null : StringCodec.UTF8.decodeValue(b));
        Map<String, Object> detail = new LinkedHashMap<>();
        if (content.size() > 1) {
            detail.put("seq", content.get(1));
        }
        if ("MOVING".equals(type)) {
            detail.put("time_s", content.size() > 2 ? content.get(2) : null);
            detail.put("endpoint", content.size() > 3 ? content.get(3) : null);
        }
        emit(msg("type", "event", "t_ns", monoNs(), "name", type.toLowerCase(Locale.ROOT), "detail", detail));
    }

    void command(Map<String, Object> m) {
        Object id = m.get("id");
        if (connection == null) {
            long now = monoNs();
            emit(msg("type", "result", "id", id, "ok", false, "error_class", "other", "message",
                    "command before connected", "sent_ns", now, "t_ns", now));
            return;
        }
        Object a = m.get("args");
        List<String> args = new ArrayList<>();
        if (a instanceof List<?> l) {
            for (Object o : l) {
                args.add(o instanceof String str ? str : Json.write(o));
            }
        }
        if (args.isEmpty()) {
            long now = monoNs();
            emit(msg("type", "result", "id", id, "ok", false, "error_class", "other", "message", "empty args",
                    "sent_ns", now, "t_ns", now));
            return;
        }
        commands.incrementAndGet();
        inflight.incrementAndGet();
        CommandArgs<String, String> cargs = new CommandArgs<>(StringCodec.UTF8);
        for (int i = 1; i < args.size(); i++) {
            // The cluster client routes a command by its first key: the workload's commands
            // (SET, GET, INCR, DEL, ...) have it first; PING has none.
            if (i == 1 && cluster && !args.get(0).equalsIgnoreCase("ping")) {
                cargs.addKey(args.get(i));
            } else {
                cargs.add(args.get(i));
            }
        }
        long sent = monoNs();
        RedisFuture<Object> f;
        try {
            f = connection instanceof StatefulRedisClusterConnection<String, String> cc
                    ? cc.async().dispatch(new Keyword(args.get(0)), new AnyOutput(), cargs)
                    : ((StatefulRedisConnection<String, String>) connection).async().dispatch(new Keyword(args.get(0)),
                            new AnyOutput(), cargs);
        } catch (RuntimeException e) {
            result(id, sent, null, e);
            return;
        }
        f.whenComplete((reply, err) -> result(id, sent, reply, err));
    }

    /**
     * Subscribes the way a Lettuce application does: a StatefulRedisPubSubConnection of its own
     * from the same RedisClient (connectPubSubAsync: the same ClientOptions, so it opts in and is
     * handed off as the command connection is), a RedisPubSubListener that reports every message
     * and confirmation ({@link Subscription}, shared with the Jedis driver), then subscribe or
     * psubscribe through its async API. Re-subscribing after a reconnect is left to Lettuce.
     */
    void subscribe(Map<String, Object> m) {
        if (cluster && client instanceof RedisClusterClient cc && "shard".equals(m.get("kind"))) {
            ssubscribe(cc, m);
            return;
        }
        boolean standalone = !cluster && client instanceof RedisClient && connection != null;
        Subscription sub = Subscription.parse(m, standalone ? null : "subscribe needs a connected standalone client");
        if (sub == null) {
            return;
        }
        ((RedisClient) client).connectPubSubAsync(StringCodec.UTF8, uri).whenComplete((conn, err) -> {
            if (err != null) {
                Throwable e = unwrap(err);
                sub.failed(classify(e), message(e));
                return;
            }
            conn.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String payload) {
                    Subscription.message(channel, null, payload);
                }

                @Override
                public void message(String pattern, String channel, String payload) {
                    Subscription.message(channel, pattern, payload);
                }

                @Override
                public void subscribed(String channel, long count) {
                    if (!sub.pattern) {
                        sub.confirmed(channel);
                    }
                }

                @Override
                public void psubscribed(String pattern, long count) {
                    if (sub.pattern) {
                        sub.confirmed(pattern);
                    }
                }
            });
            RedisFuture<Void> f = sub.pattern ? conn.async().psubscribe(sub.names) : conn.async().subscribe(sub.names);
            f.whenComplete((done, failure) -> {
                if (failure != null) {
                    Throwable e = unwrap(failure);
                    sub.failed(classify(e), message(e));
                }
            });
        });
    }

    /**
     * Shard channels the way a Lettuce cluster application subscribes: a
     * StatefulRedisClusterPubSubConnection (connectPubSubAsync: the cluster's ClientOptions),
     * node message propagation on, a RedisClusterPubSubAdapter for ssubscribed/smessage, then
     * ssubscribe of each channel through its async API (one call per channel: one call's channels
     * must share a slot). Following a slot that moves is left to Lettuce.
     */
    void ssubscribe(RedisClusterClient cc, Map<String, Object> m) {
        Subscription sub = Subscription.parse(m, connection != null ? null : "subscribe before connect", true);
        if (sub == null) {
            return;
        }
        cc.connectPubSubAsync(StringCodec.UTF8).whenComplete((conn, err) -> {
            if (err != null) {
                Throwable e = unwrap(err);
                sub.failed(classify(e), message(e));
                return;
            }
            conn.setNodeMessagePropagation(true);
            conn.addListener(new RedisClusterPubSubAdapter<>() {
                @Override
                public void smessage(RedisClusterNode node, String channel, String payload) {
                    Subscription.message(channel, null, payload);
                }

                @Override
                public void ssubscribed(RedisClusterNode node, String channel, long count) {
                    sub.confirmed(channel);
                }
            });
            for (String name : sub.names) {
                conn.async().ssubscribe(name).whenComplete((done, failure) -> {
                    if (failure != null) {
                        Throwable e = unwrap(failure);
                        sub.failed(classify(e), "SSUBSCRIBE " + name + ": " + message(e));
                    }
                });
            }
        });
    }

    /**
     * The workload's blocking consumer the way a Lettuce application runs one: a connection of its
     * own (a pending BLPOP holds it, so it cannot be the shared command connection), one
     * blpop/brpop at a time through the async API, each answer reported and the next call issued
     * at once (10 ms after an error). A call cut by a handoff is left to Lettuce.
     */
    void block(Map<String, Object> m) {
        boolean standalone = !cluster && client instanceof RedisClient && connection != null;
        Block req = Block.parse(m, standalone ? null : "block needs a connected standalone client");
        if (req == null) {
            return;
        }
        ((RedisClient) client).connectAsync(StringCodec.UTF8, uri).whenComplete((conn, err) -> {
            if (err != null) {
                Throwable e = unwrap(err);
                Block.failedToStart(classify(e), message(e));
                return;
            }
            Block.started();
            nextBlock(conn, req);
        });
    }

    /**
     * A MULTI/EXEC block through Lettuce's own transaction API on a connection of its own: MULTI
     * is connection state and the shared command connection is multiplexed, so any command
     * dispatched there between multi() and exec() would be queued inside the block. On the
     * dedicated connection each block is dispatched whole under one lock (watch() when asked,
     * multi(), the commands, exec()), so blocks follow each other on the wire and never mix;
     * the result is exec()'s TransactionResult. Never retried here.
     */
    void transaction(Map<String, Object> m) {
        Object id = m.get("id");
        TransactionRequest block = TransactionRequest.of(m);
        List<String> watch = block.watch();
        List<List<String>> cmds = block.commands();
        if (cluster || !(client instanceof RedisClient rc) || connection == null
                || cmds.stream().anyMatch(List::isEmpty)) {
            long now = monoNs();
            emit(msg("type", "transaction_result", "id", id, "ok", false, "error_class", "other", "message",
                    "a transaction needs a connected standalone client and non-empty commands", "sent_ns", now,
                    "t_ns", now));
            return;
        }
        inflight.incrementAndGet();
        long sent = monoNs();
        CompletableFuture<StatefulRedisConnection<String, String>> conn;
        synchronized (txLock) {
            if (txConnection == null) {
                txConnection = rc.connectAsync(StringCodec.UTF8, uri).toCompletableFuture();
            }
            conn = txConnection;
        }
        conn.thenCompose(c -> dispatchTransaction(c, watch, cmds))
                .whenComplete((res, err) -> transactionResult(id, sent, res, err));
    }

    private CompletableFuture<TransactionResult> dispatchTransaction(StatefulRedisConnection<String, String> c,
            List<String> watch, List<List<String>> cmds) {
        synchronized (txLock) {
            RedisAsyncCommands<String, String> a = c.async();
            if (!watch.isEmpty()) {
                a.watch(watch.toArray(new String[0]));
            }
            a.multi();
            for (List<String> args : cmds) {
                CommandArgs<String, String> cargs = new CommandArgs<>(StringCodec.UTF8);
                for (int i = 1; i < args.size(); i++) {
                    cargs.addKey(args.get(i));
                }
                a.dispatch(new Keyword(args.get(0)), new AnyOutput(), cargs);
            }
            return a.exec().toCompletableFuture();
        }
    }

    private void transactionResult(Object id, long sent, TransactionResult res, Throwable err) {
        long t = monoNs();
        Map<String, Object> r = msg("type", "transaction_result", "id", id);
        if (err != null) {
            Throwable e = unwrap(err);
            r.put("ok", false);
            r.put("error_class", classify(e));
            r.put("message", message(e));
        } else if (res.wasDiscarded()) { // EXEC answered null: a watched key changed
            r.put("ok", false);
            r.put("error_class", "aborted");
            r.put("message", "EXEC answered null (TransactionResult.wasDiscarded)");
        } else {
            List<String> replies = new ArrayList<>();
            for (Object o : res) {
                replies.add(o instanceof Throwable e ? message(e) : render(o));
            }
            r.put("ok", true);
            r.put("replies", replies);
        }
        r.put("sent_ns", sent);
        r.put("t_ns", t);
        emit(r);
        if (inflight.decrementAndGet() == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    private void nextBlock(StatefulRedisConnection<String, String> conn, Block req) {
        if (shuttingDown) {
            return;
        }
        long sent = monoNs();
        RedisFuture<KeyValue<String, String>> f;
        try {
            f = req.left ? conn.async().blpop(req.timeout, req.keys) : conn.async().brpop(req.timeout, req.keys);
        } catch (RuntimeException e) {
            reportBlock(sent, null, e);
            CompletableFuture.delayedExecutor(Block.PAUSE_AFTER_ERROR_MS, TimeUnit.MILLISECONDS)
                    .execute(() -> nextBlock(conn, req));
            return;
        }
        f.whenComplete((kv, err) -> {
            reportBlock(sent, kv, err);
            if (err == null) {
                nextBlock(conn, req);
            } else { // a connection closed for good must not flood the harness
                CompletableFuture.delayedExecutor(Block.PAUSE_AFTER_ERROR_MS, TimeUnit.MILLISECONDS)
                        .execute(() -> nextBlock(conn, req));
            }
        });
    }

    private static void reportBlock(long sent, KeyValue<String, String> kv, Throwable err) {
        if (err != null) {
            Throwable e = unwrap(err);
            Block.failed(sent, classify(e), message(e));
        } else {
            Block.answered(sent, kv == null || !kv.hasValue() ? null : Map.entry(kv.getKey(), kv.getValue()));
        }
    }

    private void result(Object id, long sent, Object reply, Throwable err) {
        long t = monoNs();
        Map<String, Object> r = msg("type", "result", "id", id);
        if (err == null) {
            r.put("ok", true);
            r.put("reply", render(reply));
        } else {
            Throwable e = unwrap(err);
            r.put("ok", false);
            r.put("error_class", classify(e));
            r.put("message", message(e));
        }
        r.put("sent_ns", sent);
        r.put("t_ns", t);
        emit(r);
        if (inflight.decrementAndGet() == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** The library's message, with its root cause's (Lettuce wraps setup failures). */
    static String messageWithCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? message(e) : message(e) + ": " + message(root);
    }

    static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** Lettuce's own exception types onto the protocol's error classes. */
    static String classify(Throwable e) {
        if (e instanceof RedisCommandTimeoutException) {
            return "timeout";
        }
        if (e instanceof RedisCommandExecutionException) {
            return "server";
        }
        if (e instanceof RedisCommandInterruptedException || e instanceof CancellationException) {
            return "cancelled";
        }
        if (e instanceof RedisConnectionException) {
            for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                if (c instanceof RedisCommandExecutionException) {
                    return "handshake"; // an error reply during connection setup (HELLO/AUTH/PING)
                }
            }
            return "connection";
        }
        if (e instanceof IOException) {
            return "connection";
        }
        if (e instanceof RedisException) {
            String m = String.valueOf(e.getMessage());
            // "Connection closed", "Connection disconnected", "Currently not connected. ..."
            if (m.contains("onnect") || m.contains("closed")) {
                return "connection";
            }
        }
        return "other";
    }

    static String render(Object v) {
        if (v == null) {
            return "nil";
        }
        if (v instanceof String || v instanceof Number) {
            return v.toString();
        }
        if (v instanceof Boolean b) {
            return b ? "1" : "0";
        }
        return Json.write(v);
    }

    void shutdown() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        synchronized (idle) {
            while (inflight.get() > 0 && System.nanoTime() < deadline) {
                try {
                    idle.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        if (inflight.get() > 0) {
            log("shutdown with " + inflight.get() + " commands in flight");
        }
        shuttingDown = true;
        closeQuietly();
        emit(msg("type", "bye", "stats",
                msg("connections_opened", connectionsOpened.get(), "commands", commands.get())));
        Runtime.getRuntime().halt(0);
    }

    private void closeQuietly() {
        try {
            if (client != null) { // closes its connections too
                client.shutdownAsync(0, 500, TimeUnit.MILLISECONDS).get(1, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            log("close: " + e);
        }
        connection = null;
        client = null;
    }

    /** A command name the harness sends, as Lettuce's protocol keyword. */
    static final class Keyword implements ProtocolKeyword {

        private final String name;

        private final byte[] bytes;

        Keyword(String name) {
            this.name = name.toUpperCase(Locale.ROOT);
            this.bytes = name.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] getBytes() {
            return bytes;
        }

        @Override
        public String toString() {
            return name;
        }

    }

    /** Any reply: strings, integers, doubles, booleans, null and nested aggregates (lists; maps). */
    static final class AnyOutput extends CommandOutput<String, String, Object> {

        /** An aggregate being filled: a list, or a map with the key waiting for its value. */
        private static final class Open {

            final List<Object> list;

            final Map<String, Object> map;

            Object key;

            boolean hasKey;

            Open(List<Object> list, Map<String, Object> map) {
                this.list = list;
                this.map = map;
            }

        }

        private final Deque<Open> open = new ArrayDeque<>();

        AnyOutput() {
            super(StringCodec.UTF8, null);
        }

        private void add(Object v) {
            Open top = open.peek();
            if (top == null) {
                output = v;
            } else if (top.list != null) {
                top.list.add(v);
            } else if (!top.hasKey) {
                top.key = v;
                top.hasKey = true;
            } else {
                top.map.put(String.valueOf(top.key), v);
                top.hasKey = false;
            }
        }

        private static String str(ByteBuffer b) {
            return b == null ? null : StringCodec.UTF8.decodeValue(b);
        }

        @Override
        public void set(ByteBuffer bytes) {
            add(str(bytes));
        }

        @Override
        public void setSingle(ByteBuffer bytes) {
            add(str(bytes));
        }

        @Override
        public void setBigNumber(ByteBuffer bytes) {
            add(str(bytes));
        }

        @Override
        public void set(long integer) {
            add(integer);
        }

        @Override
        public void set(double number) {
            add(number);
        }

        @Override
        public void set(boolean value) {
            add(value);
        }

        @Override
        public void multi(int count) {
            if (count < 0) {
                add(null);
                return;
            }
            List<Object> l = new ArrayList<>(count);
            add(l);
            open.push(new Open(l, null));
        }

        @Override
        public void multiMap(int count) {
            if (count < 0) {
                add(null);
                return;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            add(m);
            open.push(new Open(null, m));
        }

        @Override
        public void complete(int depth) {
            // RedisStateMachine calls complete(stack depth) after each finished element: an
            // aggregate opened at nesting level N is finished once depth drops below N.
            while (open.size() > depth) {
                open.pop();
            }
        }

    }

}
