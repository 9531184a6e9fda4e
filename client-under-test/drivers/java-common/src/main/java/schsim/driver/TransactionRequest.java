package schsim.driver;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A `transaction` message's block, shared by the Java drivers: the keys to WATCH first and the
 * commands to run between MULTI and EXEC, each argument as the string the client sends (a
 * non-string JSON value as its JSON text).
 */
record TransactionRequest(List<String> watch, List<List<String>> commands) {

    static TransactionRequest of(Map<String, Object> m) {
        List<String> watch = new ArrayList<>();
        if (m.get("watch") instanceof List<?> l) {
            for (Object o : l) {
                watch.add(String.valueOf(o));
            }
        }
        List<List<String>> commands = new ArrayList<>();
        if (m.get("commands") instanceof List<?> l) {
            for (Object c : l) {
                List<String> args = new ArrayList<>();
                if (c instanceof List<?> cl) {
                    for (Object o : cl) {
                        args.add(o instanceof String str ? str : Json.write(o));
                    }
                }
                commands.add(args);
            }
        }
        return new TransactionRequest(watch, commands);
    }
}
