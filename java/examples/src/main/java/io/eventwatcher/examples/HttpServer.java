package io.eventwatcher.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small HTTP/1.1 server on one or more {@link io.eventwatcher.EventWatcher} loops ({@link
 * Config#threads}, loop threads {@code http-loop-0} ...): keep-alive, pipelining, {@code GET /} (a
 * short text), {@code GET /stats} (live counters of all loops, as JSON), and the defences against
 * slow and idle clients and descriptor exhaustion described in {@link HttpLoop}. With several loops
 * each has its own listener on the shared port (see {@link ServerLoops}) and serves the connections
 * it accepted, start to end: no request crosses loops. Construction and {@link #close()} from any
 * thread but the server's loops.
 */
public final class HttpServer implements AutoCloseable {
  /** Settings; the defaults are the CLI's. */
  public static final class Config {
    /** Port to listen on; 0 picks a free one. */
    public int port = 8081;

    /** Address to bind. */
    public String host = "127.0.0.1";

    /** Event loops, one thread each (the CLI's {@code --threads}); at least 1. */
    public int threads = 1;

    /** Listen backlog of each loop's listener; by default the system's cap. */
    public int backlog = TcpServer.defaultBacklog();

    /** Most connections open at once, over all loops; beyond it a new one gets 503 and closes. */
    public int maxConnections = Integer.MAX_VALUE;

    /**
     * Time for a request head to arrive whole, from the connection's start or the head's first
     * byte; then 408 and close. Zero for none.
     */
    public Duration headerTimeout = Duration.ofSeconds(10);

    /** Time a keep-alive connection may wait for its next request; then close. Zero for none. */
    public Duration idleTimeout = Duration.ofSeconds(60);

    /** Time pending output may make no progress (the client stopped reading); then close. */
    public Duration writeTimeout = Duration.ofSeconds(30);

    /** Largest request head (request line and headers) accepted; larger gets 431. */
    public int maxHeaderBytes = 8192;

    /** Most response bytes that may wait for one connection. */
    public int maxPendingBytes = 1024 * 1024;

    /** Where errors are logged; null for silence. */
    public PrintStream log = System.err;
  }

  /**
   * Live counters of all loops together, as served by {@code /stats}; any thread may read them.
   * Those that change on every request are {@link Counter}s, which the loops add to without sharing
   * a cache line.
   */
  public static final class Stats extends ListenerStats {
    /** Request heads answered (any status). */
    public final Counter requests = new Counter();

    /** Bytes read from clients. */
    public final Counter bytesIn = new Counter();

    /** Response bytes queued for clients. */
    public final Counter bytesOut = new Counter();

    /** Connections answered 408 and closed: a request head not complete in time. */
    public final AtomicLong headerTimeouts = new AtomicLong();

    /** Keep-alive connections closed for waiting too long for a request. */
    public final AtomicLong idleTimeouts = new AtomicLong();

    /** Connections closed for output that made no progress in time. */
    public final AtomicLong writeTimeouts = new AtomicLong();
  }

  private final Stats stats = new Stats();
  private final ServerLoops<HttpLoop> loops;

  private HttpServer(Config config) throws IOException {
    int threads = config.threads; // read once: the caller may reuse the config
    loops =
        new ServerLoops<>(
            "http-loop",
            threads,
            config.host,
            config.port,
            config.backlog,
            message -> log(config, message),
            (listener, watcher) -> new HttpLoop(config, stats, threads, listener, watcher),
            started -> {});
  }

  /**
   * Binds and starts serving on {@link Config#threads} new loop threads, named {@code http-loop-0}
   * and on. Any thread.
   *
   * @throws IOException if the port cannot be bound (java.net.BindException when in use)
   * @throws IllegalArgumentException if {@code config.threads} is below 1
   */
  public static HttpServer start(Config config) throws IOException {
    return new HttpServer(config);
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
  List<HttpLoop> loops() {
    return loops.loops();
  }

  /**
   * Stops accepting, closes every connection and ends the loop threads. Idempotent; any thread but
   * the server's loops.
   *
   * @throws IllegalStateException on a loop thread of the server, which would wait for itself
   */
  @Override
  public void close() {
    loops.close();
  }

  /** Logs one line to {@code config.log}, if any. Any thread. */
  static void log(Config config, String message) {
    if (config.log != null) config.log.println("[http] " + message);
  }
}
