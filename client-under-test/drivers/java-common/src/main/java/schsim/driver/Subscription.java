package schsim.driver;

import static schsim.driver.Wire.emit;
import static schsim.driver.Wire.monoNs;
import static schsim.driver.Wire.msg;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The harness's {@code subscribe} request and the driver's side of it, shared by the Java drivers
 * so that their reports are those of the redis-py driver: {@code subscribed} once the client
 * confirmed every name (or {@code subscribe_failed} after 10 s without), and one {@code message}
 * line per message the client hands to the application, in its order, never filtered. The
 * driver wires its client's own Pub/Sub callbacks to {@link #confirmed} and {@link #message};
 * re-subscribing after a handoff or a reconnect is left to the client.
 */
final class Subscription {

    /** How long the client has to confirm every name, as in the redis-py driver. */
    private static final long CONFIRM_TIMEOUT_MS = 10_000;

    final boolean pattern;

    final String[] names;

    private final Set<String> pending;

    /** Whether subscribed or subscribe_failed was written: exactly one of them is. */
    private boolean answered;

    private Subscription(boolean pattern, List<String> names) {
        this.pattern = pattern;
        this.names = names.toArray(new String[0]);
        this.pending = new HashSet<>(names);
    }

    /**
     * The request's kind and names, or null after answering {@code subscribe_failed} for what
     * the driver does not drive (kind {@code shard}, no names, {@code why} not null).
     */
    static Subscription parse(Map<String, Object> m, String why) {
        return parse(m, why, false);
    }

    /**
     * As {@link #parse(Map, String)}; {@code shard} true when the caller drives kind
     * {@code shard} (SSUBSCRIBE) and no other.
     */
    static Subscription parse(Map<String, Object> m, String why, boolean shard) {
        String kind = String.valueOf(m.get("kind"));
        List<String> names = new ArrayList<>();
        if (m.get("channels") instanceof List<?> l) {
            for (Object o : l) {
                names.add(String.valueOf(o));
            }
        }
        if (why == null && shard != kind.equals("shard")) {
            why = shard ? "kind " + kind + " needs a standalone client" : "unsupported subscribe kind " + kind;
        }
        if (why == null && !shard && !kind.equals("channel") && !kind.equals("pattern")) {
            why = "unsupported subscribe kind " + kind;
        }
        if (why == null && names.isEmpty()) {
            why = "subscribe without channels";
        }
        if (why != null) {
            emit(msg("type", "subscribe_failed", "t_ns", monoNs(), "error_class", "other", "message", why));
            return null;
        }
        Subscription s = new Subscription(kind.equals("pattern"), names);
        CompletableFuture.delayedExecutor(CONFIRM_TIMEOUT_MS, TimeUnit.MILLISECONDS).execute(s::timedOut);
        return s;
    }

    /**
     * The client confirmed {@code name} ({@code subscribe} or {@code psubscribe}, as asked):
     * {@code subscribed} once the last one is. Confirmations after that (a resubscription) are
     * the client's business.
     */
    synchronized void confirmed(String name) {
        if (pending.remove(name) && pending.isEmpty() && !answered) {
            answered = true;
            emit(msg("type", "subscribed", "t_ns", monoNs()));
        }
    }

    /** The client could not subscribe: its error, classified by the driver. */
    synchronized void failed(String errorClass, String message) {
        if (!answered) {
            answered = true;
            emit(msg("type", "subscribe_failed", "t_ns", monoNs(), "error_class", errorClass, "message", message));
        }
    }

    private void timedOut() {
        failed("timeout", "no confirmation for " + pendingNames() + " within " + CONFIRM_TIMEOUT_MS + " ms");
    }

    private synchronized String pendingNames() {
        return new ArrayList<>(pending).toString();
    }

    /** A message the client handed to the application; {@code pattern} null for a plain one. */
    static void message(String channel, String pattern, String payload) {
        emit(msg("type", "message", "channel", channel, "pattern", pattern, "payload", payload, "t_ns", monoNs()));
    }

}
