package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.EventWatcherGroup;
import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A server on N loops: an {@link EventWatcherGroup} of N loop threads ({@code PREFIX-0} ...), and
 * on each loop a {@link TcpServer} with a listener of its own, all on one port.
 *
 * <p><b>Accepting.</b> With N above 1 every listener sets SO_REUSEPORT, and the kernel spreads new
 * connections over them by a hash of the client's address and port. No connection crosses from one
 * loop to another: accepting costs no hand-off and no wakeup of another thread, and each loop's
 * connections, timeouts and buffers are its own. The other design, one acceptor handing accepted
 * sockets round-robin to the other loops, balances by count instead of by hash and keeps one
 * listening socket, but costs each connection a task and a wakeup on the receiving loop. The hash
 * is blind to load: a loop busy with a few heavy clients still gets its share of new ones (as with
 * round-robin), and SO_REUSEPORT lets another process of the same user bind the port too, so a
 * stale server is joined instead of reported. With N = 1 the option is not set, and a port in use
 * is a {@link java.net.BindException} as before.
 *
 * <p>Construction and {@link #close()} from any thread but the group's loops.
 */
final class ServerLoops<S extends TcpServer> implements AutoCloseable {
  /** Makes the server of one loop from its bound listener, which it then owns. */
  @FunctionalInterface
  interface LoopFactory<S> {
    S create(ServerSocketChannel listener, EventWatcher watcher) throws IOException;
  }

  private final RateLimitedLog errors; // what the loops' callbacks and tasks throw
  private final EventWatcherGroup group;
  private final List<S> loops;

  /**
   * Starts {@code threads} loops serving {@code host:port}; errors that callbacks and tasks throw
   * go to {@code log}, each kind at most once a second ({@link RateLimitedLog}). {@code
   * beforeListen} sees every loop's server once all exist and before any accepts (the chat
   * introduces its loops to each other there).
   *
   * @throws IOException if the port cannot be bound (java.net.BindException when in use): nothing
   *     is left open then
   * @throws IllegalArgumentException if threads is below 1
   */
  ServerLoops(
      String threadPrefix,
      int threads,
      String host,
      int port,
      int backlog,
      Consumer<String> log,
      LoopFactory<S> factory,
      Consumer<List<S>> beforeListen)
      throws IOException {
    if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    errors = new RateLimitedLog(log);
    group = TcpServer.watcherSettings(threadPrefix, errors).buildGroup(threads);
    List<S> started = new ArrayList<>(threads);
    try {
      int boundPort = port;
      for (EventWatcher watcher : group.watchers()) {
        ServerSocketChannel listener = TcpServer.bind(host, boundPort, backlog, threads > 1);
        try {
          started.add(factory.create(listener, watcher));
        } catch (Throwable e) {
          listener.close();
          throw e;
        }
        boundPort = started.get(0).port(); // port 0: the others join the one the first got
      }
      beforeListen.accept(List.copyOf(started));
      for (S loop : started) loop.listen();
    } catch (Throwable e) { // an Error too: never leave listeners or (non-daemon) loops behind
      for (S loop : started) loop.close();
      group.close();
      throw e;
    }
    loops = List.copyOf(started);
  }

  /** The loops' servers, in thread order. Any thread. */
  List<S> loops() {
    return loops;
  }

  /** The loops' watchers. Any thread. */
  EventWatcherGroup group() {
    return group;
  }

  /**
   * The bound port. Any thread.
   *
   * @throws IOException if the listeners are closed
   */
  int port() throws IOException {
    return loops.get(0).port();
  }

  /**
   * Stops accepting on every loop, closes every connection, then ends the loop threads and writes
   * out the errors held back. Idempotent; any thread but the group's loops.
   *
   * @throws IllegalStateException on a loop thread of the group, which would wait for itself
   */
  @Override
  public void close() {
    if (group.inEventWatcherLoop()) {
      throw new IllegalStateException("closing a server from one of its loops would wait forever");
    }
    for (S loop : loops) loop.close();
    group.close();
    errors.flush();
  }
}
