package io.eventwatcher.bench.probes;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * Chat fan-out load: CLIENTS clients of a running chat server, of which the first SENDERS talk, and
 * a check that every client receives every line of every other talker exactly once and in order.
 *
 * <pre>
 * java -cp benchmarks.jar io.eventwatcher.bench.probes.ChatLoad \
 *     WORKLOAD IMPL PARAM PORT SERVER_PID CLIENTS SENDERS ROUNDS_PER_S WARMUP_S SECONDS
 * </pre>
 *
 * <p>The load runs in rounds: in round r every sender writes its line r (64 bytes: sender, round,
 * padding, newline), so a round is SENDERS lines and SENDERS × (CLIENTS − 1) deliveries. Up to
 * {@link #WINDOW} rounds are in flight: round r + WINDOW is sent once round r has reached every
 * client, which keeps a queue from growing (the server's slow-reader limit never comes near). With
 * ROUNDS_PER_S above 0 the lines are paced and spread: line s of round r leaves at start + (r + s /
 * SENDERS) / ROUNDS_PER_S (or when the window allows, if later), so the talkers take turns at an
 * even pace, as independent people would, and the offered load does not depend on the server's
 * speed: CPU per delivery then compares the same work. With 0 every round leaves in one burst as
 * soon as the window allows, and deliveries/s is the server's (and this one thread's) capacity. One
 * thread does everything through a JDK {@link Selector}, independent of the library under test.
 * Each client's lines are checked as they arrive: a line from a sender must be that sender's next
 * one, so a lost, repeated or reordered line fails the run at once (exit 1).
 *
 * <p>Once every client has joined (see {@link #sync()}) and after WARMUP_S seconds of rounds, the
 * measured window lasts SECONDS (whole rounds). Prints, on stdout, under the WORKLOAD, IMPL and
 * PARAM given:
 *
 * <pre>
 * RESULT	WORKLOAD	IMPL	PARAM	deliveries	N          (lines received by clients in the window)
 * RESULT	WORKLOAD	IMPL	PARAM	deliveries_per_s	N
 * RESULT	WORKLOAD	IMPL	PARAM	cpu_ns_per_delivery	NS (the server's utime + stime / deliveries)
 * RESULT	WORKLOAD	IMPL	PARAM	lost_or_repeated	0  (checked: anything else exits 1 first)
 * </pre>
 *
 * <p>The server's CPU time is read from /proc/SERVER_PID/stat, in clock ticks (10 ms): the window
 * must be seconds long for a figure to mean something. Exits 0 on success, 2 on bad arguments, 1 on
 * any other failure (a violation of exactly-once-in-order, a connection closed by the server, no
 * progress for 30 s).
 */
public final class ChatLoad {
  static final int LINE_BYTES = 64;
  static final int WINDOW = 4;
  private static final long STALL_NANOS = 30_000_000_000L;

  /** /proc's clock tick: USER_HZ, 100 on Linux whatever the kernel's own HZ. */
  private static final int USER_HZ = 100;

  private final SocketChannel[] clients;
  private final int senders;
  private final int[][] nextSeq; // [client][sender]: the round of the next line expected
  private final byte[][] partial; // [client]: a line's first bytes, when a read cut it
  private final int[] partialBytes;
  private final long[] deliveredInRound = new long[WINDOW];
  private final Selector selector;
  private final ByteBuffer in = ByteBuffer.allocateDirect(1 << 16);
  private final ByteBuffer out = ByteBuffer.allocateDirect(LINE_BYTES);
  private final long linePeriodNanos; // paced: between one line and the next; 0: unpaced
  private long pacingStart;
  private long linesSent; // line s of round r is number r * senders + s
  private long roundsSent; // rounds with at least one line sent
  private long roundsDone;
  private long deliveries;
  private final boolean[] synced; // [client]: has received a marker of sync()
  private int syncedCount;

  private ChatLoad(int port, int clientCount, int senders, double roundsPerSecond)
      throws IOException {
    this.senders = senders;
    this.linePeriodNanos = roundsPerSecond > 0 ? (long) (1e9 / roundsPerSecond / senders) : 0;
    this.clients = new SocketChannel[clientCount];
    this.nextSeq = new int[clientCount][senders];
    this.partial = new byte[clientCount][LINE_BYTES];
    this.partialBytes = new int[clientCount];
    this.selector = Selector.open();
    InetSocketAddress server = new InetSocketAddress("127.0.0.1", port);
    for (int c = 0; c < clientCount; c++) {
      SocketChannel channel = SocketChannel.open(server);
      channel.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
      channel.configureBlocking(false);
      channel.register(selector, SelectionKey.OP_READ, c);
      clients[c] = channel;
    }
    this.synced = new boolean[clientCount];
  }

  /**
   * Client 0 sends a marker line every 10 ms until every other client has received one: then the
   * server has taken every client in (a connect returns before the server accepts), and no round
   * can reach a client before the server knows it. Markers are skipped wherever they arrive.
   */
  private void sync() throws IOException {
    long deadline = System.nanoTime() + STALL_NANOS;
    byte[] marker = new byte[LINE_BYTES];
    Arrays.fill(marker, (byte) '.');
    marker[0] = 'S';
    marker[LINE_BYTES - 1] = '\n';
    while (syncedCount < clients.length - 1) {
      if (System.nanoTime() > deadline) {
        throw new IOException("only " + syncedCount + " clients joined within 30 s");
      }
      out.clear().put(marker).flip();
      while (out.hasRemaining()) clients[0].write(out);
      receive(10_000_000L);
    }
  }

  /**
   * Runs the probe; see the class comment.
   *
   * @param args WORKLOAD IMPL PARAM PORT SERVER_PID CLIENTS SENDERS ROUNDS_PER_S WARMUP_S SECONDS
   */
  public static void main(String[] args) {
    ProbeMain.run(args, ChatLoad::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 10) {
      System.err.println(
          "usage: ChatLoad WORKLOAD IMPL PARAM PORT SERVER_PID CLIENTS SENDERS ROUNDS_PER_S"
              + " WARMUP_S SECONDS");
      return 2;
    }
    String label = args[0] + "\t" + args[1] + "\t" + args[2];
    int port = Integer.parseInt(args[3]);
    long serverPid = Long.parseLong(args[4]);
    int clients = Integer.parseInt(args[5]);
    int senders = Integer.parseInt(args[6]);
    double roundsPerSecond = Double.parseDouble(args[7]);
    double warmup = Double.parseDouble(args[8]);
    double seconds = Double.parseDouble(args[9]);
    if (senders < 1 || senders > clients || clients < 2 || senders > 99_999) {
      System.err.println("ChatLoad: need 2 <= CLIENTS and 1 <= SENDERS <= CLIENTS, 99999");
      return 2;
    }
    ChatLoad load = new ChatLoad(port, clients, senders, roundsPerSecond);
    load.sync();
    load.runFor(warmup);
    long cpuBefore = cpuTicks(serverPid);
    long deliveriesBefore = load.deliveries;
    long start = System.nanoTime();
    load.runFor(seconds);
    long elapsed = System.nanoTime() - start;
    long cpuAfter = cpuTicks(serverPid);
    long deliveries = load.deliveries - deliveriesBefore;
    load.drain();
    double cpuNanos = (cpuAfter - cpuBefore) * 1e9 / USER_HZ;
    print(label, "deliveries", Long.toString(deliveries));
    print(
        label, "deliveries_per_s", String.format(Locale.ROOT, "%.0f", deliveries * 1e9 / elapsed));
    print(label, "cpu_ns_per_delivery", String.format(Locale.ROOT, "%.1f", cpuNanos / deliveries));
    print(label, "lost_or_repeated", "0");
    for (SocketChannel channel : load.clients) channel.close();
    return 0;
  }

  private static void print(String label, String metric, String value) {
    System.out.println("RESULT\t" + label + "\t" + metric + "\t" + value);
  }

  /** Sends and receives rounds for at least {@code seconds}, ending on a completed round. */
  private void runFor(double seconds) throws IOException {
    long now = System.nanoTime();
    long end = now + (long) (seconds * 1e9);
    pacingStart = now - linesSent * linePeriodNanos; // the next line is due now
    sendDue(now);
    while ((now = System.nanoTime()) < end) {
      long wait = canSend() ? dueAt() - now : STALL_NANOS;
      if (wait > 0) receive(wait); // a full window waits for lines, however late the next one
      sendDue(System.nanoTime());
    }
    while (linesSent % senders != 0) { // complete the round in progress
      if (canSend()) sendLine();
      else receive();
    }
    while (roundsDone < roundsSent) receive(); // rounds sent before the deadline all complete
  }

  private void receive() throws IOException {
    receive(STALL_NANOS);
  }

  /** Receives the rounds in flight, sending no more; then every sent line has been checked. */
  private void drain() throws IOException {
    while (roundsDone < roundsSent) receive();
  }

  /** Whether the window lets the next line go: its round is at most WINDOW - 1 ahead. */
  private boolean canSend() {
    return linesSent / senders < roundsDone + WINDOW;
  }

  /** When the next line is due (paced), or now (unpaced). */
  private long dueAt() {
    return linePeriodNanos == 0 ? Long.MIN_VALUE : pacingStart + linesSent * linePeriodNanos;
  }

  /** Sends the lines that are due and that the window allows. */
  private void sendDue(long now) throws IOException {
    while (canSend() && now >= dueAt()) sendLine();
  }

  private void sendLine() throws IOException {
    long round = linesSent / senders;
    int s = (int) (linesSent % senders);
    if (s == 0) {
      deliveredInRound[(int) (round % WINDOW)] = 0;
      roundsSent++;
    }
    linesSent++;
    out.clear().put(line(s, round)).flip();
    while (out.hasRemaining()) {
      if (clients[s].write(out) == 0) Thread.onSpinWait(); // 256 bytes in flight: never full
    }
  }

  /** Line {@code round} of sender {@code s}: "s:round:" padded with dots to 63 bytes, "\n". */
  static byte[] line(int s, long round) {
    byte[] bytes = new byte[LINE_BYTES];
    byte[] head = (s + ":" + round + ":").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, bytes, 0, head.length);
    for (int i = head.length; i < LINE_BYTES - 1; i++) bytes[i] = '.';
    bytes[LINE_BYTES - 1] = '\n';
    return bytes;
  }

  /**
   * Waits up to {@code nanos} for lines (below a millisecond, the Selector's unit, by parking), and
   * checks what arrived. Fails if nothing arrives for 30 s while rounds are in flight.
   */
  private void receive(long nanos) throws IOException {
    int ready;
    if (nanos >= 1_000_000) {
      ready = selector.select((nanos + 999_999) / 1_000_000);
    } else if ((ready = selector.selectNow()) == 0) {
      LockSupport.parkNanos(nanos); // below the Selector's millisecond: the pace needs finer waits
      ready = selector.selectNow();
    }
    if (ready == 0) {
      if (nanos >= STALL_NANOS && roundsDone < roundsSent) {
        throw new IOException("no line for 30 s: rounds done " + roundsDone + " of " + roundsSent);
      }
      return;
    }
    for (SelectionKey key : selector.selectedKeys()) {
      int c = (Integer) key.attachment();
      for (int n; (n = clients[c].read(in.clear())) != 0; ) {
        if (n < 0) throw new IOException("client " + c + ": the server closed the connection");
        in.flip();
        consume(c);
      }
    }
    selector.selectedKeys().clear();
  }

  /** Checks and counts the complete lines in {@code in} for client {@code c}. */
  private void consume(int c) throws IOException {
    byte[] line = partial[c];
    while (in.hasRemaining()) {
      int take = Math.min(in.remaining(), LINE_BYTES - partialBytes[c]);
      in.get(line, partialBytes[c], take);
      partialBytes[c] += take;
      if (partialBytes[c] < LINE_BYTES) return;
      partialBytes[c] = 0;
      check(c, line);
    }
  }

  private void check(int c, byte[] line) throws IOException {
    if (line[0] == 'S') { // a marker of sync()
      if (!synced[c]) {
        synced[c] = true;
        syncedCount++;
      }
      return;
    }
    int colon = indexOf(line, 0);
    int second = indexOf(line, colon + 1);
    int s = parse(line, 0, colon);
    long round = parse(line, colon + 1, second);
    if (line[LINE_BYTES - 1] != '\n' || s == c || s >= senders || round != nextSeq[c][s]) {
      String text = new String(line, StandardCharsets.US_ASCII).strip();
      throw new IOException(
          "client "
              + c
              + " received '"
              + text
              + "', expected line "
              + nextSeq[c][s < senders ? s : 0]
              + " of sender "
              + s
              + ": lost, repeated or out of order");
    }
    nextSeq[c][s]++;
    deliveries++;
    long perRound = (long) senders * (clients.length - 1);
    if (++deliveredInRound[(int) (round % WINDOW)] == perRound) {
      if (round != roundsDone)
        throw new IOException("round " + round + " ended before " + roundsDone);
      roundsDone++;
    }
  }

  private static int indexOf(byte[] line, int from) throws IOException {
    for (int i = from; i < LINE_BYTES; i++) if (line[i] == ':') return i;
    throw new IOException("malformed line: " + new String(line, StandardCharsets.US_ASCII));
  }

  private static int parse(byte[] line, int from, int to) throws IOException {
    int value = 0;
    for (int i = from; i < to; i++) {
      if (line[i] < '0' || line[i] > '9') throw new IOException("malformed line");
      value = value * 10 + line[i] - '0';
    }
    return value;
  }

  /** utime + stime of a process, in clock ticks, from /proc/PID/stat. */
  static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }
}
