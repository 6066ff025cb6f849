package io.eventwatcher.examples;

import io.eventwatcher.examples.Main.UsageException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} / {@code --name=value} options of one command, checked against a list. */
final class Options {
  /** The longest duration accepted, in seconds: 100 days. */
  static final long MAX_SECONDS = 8_640_000;

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

  /**
   * A duration given in seconds, fractions allowed ({@code 1.5}, {@code 0.25}); {@code 0} for none.
   *
   * @throws UsageException if it is not a number, negative, or over {@value #MAX_SECONDS}
   */
  Duration seconds(String name, Duration fallback) throws UsageException {
    String text = values.get(name);
    if (text == null) return fallback;
    BigDecimal seconds;
    try {
      seconds = new BigDecimal(text);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " must be a number of seconds, got '" + text + "'");
    }
    if (seconds.signum() < 0 || seconds.compareTo(BigDecimal.valueOf(MAX_SECONDS)) > 0) {
      throw new UsageException(
          name + " must be in 0.." + MAX_SECONDS + " seconds (0 for none), got " + text);
    }
    // Rounded up to whole nanoseconds, so that a tiny positive value is not read as 0 (none).
    return Duration.ofNanos(
        seconds.movePointRight(9).setScale(0, RoundingMode.CEILING).longValue());
  }

  private static int integer(String name, String text) throws UsageException {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " must be an integer, got '" + text + "'");
    }
  }
}
