package io.eventwatcher.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP broadcast chat server on one or more {@link io.eventwatcher.EventWatcher} loops ({@link
 * Config#threads}, loop threads {@code chat-loop-0} ...). Protocol: newline-delimited text; every
 * complete line a client sends goes to every other connected client, on any loop, byte for byte,
 * exactly once, in the order its sender sent it.
 *
 * <p>With several loops each has its own listener on the shared port (see {@link ServerLoops}) and
 * its own clients, and the loops hand each other the lines of a turn in one batch each; see {@link
 * ChatLoop}, which also describes the limits (slow readers, long lines, idle clients) that each
 * loop enforces on its own clients. Construction and {@link #close()} from any thread but the
 * server's loops.
 */
public final class ChatServer implements AutoCloseable {
  /** Settings; the defaults are the CLI's. */
  public static final class Config {
    /** Port to listen on; 0 picks a free one. */
    public int port = 8080;

    /** Address to bind. */
    public String host = "127.0.0.1";

    /** Event loops, one thread each (the CLI's {@code --threads}); at least 1. */
    public int threads = 1;

    /** Listen backlog of each loop's listener; by default the system's cap. */
    public int backlog = TcpServer.defaultBacklog();

    /** Most clients connected at once, over all loops; beyond it a new one is closed at once. */
    public int maxConnections = Integer.MAX_VALUE;

    /** Time a client may send nothing before it is disconnected. Zero for none. */
    public Duration idleTimeout = Duration.ZERO;

    /** Longest line accepted, newline excluded. */
    public int maxLineBytes = 64 * 1024;

    /** Most bytes that may wait for one client before it is disconnected as too slow. */
    public int maxPendingBytes = 1024 * 1024;

    /** Where connections and disconnections are logged; null for silence. */
    public PrintStream log = System.out;
  }

  /**
   * Live counters of all loops together; any thread may read them. Those that change on every line
   * are {@link Counter}s, which the loops add to without sharing a cache line.
   */
  public static final class Stats extends ListenerStats {
    /** Clients gone, for any reason. */
    public final AtomicLong disconnections = new AtomicLong();

    /** Complete lines received (each relayed to every other client). */
    public final Counter linesReceived = new Counter();

    /** Line bytes queued for recipients, counted once per recipient. */
    public final Counter bytesDelivered = new Counter();

    /** Batches of lines handed from one loop to another: one per other loop per batch. */
    public final Counter batchesRelayed = new Counter();

    /**
     * Times a loop stopped reading its clients because another loop had not yet taken {@link
     * ChatLoop#RELAY_HIGH} bytes of its batches (it reads again once that loop catches up).
     */
    public final AtomicLong readPauses = new AtomicLong();

    /** Clients disconnected for not reading (outbound limit reached). */
    public final AtomicLong slowClientsDropped = new AtomicLong();

    /** Clients disconnected for a line over the maximum. */
    public final AtomicLong longLinesDropped = new AtomicLong();

    /** Clients disconnected for sending nothing for the idle timeout. */
    public final AtomicLong idleTimeouts = new AtomicLong();

    /** One line: every counter by name. */
    @Override
    public String toString() {
      return "connections="
          + connections.get()
          + " open="
          + openConnections.get()
          + " disconnections="
          + disconnections.get()
          + " lines="
          + linesReceived.get()
          + " bytes_delivered="
          + bytesDelivered.get()
          + " batches_relayed="
          + batchesRelayed.get()
          + " read_pauses="
          + readPauses.get()
          + " slow_dropped="
          + slowClientsDropped.get()
          + " long_lines_dropped="
          + longLinesDropped.get()
          + " idle_timeouts="
          + idleTimeouts.get()
          + " refused="
          + refused.get()
          + " accept_failures="
          + acceptFailures.get()
          + " accept_pauses="
          + acceptPauses.get();
    }
  }

  private final Config config;
  private final Stats stats = new Stats();
  private final ServerLoops<ChatLoop> loops;
  private final AtomicBoolean summaryLogged = new AtomicBoolean();

  private ChatServer(Config config) throws IOException {
    this.config = config;
    loops =
        new ServerLoops<>(
            "chat-loop",
            config.threads,
            config.host,
            config.port,
            config.backlog,
            message -> log(config, message),
            (listener, watcher) -> new ChatLoop(config, stats, listener, watcher),
            started -> {
              for (ChatLoop loop : started) loop.join(started);
            });
  }

  /**
   * Binds and starts serving on {@link Config#threads} new loop threads, named {@code chat-loop-0}
   * and on. Any thread.
   *
   * @throws IOException if the port cannot be bound (java.net.BindException when in use)
   * @throws IllegalArgumentException if {@code config.threads} is below 1
   */
  public static ChatServer start(Config config) throws IOException {
    return new ChatServer(config);
  }

  /**
   * The bound port (the chosen one when configured with port 0). Any thread.
   *
   * @return the port
   * @throws IOException if the server is closed
   */
  public int port() throws IOException {
    return loops.port();
  }

  /** The live counters of all loops. Any thread. */
  public Stats stats() {
    return stats;
  }

  /** The number of loops. Any thread. */
  public int threads() {
    return loops.loops().size();
  }

  /** Each loop's server, in thread order. Any thread. */
  List<ChatLoop> loops() {
    return loops.loops();
  }

  /**
   * Stops accepting, disconnects every client, ends the loop threads and logs a summary of all
   * loops: every counter, and the connections each loop accepted. Idempotent; any thread but the
   * server's loops.
   *
   * @throws IllegalStateException on a loop thread of the server, which would wait for itself
   */
  @Override
  public void close() {
    loops.close();
    if (summaryLogged.compareAndSet(false, true)) {
      StringBuilder perLoop = new StringBuilder();
      for (ChatLoop loop : loops.loops()) {
        perLoop.append(perLoop.length() == 0 ? "" : ",").append(loop.connectionsAccepted());
      }
      log(config, "summary: " + stats + " loops=" + threads() + " connections_per_loop=" + perLoop);
    }
  }

  /** Logs one line to {@code config.log}, if any. Any thread. */
  static void log(Config config, String message) {
    if (config.log != null) config.log.println("[chat] " + message);
  }
}
