package io.eventwatcher.examples;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The counters every example server keeps about its listener: what it accepted, what it turned away
 * and what failed. Each server's own stats extend these. Any thread may read them.
 */
public class ListenerStats {
  /** Connections accepted and served (refused ones not included). */
  public final AtomicLong connections = new AtomicLong();

  /** Connections open now. */
  public final AtomicLong openConnections = new AtomicLong();

  /** Connections closed at once because {@code maxConnections} were open. */
  public final AtomicLong refused = new AtomicLong();

  /**
   * Failed accepts: the descriptor limit (EMFILE, ENFILE), no memory (ENOBUFS, ENOMEM), a
   * connection aborted before it was taken (ECONNABORTED), and the like.
   */
  public final AtomicLong acceptFailures = new AtomicLong();

  /** Times accepting paused because the process or system ran out of descriptors or memory. */
  public final AtomicLong acceptPauses = new AtomicLong();

  /** Only the servers' stats extend this. */
  ListenerStats() {}
}
