package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.FileDescriptors;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One loop of {@link ChatServer}: its listener and its clients, all on one {@link EventWatcher}
 * loop thread of the server's group, so nothing here is locked.
 *
 * <p>Per client there is an inbound buffer that reassembles lines across reads (TCP delivers a byte
 * stream: a line may arrive in pieces, or several in one read) and an {@link Outbound} buffer for
 * what the client has not accepted yet. A client that stops reading fills its outbound buffer; past
 * {@code maxPendingBytes} it is disconnected, so it never stalls the others. A line longer than
 * {@code maxLineBytes} closes its sender. With an {@code idleTimeout}, a client that sends nothing
 * for that long is disconnected (see {@link TimeoutQueue}: no timer per client or per line). These
 * limits are each loop's own business: a slow reader or an idle client is found and dropped by the
 * loop that serves it.
 *
 * <p><b>Across loops.</b> A line is queued at once for the other clients of its sender's loop, and
 * appended to this loop's <em>outgoing batch</em>. When the turn's callbacks are done (or sooner,
 * when the batch reaches {@link #BATCH_BYTES} or a quarter of {@code maxPendingBytes}) the batch is
 * frozen into one immutable array and handed to every other loop as one task ({@link #relay}); that
 * loop queues the whole array for each of its clients. So fan-out crosses loops once per other loop
 * per batch, not once per line or per recipient, and no loop ever waits for another: the hand-off
 * is {@link EventWatcher#execute}, which returns at once. Exactly once and in each sender's order:
 * a line enters exactly one batch, on its sender's loop, in the order its sender's bytes were read;
 * tasks from one thread to a watcher run in submission order; and a receiving loop appends each
 * batch whole to each recipient's queue, so lines never interleave or repeat. The sender's own loop
 * never sends a line back to its sender, and the other loops cannot hold the sender.
 *
 * <p><b>Flow control.</b> Each loop counts the batch bytes handed to it and not yet queued (its
 * backlog). A loop that hands a batch to a peer whose backlog passes {@link #RELAY_HIGH} stops
 * reading its own clients until every peer is back under {@link #RELAY_LOW}; the peer that drains
 * wakes it. So a loop never fans out more than it can, and the kernel's buffers and TCP push back
 * on fast talkers, as with one loop, which reads no faster than it relays.
 */
final class ChatLoop extends TcpServer {
  /** Most bytes of lines in one batch for the other loops. */
  static final int BATCH_BYTES = 64 * 1024;

  /**
   * Batch bytes handed to a loop and not yet queued there, above which the loops that send to it
   * stop reading their clients, and below which ({@link #RELAY_LOW}) they read again.
   */
  static final int RELAY_HIGH = 4 * BATCH_BYTES;

  static final int RELAY_LOW = BATCH_BYTES;

  private static final int MAX_READS_PER_CALL = 16;
  private static final int INITIAL_INBOUND = 4096;

  private final ChatServer.Config config;
  private final ChatServer.Stats stats;
  private final int batchLimit; // a batch never exceeds what a recipient may have pending
  // Set once by join(), before listen(): every callback and task of this loop comes after it.
  private List<ChatLoop> peers = List.of();
  // Any thread: batch bytes handed to this loop, not yet queued for its clients (senders add,
  // this loop subtracts); and whether a paused sender waits for it to fall to RELAY_LOW.
  private final AtomicLong relayBacklog = new AtomicLong();
  private final AtomicBoolean drainWanted = new AtomicBoolean();
  // Loop thread only:
  private final List<Client> clients = new ArrayList<>();
  private final TimeoutQueue<Client> idle; // every client, by when it last sent something
  private boolean clientsLeft; // some entries of `clients` are closed
  private final List<Client> unflushed = new ArrayList<>(); // queued output, not yet written
  private final ByteBuffer outgoing; // this turn's lines for the other loops; write mode
  private final Runnable endOfTurn = logged(this::endOfTurn); // a timer: what it throws is logged
  private boolean endOfTurnScheduled;
  private final Runnable relayTask = this::relayPending;
  private boolean relayScheduled;
  private long deliveredBytes; // queued for recipients since the last endOfTurn
  private boolean readingPaused; // a peer's backlog is over RELAY_HIGH: clients are not read
  private final List<Client> held = new ArrayList<>(); // readable while paused: READ unwatched

  /**
   * Serves {@code listener} on {@code watcher}; {@code stats} are the server's, shared by its
   * loops. Accepting starts with {@link #listen()}, after {@link #join}.
   */
  ChatLoop(
      ChatServer.Config config,
      ChatServer.Stats stats,
      ServerSocketChannel listener,
      EventWatcher watcher)
      throws IOException {
    super(listener, watcher, config.maxConnections, stats);
    this.config = config;
    this.stats = stats;
    // A quarter of the limit: a recipient with some output pending still takes a whole batch.
    this.batchLimit = Math.max(1, Math.min(BATCH_BYTES, config.maxPendingBytes / 4));
    this.idle = new TimeoutQueue<>(config.idleTimeout, this::idleTimedOut);
    // A line of maxLineBytes plus its newline fits even when the limit is smaller (such a line is
    // then too long for every recipient, on every loop, and drops them as slow).
    this.outgoing = ByteBuffer.allocate(Math.max(batchLimit, config.maxLineBytes + 1));
  }

  /**
   * Makes every loop of the server, this one included, known to this one. Called once, on the
   * constructing thread, before {@link #listen()}: listen hands the listener to the loop thread,
   * which publishes this write to every callback and task that follows.
   */
  void join(List<ChatLoop> loops) {
    List<ChatLoop> others = new ArrayList<>(loops);
    others.remove(this);
    peers = List.copyOf(others);
  }

  // ---- loop thread ----

  @Override
  protected void accepted(SocketChannel channel) throws IOException {
    purgeClosed();
    Client client = new Client(channel);
    watcher.watch(client.fd, WatchFlag.READ, client.onRead);
    clients.add(client);
    idle.enter(client);
    log("client " + client.name + " connected");
  }

  @Override
  protected void closeConnections() {
    endOfTurn(); // what is queued goes out first, best effort
    for (Client client : new ArrayList<>(clients)) disconnect(client, "server shutting down");
  }

  /** Batch bytes handed to this loop and not yet queued for its clients. Any thread. */
  long relayBacklog() {
    return relayBacklog.get();
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
        if (readingPaused) { // another loop is behind with this loop's batches
          hold(client);
          return;
        }
        int n = NativeIO.read(client.fd, client.in);
        if (n == 0 && client.in.hasRemaining()) return; // would block: wait for the next event
        if (n < 0) { // EOF: the client closed its side; a trailing partial line is dropped
          disconnect(client, "closed the connection");
          return;
        }
        // Queues complete lines for the others; they are written in the next turn.
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
    if (!in.hasRemaining()) { // a partial line fills it: make room
      try {
        sender.growInbound();
      } catch (OutOfMemoryError | RuntimeException e) { // no direct memory: never spin on it
        disconnect(sender, "no memory for a " + partial + "-byte partial line: " + e);
        return false;
      }
    }
    return !sender.closed;
  }

  /**
   * Queues the line for every other client of this loop, and for the other loops in the outgoing
   * batch, which a task hands over once this turn's callbacks are done. The writes happen once per
   * loop turn in {@link #endOfTurn()}: with many clients talking at once, one turn relays many
   * lines, and each recipient then costs one write instead of one per line.
   */
  private void broadcast(Client sender, int offset, int length) {
    stats.linesReceived.increment();
    ByteBuffer line = sender.lineView;
    for (int i = 0, n = clients.size(); i < n; i++) {
      Client recipient = clients.get(i);
      if (recipient != sender && !recipient.closed) offer(recipient, line, offset, length);
    }
    purgeClosed();
    if (!peers.isEmpty()) {
      if (outgoing.position() > 0 && outgoing.position() + length > batchLimit) relayBatch();
      outgoing.put(line.limit(offset + length).position(offset));
      if (!relayScheduled) {
        watcher.runInEventWatcherLoop(relayTask);
        relayScheduled = true; // once the task is queued: a refusal leaves it to be tried again
      }
    }
    scheduleEndOfTurn();
  }

  /**
   * Queues bytes {@code [offset, offset + length)} of {@code bytes} for {@code recipient}, to be
   * written in the next turn; drops the recipient as too slow if they do not fit.
   */
  private void offer(Client recipient, ByteBuffer bytes, int offset, int length) {
    bytes.limit(offset + length).position(offset);
    if (!recipient.out.queue(bytes)) {
      // Full: write what the kernel takes now. Only a client whose socket stays full while its
      // queue is at the limit is slow; a busy turn alone must not get a reader dropped.
      onWritable(recipient);
      bytes.limit(offset + length).position(offset);
      if (recipient.closed || !recipient.out.queue(bytes)) {
        if (!recipient.closed) {
          stats.slowClientsDropped.incrementAndGet();
          disconnect(
              recipient,
              "too slow: "
                  + recipient.out.pending()
                  + " bytes pending, limit "
                  + config.maxPendingBytes);
        }
        return;
      }
    }
    deliveredBytes += length;
    if (!recipient.flushQueued) {
      recipient.flushQueued = true;
      unflushed.add(recipient);
    }
  }

  /**
   * Has {@link #endOfTurn()} write the pending output in the next loop turn, from its timer phase
   * (a timer due now, scheduled on the loop thread, runs at the next turn, whose wait then does not
   * block). Waiting that one turn costs no time when the loop is idle, and lets what arrives
   * meanwhile join the same writes: lines that reached the kernel while this turn ran, and the
   * batches of other loops, which would otherwise each cost every recipient a write of its own.
   */
  private void scheduleEndOfTurn() {
    if (endOfTurnScheduled || unflushed.isEmpty()) return;
    watcher.schedule(endOfTurn, 0, TimeUnit.NANOSECONDS);
    endOfTurnScheduled = true; // once scheduled: a refusal leaves it to be tried again
  }

  /** Writes what every client has pending: one write each for everything queued since the last. */
  private void endOfTurn() {
    endOfTurnScheduled = false;
    stats.bytesDelivered.add(deliveredBytes); // once per turn, not once per line and recipient
    deliveredBytes = 0;
    for (int i = 0; i < unflushed.size(); i++) {
      Client client = unflushed.get(i);
      client.flushQueued = false;
      try {
        if (!client.closed) onWritable(client);
      } catch (RuntimeException e) { // one client's failure must not leave the others unwritten
        disconnect(client, "writing failed: " + e);
      }
    }
    unflushed.clear();
  }

  /** The task that hands the lines read in this turn's callbacks to the other loops. */
  private void relayPending() {
    relayScheduled = false;
    if (outgoing.position() > 0) relayBatch();
  }

  /**
   * Freezes the outgoing batch and hands it to every other loop: one task each, no waiting. A peer
   * whose backlog passes {@link #RELAY_HIGH} pauses this loop's reading until it drains.
   */
  private void relayBatch() {
    byte[] batch = Arrays.copyOf(outgoing.array(), outgoing.position());
    outgoing.clear();
    for (ChatLoop peer : peers) {
      long backlog = peer.relayBacklog.addAndGet(batch.length);
      try {
        peer.watcher.execute(() -> peer.relay(batch));
        stats.batchesRelayed.increment();
      } catch (RejectedExecutionException e) {
        // That loop is shut down: the server is closing, and its clients are gone.
        peer.relayBacklog.addAndGet(-batch.length);
        continue;
      }
      if (backlog > RELAY_HIGH) pauseReading(peer);
    }
  }

  /** On this loop: queues a batch of whole lines from another loop for every client here. */
  private void relay(byte[] batch) {
    ByteBuffer bytes = ByteBuffer.wrap(batch);
    try {
      for (int i = 0, n = clients.size(); i < n; i++) {
        Client recipient = clients.get(i);
        if (!recipient.closed) offer(recipient, bytes, 0, batch.length);
      }
      purgeClosed();
      scheduleEndOfTurn();
    } finally {
      if (relayBacklog.addAndGet(-batch.length) <= RELAY_LOW
          && drainWanted.get()
          && drainWanted.compareAndSet(true, false)) {
        for (ChatLoop peer : peers) {
          try {
            peer.watcher.execute(peer::resumeReading);
          } catch (RejectedExecutionException e) {
            // That loop is shut down: the server is closing.
          }
        }
      }
    }
  }

  /**
   * Stops reading this loop's clients until {@code full} has taken its backlog down to {@link
   * #RELAY_LOW}: without it a loop whose clients talk faster than another loop can fan their lines
   * out would queue batches there without bound. Clients that become readable meanwhile have READ
   * unwatched (level-triggered watching would otherwise call at once again) and wait, their bytes
   * in the kernel, so TCP slows their senders down, as a single loop does by reading no faster than
   * it relays.
   */
  private void pauseReading(ChatLoop full) {
    if (!readingPaused) {
      readingPaused = true;
      stats.readPauses.incrementAndGet();
    }
    full.drainWanted.set(true);
    // It may have drained before it saw the flag: then no resume would come.
    if (full.relayBacklog.get() <= RELAY_LOW) resumeReading();
  }

  /** On this loop: reads again if every peer's backlog is low; else waits for that peer's drain. */
  private void resumeReading() {
    if (!readingPaused) return;
    for (ChatLoop peer : peers) {
      if (peer.relayBacklog.get() > RELAY_LOW) {
        peer.drainWanted.set(true);
        if (peer.relayBacklog.get() > RELAY_LOW) return; // its drain will call this again
      }
    }
    readingPaused = false;
    for (Client client : held) {
      if (client.closed) continue;
      try {
        watcher.watch(client.fd, WatchFlag.READ, client.onRead); // readable: called next turn
      } catch (IOException | RuntimeException e) {
        disconnect(client, "watching again: " + e);
      }
    }
    held.clear();
  }

  /** While reading is paused: stops watching a readable client until {@link #resumeReading}. */
  private void hold(Client client) {
    try {
      watcher.unwatch(client.fd, WatchFlag.READ);
      held.add(client);
    } catch (IOException | RuntimeException e) {
      disconnect(client, "pausing: " + e);
    }
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
    ChatServer.log(config, message);
  }

  private final class Client extends TimeoutQueue.Entry<Client> {
    final SocketChannel channel;
    final int fd;
    final String name;
    // Starts small and doubles while a line needs it, up to the longest line plus its newline:
    // ten thousand quiet clients then hold 40 MB of buffers, not 640.
    ByteBuffer in = ByteBuffer.allocateDirect(Math.min(INITIAL_INBOUND, config.maxLineBytes + 1));
    ByteBuffer lineView = in.duplicate(); // reused to hand a line to recipients
    final Outbound out;
    final WatchCallback onRead = fd -> onReadable(this);
    int scanned; // bytes at the front of `in` already searched for a newline
    boolean flushQueued; // in `unflushed`
    boolean closed;

    Client(SocketChannel channel) throws IOException {
      this.channel = channel;
      this.fd = FileDescriptors.fd(channel);
      this.name = "#" + fd + " " + channel.getRemoteAddress();
      this.out = new Outbound(watcher, fd, config.maxPendingBytes, ignored -> onWritable(this));
    }

    /** Doubles the inbound buffer (within the line limit), keeping what it holds. */
    void growInbound() {
      int capacity = Math.min(2 * in.capacity(), config.maxLineBytes + 1);
      if (capacity == in.capacity()) return;
      ByteBuffer grown = ByteBuffer.allocateDirect(capacity);
      grown.put(in.flip());
      in = grown;
      lineView = grown.duplicate();
    }
  }
}
