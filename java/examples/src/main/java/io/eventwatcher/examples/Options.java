package io.eventwatcher.examples;

import io.eventwatcher.examples.Main.UsageException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} / {@code --name=value} options of one command, checked against a list. */
final class Options {
  private final Map<String, String> values = new HashMap<>();

  private Options() {}

  /**
   * Parses {@code args}, accepting only {@code known} names.
   *
   * @throws UsageException for an unknown option, a missing value or a repeated option
   */
  static Options parse(String[] args, String command, String... known) throws UsageException {
    Set<String> allowed = Set.of(known);
    Options options = new Options();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg;
      String value = null;
      int equals = arg.indexOf('=');
      if (arg.startsWith("--") && equals > 0) {
        name = arg.substring(0, equals);
        value = arg.substring(equals + 1);
      }
      if (!allowed.contains(name)) {
        throw new UsageException(
            "unknown option '" + arg + "' for " + command + " (try " + command + " --help)");
      }
      if (value == null) {
        if (i + 1 >= args.length) throw new UsageException(name + " needs a value");
        value = args[++i];
      }
      if (options.values.put(name, value) != null) throw new UsageException(name + " given twice");
    }
    return options;
  }

  String string(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  int port(int fallback) throws UsageException {
    String text = values.get("--port");
    if (text == null) return fallback;
    int port = integer("--port", text);
    if (port < 0 || port > 65535)
      throw new UsageException("--port must be in 0..65535, got " + text);
    return port;
  }

  int positive(String name, int fallback) throws UsageException {
    String text = values.get(name);
    if (text == null) return fallback;
    int value = integer(name, text);
    if (value < 1) throw new UsageException(name + " must be at least 1, got " + text);
    return value;
  }

  private static int integer(String name, String text) throws UsageException {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " must be an integer, got '" + text + "'");
    }
  }
}
