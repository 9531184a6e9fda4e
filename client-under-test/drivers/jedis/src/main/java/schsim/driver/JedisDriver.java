package schsim.driver;

import static schsim.driver.Wire.emit;
import static schsim.driver.Wire.log;
import static schsim.driver.Wire.monoNs;
import static schsim.driver.Wire.msg;

import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * schsim driver for Jedis (redis.clients:jedis 8.x, {@link RedisClient}: a pool of connections).
 *
 * <p>Jedis 8.0.2 has no maintenance-notification support (no CLIENT MAINT_NOTIFICATIONS, no
 * relaxed timeouts, no handoff), so the driver declares only what Jedis has and answers
 * {@code unsupported} to a configure that asks for SCH (mode auto or enabled). It is the legacy
 * profile's client (docs/reports.md "Profiles"): what maintenance costs a client without SCH.
 *
 * <p>Jedis is blocking: each command runs on a worker thread of its own and waits for a pool
 * connection inside Jedis (the pool holds pool_size connections), as application threads do; the
 * main thread only reads stdin. Output lines are written under one lock and flushed one by one
 * ({@link Wire}, shared with the Lettuce driver). Timestamps: System.nanoTime(), which is
 * clock_gettime(CLOCK_MONOTONIC) on Linux.
 */
public final class JedisDriver {
    private static final int DRIVER_PROTOCOL = 1;

    /** Worker threads at most: more commands in flight than this wait in no queue but fail. */
    private static final int MAX_WORKERS = 512;

    private RedisClient client;

    /** Builds a client like `client` with a pool of one connection (the blocking consumer's). */
    private java.util.function.Supplier<RedisClient> soloClient;

    private volatile boolean shuttingDown;

    private final AtomicLong commands = new AtomicLong();

    private final AtomicLong inflight = new AtomicLong();

    private final Object idle = new Object();

    /** One thread per command in flight (Jedis blocks the calling thread until the reply). */
    private final ExecutorService workers = new ThreadPoolExecutor(0, MAX_WORKERS, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "jedis-command");
                t.setDaemon(true);
                return t;
            });

    public static void main(String[] args) throws IOException {
        Wire.open();
        new JedisDriver().run(System.in);
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
            dispatch(String.valueOf(m.get("type")), m);
        }
        log("stdin closed without shutdown");
        System.exit(0);
    }

    private void dispatch(String type, Map<String, Object> m) {
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
            // Jedis refusing a configuration (its builders validate): a config error.
            log(type + " failed: " + e);
            if ("configure".equals(type)) {
                configError(message(e));
            } else if ("connect".equals(type)) {
                emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", classify(e), "message",
                        message(e)));
            }
        }
    }

    static String jedisVersion() {
        try (InputStream in = JedisDriver.class.getResourceAsStream("/schsim-jedis-driver.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("jedis.version");
        } catch (Exception e) {
            return "unknown";
        }
    }

    void hello(Map<String, Object> m) {
        log("hello, case " + m.get("case"));
        emit(msg("type", "hello", "protocol", DRIVER_PROTOCOL, "client", "jedis", "version", jedisVersion(),
                "language", "java",
                // Jedis 8.0.2 has no SCH: no maint_notifications, relaxed_timeouts, handoff,
                // moving_null_endpoint, mode_auto or mode_enabled. No cluster either: this driver
                // does not build JedisCluster.
                "capabilities", List.of("resp2", "auth", "tls", "blocking", "pubsub", "transactions"),
                // socketTimeoutMillis is SO_TIMEOUT on every read of a reply: a per-read bound.
                "timeouts", msg("reply", "command")));
    }

    static Long longSetting(Map<String, Object> s, String key) {
        Object v = s.get(key);
        return v instanceof Number n ? n.longValue() : null;
    }

    static void configError(String message) {
        emit(msg("type", "error", "error_class", "config", "message", message));
    }

    static void unsupported(String feature, String message) {
        emit(msg("type", "unsupported", "feature", feature, "message", message));
    }

    /** What Jedis cannot be asked for: the feature it lacks, or null when it can run this. */
    static String[] missingFeature(Map<String, Object> m, Map<String, Object> s) {
        String mode = s.get("mode") == null ? "auto" : String.valueOf(s.get("mode"));
        if (mode.equals("auto") || mode.equals("enabled")) {
            return new String[] {"mode_" + mode,
                    "Jedis 8.0.2 has no maintenance notifications (no CLIENT MAINT_NOTIFICATIONS): only mode disabled"};
        }
        if (Boolean.TRUE.equals(s.get("cluster"))) {
            return new String[] {"cluster", "the Jedis driver does not build JedisCluster"};
        }
        return null;
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
        if (!List.of("auto", "enabled", "disabled").contains(mode)) {
            configError("unknown mode " + mode);
            return;
        }
        String[] missing = missingFeature(m, s);
        if (missing != null) {
            unsupported(missing[0], missing[1]);
            return;
        }
        DefaultJedisClientConfig.Builder cfg = DefaultJedisClientConfig.builder();
        // protocol 3: HELLO 3 on every connection (Jedis has no fallback to RESP2 when it is
        // refused). 2: Jedis's default, RESP2 without HELLO.
        if (protocol != null && protocol == 3) {
            cfg.protocol(RedisProtocol.RESP3);
        }
        Long timeoutMs = longSetting(s, "timeout_ms");
        if (timeoutMs != null && timeoutMs > 0) {
            cfg.socketTimeoutMillis(timeoutMs.intValue());
        }
        Long connectMs = longSetting(s, "connect_timeout_ms");
        if (connectMs != null && connectMs > 0) {
            cfg.connectionTimeoutMillis(connectMs.intValue());
        }
        Object user = s.get("username");
        Object pass = s.get("password");
        if (pass != null) {
            if (user != null) {
                cfg.user(String.valueOf(user));
            }
            cfg.password(String.valueOf(pass));
        }
        if (m.get("tls") instanceof Map<?, ?> tls) {
            try {
                applyTls(cfg, (Map<String, Object>) tls);
            } catch (Exception e) {
                configError("tls: " + chain(e));
                return;
            }
        }
        Long poolSize = longSetting(s, "pool_size");
        int size = poolSize != null && poolSize > 0 ? poolSize.intValue() : 8; // Jedis's default maxTotal
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(size);
        pool.setMaxIdle(size);
        // relaxed_timeout_ms, post_handoff_relaxed_ms, endpoint_type: no Jedis equivalent (no SCH).
        // retry_idempotent: RedisClient never retries a command; see README.md.
        if (client != null) {
            closeQuietly();
        }
        client = RedisClient.builder().hostAndPort(String.valueOf(host), port.intValue()).clientConfig(cfg.build())
                .poolConfig(pool).build();
        ConnectionPoolConfig one = new ConnectionPoolConfig();
        one.setMaxTotal(1);
        one.setMaxIdle(1);
        soloClient = () -> RedisClient.builder().hostAndPort(String.valueOf(host), port.intValue())
                .clientConfig(cfg.build()).poolConfig(one).build();
        log("configured " + host + ":" + port + " protocol=" + protocol + " mode=" + mode + " timeout_ms="
                + timeoutMs + " connect_ms=" + connectMs + " pool_size=" + size);
        emit(msg("type", "configured"));
    }

    /**
     * configure.tls onto Jedis's classic TLS options: ssl(true), an SSLSocketFactory trusting the
     * run's CA (and presenting the client certificate for mutual TLS), and SSLParameters with
     * endpoint identification HTTPS and server_name as SNI. Jedis dials endpoint.host (an IP); the
     * JDK's trust manager then verifies the certificate against the SNI name, else that IP.
     */
    static void applyTls(DefaultJedisClientConfig.Builder cfg, Map<String, Object> tls) throws Exception {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        int n = 0;
        for (Certificate ca : readCertificates(x509, String.valueOf(tls.get("ca_file")))) {
            trusted.setCertificateEntry("ca-" + n++, ca);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        KeyManager[] keyManagers = null;
        if (tls.get("cert_file") != null) {
            KeyStore own = KeyStore.getInstance(KeyStore.getDefaultType());
            own.load(null, null);
            Certificate[] chain = readCertificates(x509, String.valueOf(tls.get("cert_file"))).toArray(new Certificate[0]);
            own.setKeyEntry("client", readPrivateKey(String.valueOf(tls.get("key_file"))), new char[0], chain);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(own, new char[0]);
            keyManagers = kmf.getKeyManagers();
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keyManagers, tmf.getTrustManagers(), null);
        SSLParameters params = new SSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        Object name = tls.get("server_name");
        if (name != null && !isIpLiteral(String.valueOf(name))) {
            params.setServerNames(List.of(new SNIHostName(String.valueOf(name))));
        }
        cfg.ssl(true).sslSocketFactory(ctx.getSocketFactory()).sslParameters(params);
    }

    static java.util.Collection<? extends Certificate> readCertificates(CertificateFactory x509, String file)
            throws Exception {
        try (InputStream in = new FileInputStream(file)) {
            return x509.generateCertificates(in);
        }
    }

    /** A PEM PKCS#8 private key ("BEGIN PRIVATE KEY", what OpenSSL writes): EC, else RSA. */
    static PrivateKey readPrivateKey(String file) throws Exception {
        String pem = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body));
        try {
            return KeyFactory.getInstance("EC").generatePrivate(spec);
        } catch (java.security.spec.InvalidKeySpecException e) {
            return KeyFactory.getInstance("RSA").generatePrivate(spec);
        }
    }

    static boolean isIpLiteral(String name) {
        return name.matches("[0-9.]+") || name.contains(":");
    }

    /** Takes one connection from the pool (TCP connect, HELLO/AUTH, CLIENT SETINFO) and returns it. */
    void connect() {
        if (client == null) {
            emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", "other", "message",
                    "connect before configure"));
            return;
        }
        RedisClient c = client;
        workers.execute(() -> {
            try (Connection conn = c.getPool().getResource()) {
                log("connected: " + conn);
            } catch (RuntimeException e) {
                if (shuttingDown) {
                    return;
                }
                String cls = classify(e);
                if (cls.equals("server") || cls.equals("other")) {
                    cls = "handshake"; // an error reply to HELLO/AUTH while setting up
                }
                log("connect failed: " + chain(e));
                emit(msg("type", "connect_failed", "t_ns", monoNs(), "error_class", cls, "message",
                        messageWithCause(e)));
                return;
            }
            emit(msg("type", "connected", "t_ns", monoNs()));
        });
    }

    void command(Map<String, Object> m) {
        Object id = m.get("id");
        List<String> args = new ArrayList<>();
        if (m.get("args") instanceof List<?> l) {
            for (Object o : l) {
                args.add(o instanceof String str ? str : Json.write(o));
            }
        }
        if (client == null || args.isEmpty()) {
            long now = monoNs();
            emit(msg("type", "result", "id", id, "ok", false, "error_class", "other", "message",
                    client == null ? "command before connected" : "empty args", "sent_ns", now, "t_ns", now));
            return;
        }
        commands.incrementAndGet();
        inflight.incrementAndGet();
        RedisClient c = client;
        CommandArguments cargs = new CommandArguments(new RawCommand(args.get(0)))
                .addObjects(args.subList(1, args.size()).toArray());
        try {
            workers.execute(() -> execute(c, id, cargs));
        } catch (RuntimeException e) { // more than MAX_WORKERS in flight
            result(id, monoNs(), null, e);
        }
    }

    /**
     * Subscribes the way a Jedis application does: a RedisClient of its own with a pool of one (a
     * JedisPubSub holds its connection for as long as it is subscribed), subscribe or psubscribe
     * on a thread of its own (Jedis blocks there, reading, until the subscription ends), and a
     * JedisPubSub whose callbacks confirm the names and write each message ({@link Subscription},
     * shared with the Lettuce driver). Jedis does not subscribe again after its connection is
     * lost: the call throws, the thread logs it and ends.
     */
    void subscribe(Map<String, Object> m) {
        Subscription sub = Subscription.parse(m, soloClient == null ? "subscribe before configure" : null);
        if (sub == null) {
            return;
        }
        RedisClient subscriber = soloClient.get();
        JedisPubSub listener = new JedisPubSub() {
            @Override
            public void onMessage(String channel, String payload) {
                Subscription.message(channel, null, payload);
            }

            @Override
            public void onPMessage(String pattern, String channel, String payload) {
                Subscription.message(channel, pattern, payload);
            }

            @Override
            public void onSubscribe(String channel, int subscribedChannels) {
                if (!sub.pattern) {
                    sub.confirmed(channel);
                }
            }

            @Override
            public void onPSubscribe(String pattern, int subscribedChannels) {
                if (sub.pattern) {
                    sub.confirmed(pattern);
                }
            }
        };
        Thread t = new Thread(() -> {
            try {
                if (sub.pattern) {
                    subscriber.psubscribe(listener, sub.names);
                } else {
                    subscriber.subscribe(listener, sub.names);
                }
                log("subscription ended");
            } catch (RuntimeException e) {
                log("subscription ended: " + chain(e));
                sub.failed(classify(e), messageWithCause(e)); // only when it never was confirmed
            }
        }, "pubsub");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The workload's blocking consumer the way a Jedis application runs one: a RedisClient of its
     * own with a pool of one (a pending BLPOP holds its connection, which the command pool may not
     * spare), a thread looping on blpop/brpop, each answer reported and the next call issued at
     * once (10 ms after an error). Jedis reads a blocking command's reply without a socket timeout.
     */
    void block(Map<String, Object> m) {
        Block req = Block.parse(m, client == null || soloClient == null ? "block before configure" : null);
        if (req == null) {
            return;
        }
        RedisClient consumer = soloClient.get();
        Block.started();
        Thread t = new Thread(() -> {
            while (!shuttingDown) {
                long sent = monoNs();
                try {
                    Block.answered(sent, req.left ? consumer.blpop(req.timeout, req.keys)
                            : consumer.brpop(req.timeout, req.keys));
                } catch (RuntimeException e) {
                    Block.failed(sent, classify(e), messageWithCause(e));
                    try {
                        Thread.sleep(Block.PAUSE_AFTER_ERROR_MS); // a client closed for good must not flood
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }, "block");
        t.setDaemon(true);
        t.start();
    }

    /**
     * A MULTI/EXEC block the way a Jedis application runs one: RedisClient.transaction(false)
     * borrows a pool connection for the block alone (MULTI is connection state), watch() when
     * asked, multi(), each command queued with sendCommand (Jedis writes them without reading
     * the +QUEUED replies until exec()), then exec(), whose list holds the commands' replies (null
     * when a watched key changed); close() returns the connection. On a worker thread, as a
     * command is: Jedis blocks the caller until EXEC's reply. Never retried here.
     */
    void transaction(Map<String, Object> m) {
        Object id = m.get("id");
        TransactionRequest block = TransactionRequest.of(m);
        List<String> watch = block.watch();
        List<List<String>> cmds = block.commands();
        if (client == null || cmds.isEmpty() || cmds.stream().anyMatch(List::isEmpty)) {
            long now = monoNs();
            emit(msg("type", "transaction_result", "id", id, "ok", false, "error_class", "other", "message",
                    client == null ? "transaction before connected" : "empty commands", "sent_ns", now, "t_ns",
                    now));
            return;
        }
        inflight.incrementAndGet();
        RedisClient c = client;
        try {
            workers.execute(() -> runTransaction(c, id, watch, cmds));
        } catch (RuntimeException e) { // more than MAX_WORKERS in flight
            transactionResult(id, monoNs(), null, e);
        }
    }

    /** sent_ns is stamped once the block has its connection, as execute() does for a command. */
    private void runTransaction(RedisClient c, Object id, List<String> watch, List<List<String>> cmds) {
        long borrowing = monoNs();
        Transaction tx;
        try {
            tx = (Transaction) c.transaction(false);
        } catch (RuntimeException e) {
            transactionResult(id, borrowing, null, e);
            return;
        }
        long sent = monoNs();
        try (tx) {
            if (!watch.isEmpty()) {
                tx.watch(watch.toArray(new String[0]));
            }
            tx.multi();
            for (List<String> args : cmds) {
                tx.sendCommand(new RawCommand(args.get(0)), args.subList(1, args.size()).toArray(new String[0]));
            }
            List<Object> replies = tx.exec();
            transactionResult(id, sent, replies, null);
        } catch (RuntimeException e) {
            transactionResult(id, sent, null, e);
        }
    }

    private void transactionResult(Object id, long sent, List<Object> replies, Throwable err) {
        long t = monoNs();
        Map<String, Object> r = msg("type", "transaction_result", "id", id);
        if (err != null) {
            r.put("ok", false);
            r.put("error_class", classify(err));
            r.put("message", messageWithCause(err));
        } else if (replies == null) { // EXEC answered null: a watched key changed
            r.put("ok", false);
            r.put("error_class", "aborted");
            r.put("message", "EXEC answered null (Transaction.exec returned null)");
        } else {
            List<String> out = new ArrayList<>();
            for (Object o : replies) {
                out.add(render(o));
            }
            r.put("ok", true);
            r.put("replies", out);
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

    /**
     * What RedisClient.sendCommand does (DefaultCommandExecutor: borrow a pool connection, execute,
     * return it), in two steps so that sent_ns is stamped once the command has its connection:
     * socketTimeoutMillis bounds the read of the reply, not the wait for a pooled connection, and
     * the timeout check judges the former. Latency, measured from intended_ns, still counts both.
     */
    private void execute(RedisClient c, Object id, CommandArguments cargs) {
        long borrowing = monoNs();
        Connection conn;
        try {
            conn = c.getPool().getResource();
        } catch (RuntimeException e) {
            result(id, borrowing, null, e);
            return;
        }
        long sent = monoNs();
        try (conn) {
            Object reply = conn.executeCommand(cargs);
            result(id, sent, reply, null);
        } catch (RuntimeException e) {
            result(id, sent, null, e);
        }
    }

    private void result(Object id, long sent, Object reply, Throwable err) {
        long t = monoNs();
        Map<String, Object> r = msg("type", "result", "id", id);
        if (err == null) {
            r.put("ok", true);
            r.put("reply", render(reply));
        } else {
            r.put("ok", false);
            r.put("error_class", classify(err));
            r.put("message", messageWithCause(err));
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

    static String chain(Throwable e) {
        StringBuilder s = new StringBuilder(String.valueOf(e));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            s.append(" <- caused by ").append(c);
        }
        return s.toString();
    }

    /** The library's message, with its root cause's (Jedis wraps socket errors). */
    static String messageWithCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String outer = message(e);
        return root == e || outer.contains(message(root)) ? outer : outer + ": " + message(root);
    }

    static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** Whether the exception was thrown while the pool made a connection (TCP + HELLO/AUTH). */
    static boolean duringConnectionSetup(Throwable e) {
        return Arrays.stream(e.getStackTrace()).anyMatch(f -> f.getMethodName().equals("makeObject"));
    }

    /**
     * Jedis's own exception types onto the protocol's error classes: a JedisConnectionException
     * caused by a SocketTimeoutException is a read (or connect) that timed out; any other
     * JedisConnectionException a lost or refused connection; a JedisDataException an error reply
     * (handshake when it answered HELLO/AUTH of a connection being made).
     */
    static String classify(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof JedisDataException) {
                return duringConnectionSetup(c) ? "handshake" : "server";
            }
            if (c instanceof JedisConnectionException) {
                for (Throwable k = c.getCause(); k != null && k != k.getCause(); k = k.getCause()) {
                    if (k instanceof SocketTimeoutException) {
                        return "timeout";
                    }
                }
                return "connection";
            }
            if (c instanceof IOException) {
                return c instanceof SocketTimeoutException ? "timeout" : "connection";
            }
        }
        return "other";
    }

    /** Jedis's raw replies: byte[] bulk and simple strings, Long, Double, Boolean, nested lists and maps. */
    static Object plain(Object v) {
        if (v instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(plain(o));
            }
            return out;
        }
        if (v instanceof Map<?, ?> mm) {
            Map<String, Object> out = new LinkedHashMap<>();
            mm.forEach((k, val) -> out.put(String.valueOf(plain(k)), plain(val)));
            return out;
        }
        if (v instanceof JedisDataException e) {
            return e.getMessage();
        }
        return v;
    }

    static String render(Object v) {
        Object p = plain(v);
        if (p == null) {
            return "nil";
        }
        if (p instanceof String || p instanceof Number) {
            return p.toString();
        }
        if (p instanceof Boolean b) {
            return b ? "1" : "0";
        }
        if (p instanceof List || p instanceof Map) {
            return Json.write(p);
        }
        return String.valueOf(p);
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
        long opened = client == null ? 0 : client.getPool().getCreatedCount();
        closeQuietly();
        emit(msg("type", "bye", "stats", msg("connections_opened", opened, "commands", commands.get())));
        Runtime.getRuntime().halt(0);
    }

    private void closeQuietly() {
        try {
            if (client != null) {
                client.close(); // closes the pool and its connections
            }
        } catch (Exception e) {
            log("close: " + e);
        }
        client = null;
    }

    /** A command name the harness sends, as Jedis's protocol command. */
    static final class RawCommand implements ProtocolCommand {

        private final byte[] raw;

        RawCommand(String name) {
            this.raw = name.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] getRaw() {
            return raw;
        }

    }

}
