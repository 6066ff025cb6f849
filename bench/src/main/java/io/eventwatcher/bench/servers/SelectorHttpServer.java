package io.eventwatcher.bench.servers;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Workload 4's JDK peer: the minimal HTTP/1.1 responder of {@code bench/native/epoll_http.c} on a
 * JDK NIO {@link Selector} ({@code select(Consumer)}), one thread, level-triggered as the JDK's
 * epoll selector is.
 *
 * <p>Every request head (anything up to CRLFCRLF) is answered with the bytes the project's {@code
 * HttpServer} sends for a keep-alive {@code GET /}; the response is rebuilt when the second
 * changes, checked once per loop turn by the first key handled in it. Keep-alive always,
 * pipelining: the heads found after one read are all answered and their responses leave in one
 * write.
 *
 * <p>Buffers: each connection reads into its own direct 8 KiB buffer, where a partial head waits
 * for the rest (a head that does not fit closes the connection); input buffers are pooled and
 * reused when connections close. Responses are built in one direct 64 KiB output buffer shared by
 * all connections (the loop serves one at a time; unlike malloc, allocateDirect zeroes, so 64 KiB
 * per connection would touch 320 MB at 5,000 connections) and written from there. Only if a write
 * cannot complete are the unwritten bytes copied to the connection's own pending buffer (allocated
 * at its first such write, kept for the connection's life); the connection then switches from
 * OP_READ to OP_WRITE, so it stops reading until that buffer is flushed, and memory stays bounded.
 * A readable connection is read once, again only while reads fill the buffer (a short read means
 * the socket was drained). This code allocates nothing per request (the JDK's selector itself boxes
 * fd numbers above 127 to find their keys, see DispatchBenchmark).
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.eventwatcher.bench.servers.SelectorHttpServer PORT}
 * (0 picks a free port). Prints {@code listening on 127.0.0.1:<port>} once accepting; SIGTERM or
 * SIGINT stops it (exit 0); a bind failure exits 1.
 */
public final class SelectorHttpServer {
  private static final int IN_CAPACITY = 8192;
  private static final int OUT_CAPACITY = 65536;
  private static final int MAX_READS = 16;
  private static final int BACKLOG = 4096;

  private final Selector selector;
  private final ServerSocketChannel listener;
  private final ByteBuffer out = ByteBuffer.allocateDirect(OUT_CAPACITY); // loop thread only
  private final ArrayDeque<ByteBuffer> freeInBuffers = new ArrayDeque<>(); // loop thread only
  private final Consumer<SelectionKey> handler = this::handle; // one instance, not one per select
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean running = true;
  private volatile boolean failed; // the loop ended by an exception, not by stop()
  private boolean dateChecked; // in this loop turn
  private long responseSecond = -1;
  private byte[] response;
  private boolean warned;

  private SelectorHttpServer(Selector selector, ServerSocketChannel listener) {
    this.selector = selector;
    this.listener = listener;
  }

  /**
   * Binds {@code 127.0.0.1:port}, prints the listening line and serves on the calling thread until
   * SIGTERM or SIGINT; exits 0 then, 1 if the port cannot be bound, 2 on bad usage.
   *
   * @param args {@code PORT}
   * @throws IOException if the selector fails
   */
  public static void main(String[] args) throws IOException {
    int port = parsePort(args, "SelectorHttpServer");
    Selector selector = Selector.open();
    ServerSocketChannel listener = ServerSocketChannel.open();
    try {
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
    } catch (IOException e) {
      System.err.println(
          "SelectorHttpServer: cannot bind 127.0.0.1:" + port + ": " + e.getMessage());
      System.exit(1);
    }
    listener.configureBlocking(false);
    listener.register(selector, SelectionKey.OP_ACCEPT);
    SelectorHttpServer server = new SelectorHttpServer(selector, listener);
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "shutdown"));
    int boundPort = ((InetSocketAddress) listener.getLocalAddress()).getPort();
    System.out.println("listening on 127.0.0.1:" + boundPort);
    System.out.flush();
    server.serve();
  }

  /**
   * The listening port from {@code args}, or exits 2 with a usage line.
   *
   * @param args the command line: exactly one port, 0 to 65535
   * @param program the name for the usage line
   * @return the port
   */
  static int parsePort(String[] args, String program) {
    try {
      if (args.length == 1) {
        int port = Integer.parseInt(args[0]);
        if (port >= 0 && port <= 65535) return port;
      }
    } catch (NumberFormatException e) {
      // usage below
    }
    System.err.println("usage: " + program + " PORT   (0 picks a free port)");
    System.exit(2);
    return -1;
  }

  /**
   * Shutdown hook: ends the loop, waits (up to 10 s) for it to close the listener and every
   * connection, then halts with status 0, since the JVM would otherwise exit with 128 + the signal
   * number (with 1 instead if the loop had failed: the JVM runs this hook on that exit too). Runs
   * on the JVM's shutdown thread.
   */
  private void stop() {
    running = false;
    selector.wakeup();
    try {
      stopped.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Runtime.getRuntime().halt(failed ? 1 : 0);
  }

  /** The loop, on the calling thread, until {@link #stop()}; then closes everything. */
  private void serve() throws IOException {
    try {
      while (running) {
        dateChecked = false;
        selector.select(handler);
      }
    } catch (IOException | RuntimeException | Error e) {
      failed = true;
      throw e;
    } finally {
      for (SelectionKey key : selector.keys()) {
        try {
          key.channel().close();
        } catch (IOException e) {
          // closing anyway
        }
      }
      selector.close();
      stopped.countDown();
    }
  }

  private void handle(SelectionKey key) {
    if (!key.isValid()) return;
    if (key.attachment() == null) {
      acceptAll();
      return;
    }
    if (!dateChecked) refreshResponse();
    Connection connection = (Connection) key.attachment();
    try {
      if (connection.pending != null && connection.pending.position() > 0) {
        onWritable(key, connection);
      } else if (key.isReadable()) {
        onReadable(key, connection);
      }
    } catch (IOException e) {
      close(key, connection); // reset by peer, broken pipe
    }
  }

  private void acceptAll() {
    for (; ; ) {
      SocketChannel channel = null;
      try {
        channel = listener.accept();
        if (channel == null) return; // backlog empty
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ByteBuffer in = freeInBuffers.poll();
        if (in == null) in = ByteBuffer.allocateDirect(IN_CAPACITY);
        channel.register(selector, SelectionKey.OP_READ, new Connection(channel, in));
      } catch (IOException e) {
        // EMFILE and the like: the listener stays ready, so this is retried next turn.
        if (!warned) System.err.println("SelectorHttpServer: accept: " + e);
        warned = true;
        if (channel == null) return;
        try {
          channel.close();
        } catch (IOException ignored) {
          // already failing
        }
      }
    }
  }

  private void onReadable(SelectionKey key, Connection connection) throws IOException {
    ByteBuffer in = connection.in;
    for (int reads = 0; reads < MAX_READS; reads++) {
      int room = in.remaining();
      int n = connection.channel.read(in);
      if (n == 0) return; // spurious
      if (n < 0) { // EOF
        close(key, connection);
        return;
      }
      if (!serve(key, connection)) return;
      if (n < room) return; // drained
    }
  }

  private void onWritable(SelectionKey key, Connection connection) throws IOException {
    ByteBuffer pending = connection.pending.flip();
    connection.channel.write(pending);
    pending.compact();
    if (pending.position() > 0) return; // still full
    if (serve(key, connection)) key.interestOps(SelectionKey.OP_READ);
  }

  /**
   * Answers and writes every complete head in the connection's input buffer.
   *
   * @return true if the connection may read on; false if it waits for OP_WRITE or was closed
   */
  private boolean serve(SelectionKey key, Connection connection) throws IOException {
    for (; ; ) {
      out.clear();
      boolean full = answer(connection);
      out.flip();
      connection.channel.write(out);
      if (out.hasRemaining()) {
        if (connection.pending == null) {
          connection.pending = ByteBuffer.allocateDirect(OUT_CAPACITY);
        }
        connection.pending.put(out);
        key.interestOps(SelectionKey.OP_WRITE); // stop reading until flushed
        return false;
      }
      if (!full) {
        if (!connection.in.hasRemaining()) break; // a head over 8 KiB
        return true;
      }
    }
    close(key, connection);
    return false;
  }

  /**
   * Appends a response to {@link #out} for every complete head at the front of the connection's
   * input buffer, until none is left (false) or {@code out} is full (true); moves the unanswered
   * bytes to the front.
   */
  private boolean answer(Connection connection) {
    ByteBuffer in = connection.in;
    int length = in.position();
    int start = 0;
    boolean full = false;
    for (; ; ) {
      if (out.remaining() < response.length) {
        full = true;
        break;
      }
      int end = findHeadEnd(in, Math.max(start, connection.scanned - 3), length);
      if (end < 0) {
        connection.scanned = length;
        break;
      }
      out.put(response);
      start = end;
      connection.scanned = start;
    }
    if (start > 0) {
      in.limit(length).position(start);
      in.compact(); // position = the unanswered bytes, limit = capacity
      connection.scanned -= start;
    }
    return full;
  }

  /**
   * The index just past the first CRLFCRLF in {@code in[from, to)}, or -1. Horspool on the last
   * byte of the pattern: a byte that is neither CR nor LF skips four.
   */
  private static int findHeadEnd(ByteBuffer in, int from, int to) {
    int i = from + 3;
    while (i < to) {
      byte b = in.get(i);
      if (b == '\n') {
        if (in.get(i - 1) == '\r' && in.get(i - 2) == '\n' && in.get(i - 3) == '\r') return i + 1;
        i += 2; // the LF could be the pattern's first one
      } else if (b == '\r') {
        i += 1;
      } else {
        i += 4;
      }
    }
    return -1;
  }

  private void close(SelectionKey key, Connection connection) {
    key.cancel();
    try {
      connection.channel.close();
    } catch (IOException e) {
      // gone either way
    }
    connection.in.clear();
    freeInBuffers.push(connection.in);
  }

  /** Rebuilds the response when the wall-clock second has changed. Loop thread. */
  private void refreshResponse() {
    dateChecked = true;
    long now = System.currentTimeMillis() / 1000;
    if (now == responseSecond) return;
    responseSecond = now;
    response = responseBytes(now);
  }

  /**
   * The project's HttpServer response to a keep-alive {@code GET /}, dated {@code epochSecond}.
   *
   * @param epochSecond the Date header's time, in seconds since the epoch
   * @return the response bytes
   */
  static byte[] responseBytes(long epochSecond) {
    String date =
        DateTimeFormatter.RFC_1123_DATE_TIME.format(
            Instant.ofEpochSecond(epochSecond).atOffset(ZoneOffset.UTC));
    String body = "Hello from eventwatcher\n";
    String response =
        "HTTP/1.1 200 OK\r\nDate: "
            + date
            + "\r\nServer: eventwatcher\r\n"
            + "Content-Type: text/plain\r\nContent-Length: "
            + body.length()
            + "\r\n\r\n"
            + body;
    return response.getBytes(StandardCharsets.US_ASCII);
  }

  /** One accepted connection's state. Loop thread only. */
  private static final class Connection {
    final SocketChannel channel;
    final ByteBuffer in; // write mode: [0, position) holds unanswered bytes
    ByteBuffer pending; // write mode: [0, position) waits to be written; null until needed
    int scanned; // in[0, scanned) was searched: no head ends inside it

    Connection(SocketChannel channel, ByteBuffer in) {
      this.channel = channel;
      this.in = in;
    }
  }
}
