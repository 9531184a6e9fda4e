package schsim.driver;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The driver protocol's output side, shared by the Java drivers (Lettuce, Jedis): one JSON line
 * per message on the real stdout, written under one lock and flushed one by one; logs to stderr.
 * {@link #open()} redirects System.out to stderr so that nothing else (a library's println) can
 * reach the protocol stream. Timestamps: System.nanoTime(), which is
 * clock_gettime(CLOCK_MONOTONIC) on Linux, the clock the simulator stamps its timeline with.
 */
final class Wire {

    private static final Object OUT_LOCK = new Object();

    private static OutputStream out;

    private Wire() {
    }

    /** Takes stdout for the protocol; call once, first thing in main. */
    static void open() {
        out = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
    }

    static long monoNs() {
        return System.nanoTime();
    }

    static void log(String msg) {
        System.err.println(java.time.LocalTime.now() + " driver: " + msg);
    }

    static void emit(Map<String, Object> msg) {
        byte[] line = (Json.write(msg) + "\n").getBytes(StandardCharsets.UTF_8);
        synchronized (OUT_LOCK) {
            try {
                out.write(line);
                out.flush();
            } catch (IOException e) {
                log("stdout write failed: " + e);
            }
        }
    }

    /** An ordered JSON object from key, value, key, value, ... */
    static Map<String, Object> msg(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

}
