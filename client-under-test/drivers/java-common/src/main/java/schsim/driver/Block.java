package schsim.driver;

import static schsim.driver.Wire.emit;
import static schsim.driver.Wire.monoNs;
import static schsim.driver.Wire.msg;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;

/**
 * The harness's {@code block} request and the lines that answer it, shared by the Java drivers:
 * each driver runs the consumer loop its client calls for (Lettuce: a chain of async calls,
 * Jedis: a thread), one call at a time, and reports every answer here, so that both write what
 * the redis-py driver writes (docs/driver-protocol.md).
 */
final class Block {

    /** The pause before the next call after an error: a client closed for good must not flood. */
    static final long PAUSE_AFTER_ERROR_MS = 10;

    /** BLPOP (else BRPOP). */
    final boolean left;

    final String[] keys;

    /** The call's own timeout in seconds, as Redis takes it (0: forever). */
    final double timeout;

    private Block(boolean left, String[] keys, double timeout) {
        this.left = left;
        this.keys = keys;
        this.timeout = timeout;
    }

    /**
     * The request, or null after answering {@code block_failed} for what the driver does not
     * drive ({@code why} not null, a command other than blpop/brpop, no keys, a negative timeout).
     */
    static Block parse(Map<String, Object> m, String why) {
        String command = String.valueOf(m.get("command"));
        List<String> keys = new ArrayList<>();
        if (m.get("keys") instanceof List<?> l) {
            for (Object o : l) {
                keys.add(String.valueOf(o));
            }
        }
        double timeout = m.get("timeout") instanceof Number n ? n.doubleValue() : 0;
        if (why == null && (!(command.equals("blpop") || command.equals("brpop")) || keys.isEmpty() || timeout < 0)) {
            why = "unsupported block request " + m;
        }
        if (why != null) {
            failedToStart("other", why);
            return null;
        }
        return new Block(command.equals("blpop"), keys.toArray(new String[0]), timeout);
    }

    static void failedToStart(String errorClass, String message) {
        emit(msg("type", "block_failed", "t_ns", monoNs(), "error_class", errorClass, "message", message));
    }

    static void started() {
        emit(msg("type", "block_started", "t_ns", monoNs()));
    }

    /**
     * A call the client answered: {@code popped} with the list and element, or
     * {@code block_timeout} for null (its timeout ran out). Reported even while the driver
     * stops: an element popped is the application's.
     */
    static void answered(long sentNs, Entry<String, String> popped) {
        answer(sentNs, popped == null ? msg("type", "block_timeout")
                : msg("type", "popped", "key", popped.getKey(), "element", popped.getValue()));
    }

    /** A call the client failed, its error classified by the driver. */
    static void failed(long sentNs, String errorClass, String message) {
        answer(sentNs, msg("type", "block_error", "error_class", errorClass, "message", message));
    }

    private static void answer(long sentNs, Map<String, Object> line) {
        line.put("sent_ns", sentNs);
        line.put("t_ns", monoNs());
        emit(line);
    }

}
