package io.eventwatcher.examples;

import io.eventwatcher.FileDescriptors;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP broadcast chat server on one {@link io.eventwatcher.EventWatcher} loop thread. Protocol:
 * newline-delimited text; every complete line a client sends goes to every other connected client,
 * byte for byte, in order.
 *
 * <p>All state belongs to the loop thread (callbacks run inline there), so nothing is locked. Per
 * client there is an inbound buffer that reassembles lines across reads (TCP delivers a byte
 * stream: a line may arrive in pieces, or several in one read) and an {@link Outbound} buffer for
 * what the client has not accepted yet. A client that stops reading fills its outbound buffer; past
 * {@code maxPendingBytes} it is disconnected, so it never stalls the others. A line longer than
 * {@code maxLineBytes} closes its sender. With an {@code idleTimeout}, a client that sends nothing
 * for that long is disconnected (see {@link TimeoutQueue}: no timer per client or per line); beyond
 * {@code maxConnections} open connections a new one is closed at once.
 */
public final class ChatServer extends TcpServer {
  /** Settings; the defaults are the CLI's. */
  public static final class Config {
    /** Port to listen on; 0 picks a free one. */
    public int port = 8080;

    /** Address to bind. */
    public String host = "127.0.0.1";

    /** Listen backlog; by default the system's cap, see {@link TcpServer#defaultBacklog()}. */
    public int backlog = TcpServer.defaultBacklog();

    /** Most clients connected at once; beyond it a new connection is closed at once. */
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

  /** Live counters; any thread may read them. */
  public static final class Stats extends ListenerStats {
    /** Clients gone, for any reason. */
    public final AtomicLong disconnections = new AtomicLong();

    /** Complete lines received (each relayed to every other client). */
    public final AtomicLong linesReceived = new AtomicLong();

    /** Line bytes queued for recipients. */
    public final AtomicLong bytesDelivered = new AtomicLong();

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

  private static final int MAX_READS_PER_CALL = 16;

  private final Config config;
  private final Stats stats;
  // Loop thread only:
  private final List<Client> clients = new ArrayList<>();
  private final TimeoutQueue<Client> idle; // every client, by when it last sent something
  private boolean clientsLeft; // some entries of `clients` are closed
  private final List<Client> unflushed = new ArrayList<>(); // queued output, not yet written
  private final Runnable flushTask = this::flushAll;
  private boolean flushScheduled;

  private ChatServer(Config config, Stats stats) throws IOException {
    super(config.host, config.port, config.backlog, config.maxConnections, "chat-loop", stats);
    this.config = config;
    this.stats = stats;
    idle = new TimeoutQueue<>(config.idleTimeout, this::idleTimedOut);
  }

  /**
   * Binds and starts serving on a new loop thread named {@code chat-loop}. Any thread.
   *
   * @throws IOException if the port cannot be bound (java.net.BindException when in use)
   */
  public static ChatServer start(Config config) throws IOException {
    ChatServer server = new ChatServer(config, new Stats());
    server.listen();
    return server;
  }

  /** The live counters. Any thread. */
  public Stats stats() {
    return stats;
  }

  // ---- loop thread ----

  @Override
  protected void accepted(SocketChannel channel) throws IOException {
    purgeClosed();
    Client client = new Client(channel);
    watcher.watch(client.fd, WatchFlag.READ, fd -> onReadable(client));
    clients.add(client);
    idle.enter(client);
    log("client " + client.name + " connected");
  }

  @Override
  protected void closeConnections() {
    for (Client client : new ArrayList<>(clients)) disconnect(client, "server shutting down");
    log("summary: " + stats);
  }

  @Override
  protected long tickPeriodNanos() {
    return tickPeriodFor(config.idleTimeout);
  }

  @Override
  protected void tick(long now) {
    idle.expire(now);
  }

  private void idleTimedOut(Client client) {
    stats.idleTimeouts.incrementAndGet();
    disconnect(client, "sent nothing for " + config.idleTimeout.toMillis() + " ms");
  }

  private void onReadable(Client client) {
    idle.enter(client); // it sent something (or hung up, and is disconnected below)
    try {
      // Read until the kernel has nothing more (read returns 0 for EAGAIN): watching is
      // level-triggered, so stopping early is safe, but each skipped read costs a loop turn. The
      // cap keeps one fast sender from starving the others within a turn; it is called again on
      // the next turn while data remains.
      for (int reads = 0; reads < MAX_READS_PER_CALL; reads++) {
        int n = NativeIO.read(client.fd, client.in);
        if (n == 0 && client.in.hasRemaining()) return; // would block: wait for the next event
        if (n < 0) { // EOF: the client closed its side; a trailing partial line is dropped
          disconnect(client, "closed the connection");
          return;
        }
        // Queues complete lines for the others; they are written at the end of the turn.
        if (!relayLines(client)) return;
      }
    } catch (IOException e) {
      disconnect(client, e.getMessage());
    }
  }

  /** Sends every complete line in the client's inbound buffer; false if the client was dropped. */
  private boolean relayLines(Client sender) throws IOException {
    ByteBuffer in = sender.in;
    int start = 0;
    for (int i = sender.scanned; i < in.position(); i++) {
      if (in.get(i) != '\n') continue;
      broadcast(sender, start, i + 1 - start);
      start = i + 1;
    }
    // Keep the partial line at the front.
    int partial = in.position() - start;
    if (start > 0) in.limit(in.position()).position(start).compact();
    sender.scanned = partial;
    if (partial > config.maxLineBytes) {
      stats.longLinesDropped.incrementAndGet();
      disconnect(sender, "line longer than " + config.maxLineBytes + " bytes");
      return false;
    }
    return !sender.closed;
  }

  /**
   * Queues the line for every other client. The writes happen once per loop turn in {@link
   * #flushAll()}: with many clients talking at once, one turn relays many lines, and each recipient
   * then costs one write instead of one per line.
   */
  private void broadcast(Client sender, int offset, int length) {
    stats.linesReceived.incrementAndGet();
    ByteBuffer line = sender.lineView;
    for (int i = 0, n = clients.size(); i < n; i++) {
      Client recipient = clients.get(i);
      if (recipient == sender || recipient.closed) continue;
      line.limit(offset + length).position(offset);
      if (!recipient.out.queue(line)) {
        // Full: write what the kernel takes now. Only a client whose socket stays full while its
        // queue is at the limit is slow; a busy turn alone must not get a reader dropped.
        onWritable(recipient);
        line.limit(offset + length).position(offset);
        if (recipient.closed || !recipient.out.queue(line)) {
          if (!recipient.closed) {
            stats.slowClientsDropped.incrementAndGet();
            disconnect(
                recipient,
                "too slow: "
                    + recipient.out.pending()
                    + " bytes pending, limit "
                    + config.maxPendingBytes);
          }
          continue;
        }
      }
      stats.bytesDelivered.addAndGet(length);
      if (!recipient.flushQueued) {
        recipient.flushQueued = true;
        unflushed.add(recipient);
      }
    }
    purgeClosed();
    if (!flushScheduled && !unflushed.isEmpty()) {
      flushScheduled = true;
      // From the loop thread, a task runs after this turn's callbacks: the end of the batch.
      watcher.runInEventWatcherLoop(flushTask);
    }
  }

  private void flushAll() {
    flushScheduled = false;
    for (int i = 0; i < unflushed.size(); i++) {
      Client client = unflushed.get(i);
      client.flushQueued = false;
      if (!client.closed) onWritable(client);
    }
    unflushed.clear();
  }

  private void onWritable(Client client) {
    try {
      client.out.flush();
    } catch (IOException e) {
      disconnect(client, e.getMessage());
    }
  }

  private void disconnect(Client client, String reason) {
    if (client.closed) return;
    client.closed = true;
    clientsLeft = true;
    client.leaveQueue();
    stats.disconnections.incrementAndGet();
    try {
      release(client.fd, client.channel);
    } catch (IOException e) {
      reason += " (and closing failed: " + e.getMessage() + ")";
    }
    log("client " + client.name + " disconnected: " + reason);
  }

  /**
   * Drops disconnected clients from the list. Called only where no loop over the list is running
   * (disconnect may happen in the middle of a broadcast), so closed entries linger until then and
   * are skipped.
   */
  private void purgeClosed() {
    if (clientsLeft) {
      clients.removeIf(client -> client.closed);
      clientsLeft = false;
    }
  }

  @Override
  protected void log(String message) {
    if (config.log != null) config.log.println("[chat] " + message);
  }

  private final class Client extends TimeoutQueue.Entry<Client> {
    final SocketChannel channel;
    final int fd;
    final String name;
    final ByteBuffer in = ByteBuffer.allocateDirect(config.maxLineBytes + 1);
    final ByteBuffer lineView = in.duplicate(); // reused to hand a line to recipients
    final Outbound out;
    int scanned; // bytes at the front of `in` already searched for a newline
    boolean flushQueued; // in `unflushed`
    boolean closed;

    Client(SocketChannel channel) throws IOException {
      this.channel = channel;
      this.fd = FileDescriptors.fd(channel);
      this.name = "#" + fd + " " + channel.getRemoteAddress();
      this.out = new Outbound(watcher, fd, config.maxPendingBytes, ignored -> onWritable(this));
    }
  }
}
