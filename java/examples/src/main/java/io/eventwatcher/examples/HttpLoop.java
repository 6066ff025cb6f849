package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.FileDescriptors;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

/**
 * One loop of {@link HttpServer}: its listener and its connections, all on one {@link
 * io.eventwatcher.EventWatcher} loop thread of the server's group. An HTTP/1.1 server: keep-alive,
 * pipelining, {@code GET /} (a short text), {@code GET /stats} (live counters as JSON), 404 for
 * other paths, 400 for a malformed request, 405 for methods other than GET and HEAD, 431 for a
 * header block over the limit; {@code Connection: close} honoured. Requests with a body are refused
 * (400).
 *
 * <p>It defends itself against clients that hold connections without using them. A request head
 * must be complete within {@code headerTimeout} of the connection's start or of its first byte,
 * else the client gets 408 and the connection closes (slowloris: heads sent a byte at a time); a
 * keep-alive connection with no request for {@code idleTimeout} is closed; pending output that
 * makes no progress for {@code writeTimeout} (a client that stopped reading) closes the connection.
 * Beyond {@code maxConnections} open connections a new one gets 503 and is closed. The timeouts
 * cost the request path no timer: see {@link TimeoutQueue}.
 *
 * <p>Requests are parsed in place in each connection's direct inbound buffer and answered by
 * copying prepared bytes, so a steady stream of {@code GET /} allocates nothing per request.
 * Pipelining falls out of the structure: every complete request head in the buffer is answered, in
 * order, into the connection's {@link Outbound} buffer, which is flushed once.
 */
final class HttpLoop extends TcpServer {
  private static final int MAX_READS_PER_CALL = 16;
  private static final int FLUSH_THRESHOLD = 64 * 1024;
  private static final byte[] HELLO =
      "Hello from eventwatcher\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpServer.Config config;
  private final HttpServer.Stats stats;
  private final int loopCount; // the server's loops, for /stats
  // Loop thread only:
  private final Set<Connection> connections = new HashSet<>(); // removal in constant time
  private final ResponseCache responses = new ResponseCache();
  // Each open connection is in one of these, by its state: no request answered yet or part of a
  // head received; nothing received since the last answer; output pending.
  private final TimeoutQueue<Connection> awaitingHead;
  private final TimeoutQueue<Connection> idle;
  private final TimeoutQueue<Connection> draining;
  private final ByteBuffer refusalInput = ByteBuffer.allocateDirect(4096);

  /**
   * Serves {@code listener} on {@code watcher}; {@code stats} are the server's, shared by its
   * loops. Accepting starts with {@link #listen()}.
   */
  HttpLoop(
      HttpServer.Config config,
      HttpServer.Stats stats,
      int loopCount,
      ServerSocketChannel listener,
      EventWatcher watcher)
      throws IOException {
    super(listener, watcher, config.maxConnections, stats);
    this.config = config;
    this.stats = stats;
    this.loopCount = loopCount;
    awaitingHead = new TimeoutQueue<>(config.headerTimeout, this::headerTimedOut);
    idle = new TimeoutQueue<>(config.idleTimeout, this::idleTimedOut);
    draining = new TimeoutQueue<>(config.writeTimeout, this::writeTimedOut);
  }

  // ---- loop thread ----

  @Override
  protected void accepted(SocketChannel channel) throws IOException {
    Connection connection = new Connection(channel);
    watcher.watch(connection.fd, WatchFlag.READ, fd -> onReadable(connection));
    connections.add(connection);
    awaitingHead.enter(connection);
  }

  /**
   * Answers 503 to a connection over the limit, best effort: one non-blocking write, which a new
   * socket's empty send buffer takes whole. What the client already sent is read first: a close
   * with unread bytes sends a reset, which can destroy the response in the client's buffers.
   */
  @Override
  protected void refuse(SocketChannel channel) throws IOException {
    int fd = FileDescriptors.fd(channel);
    NativeIO.read(fd, refusalInput.clear());
    NativeIO.write(fd, response(503, "Service Unavailable\n", false, false, "text/plain"));
  }

  @Override
  protected void closeConnections() {
    for (Connection connection : new ArrayList<>(connections)) close(connection);
  }

  private void onReadable(Connection connection) {
    try {
      // Read until a short read or EAGAIN (0), answering every complete request as it arrives. A
      // read that did not fill the buffer took all the socket had, so reading again would only
      // cost a syscall returning EAGAIN; anything arriving later makes the fd ready again, and
      // level-triggered, this is called again next turn. The cap keeps one busy client from
      // holding the loop thread.
      for (int reads = 0; reads < MAX_READS_PER_CALL; reads++) {
        int room = connection.in.remaining();
        int n = NativeIO.read(connection.fd, connection.in);
        if (n > 0) stats.bytesIn.add(n);
        if (n < 0) { // EOF: the client is done sending; finish what it asked, then close
          connection.closeWhenFlushed = true;
          break;
        }
        answerRequests(connection);
        // A deep pipeline: send what is ready before the queue reaches its limit.
        if (connection.out.pending() >= FLUSH_THRESHOLD) connection.out.flush();
        if (connection.closeWhenFlushed
            || (n == 0 && connection.in.hasRemaining())
            || (n > 0 && n < room)) {
          break;
        }
      }
      // Everything answered in this call goes out in one write (100 pipelined requests: one
      // syscall).
      int written = connection.out.flush();
      if (connection.closeWhenFlushed) finish(connection);
      updateTimeout(connection, written > 0);
    } catch (IOException e) {
      close(connection); // reset by peer, broken pipe: nothing to answer
    }
  }

  /**
   * Puts the connection under the timeout its state calls for: write while output is pending, head
   * while no request was answered yet or part of the next head is in, idle otherwise. A connection
   * already under that timeout keeps its start time unless there is progress: a request answered
   * (the head in progress, or the idle wait, starts anew) or bytes written.
   */
  private void updateTimeout(Connection connection, boolean wrote) {
    if (connection.closed) return;
    boolean progress = wrote || connection.answered;
    connection.answered = false;
    TimeoutQueue<Connection> due;
    if (connection.out.pending() > 0) {
      due = draining;
    } else if (connection.in.position() > 0 || !connection.answeredOnce) {
      due = awaitingHead;
    } else {
      due = idle;
    }
    if (progress) {
      due.enter(connection);
    } else {
      due.join(connection);
    }
  }

  @Override
  protected long tickPeriodNanos() {
    return tickPeriodFor(config.headerTimeout, config.idleTimeout, config.writeTimeout);
  }

  @Override
  protected void tick(long now) {
    awaitingHead.expire(now);
    idle.expire(now);
    draining.expire(now);
  }

  private void headerTimedOut(Connection connection) {
    stats.headerTimeouts.incrementAndGet();
    try {
      respond(connection, 408, "Request Timeout", false);
      connection.out.flush();
      finish(connection);
      updateTimeout(connection, true); // output left: the write timeout takes over
    } catch (IOException e) {
      close(connection);
    }
  }

  private void idleTimedOut(Connection connection) {
    stats.idleTimeouts.incrementAndGet();
    close(connection);
  }

  private void writeTimedOut(Connection connection) {
    stats.writeTimeouts.incrementAndGet();
    close(connection);
  }

  /**
   * The connection is closing: close now if everything is sent, else stop reading and let the WRITE
   * path finish. Reading must stop: at EOF, or with bytes we will never read, the fd stays readable
   * and level-triggered READ interest would call us on every turn (a busy loop).
   */
  private void finish(Connection connection) throws IOException {
    if (connection.out.pending() == 0) {
      close(connection);
    } else if (!connection.readStopped) {
      connection.readStopped = true;
      watcher.unwatch(connection.fd, WatchFlag.READ);
    }
  }

  private void onWritable(Connection connection) {
    try {
      int written = connection.out.flush();
      if (connection.closeWhenFlushed && connection.out.pending() == 0) close(connection);
      updateTimeout(connection, written > 0);
    } catch (IOException e) {
      close(connection);
    }
  }

  /** Answers every complete request head in the inbound buffer, in order (pipelining). */
  private void answerRequests(Connection connection) throws IOException {
    ByteBuffer in = connection.in;
    int start = 0;
    while (!connection.closeWhenFlushed) {
      int end = RequestHead.find(in, start, connection.scanned);
      if (end < 0) {
        connection.scanned = in.position(); // searched up to here: the next find resumes there
        break;
      }
      answer(connection, in, start, end);
      start = end;
      connection.scanned = start;
    }
    if (connection.closeWhenFlushed) return; // anything after the last answered request is ignored
    // Keep the partial head at the front for the next read.
    int partial = in.position() - start;
    if (start > 0) in.limit(in.position()).position(start).compact();
    connection.scanned = Math.max(0, connection.scanned - start);
    if (partial >= config.maxHeaderBytes) {
      respond(connection, 431, "Request Header Fields Too Large", false);
    }
  }

  private void answer(Connection connection, ByteBuffer in, int start, int end) throws IOException {
    stats.requests.increment();
    connection.answered = true;
    connection.answeredOnce = true;
    RequestHead head = connection.head;
    if (!head.parse(in, start, end)) {
      respond(connection, 400, "Bad Request", false);
    } else if (!head.isGet && !head.isHead) {
      respond(connection, 405, "Method Not Allowed", false);
    } else if (head.hasBody) {
      respond(connection, 400, "Bad Request", false); // bodies are not supported: cannot resync
    } else if (head.pathIs(in, "/")) {
      connection.out(connection.hello(head.keepAlive, head.isHead));
      if (!head.keepAlive) connection.closeWhenFlushed = true;
    } else if (head.pathIs(in, "/stats")) {
      respond(connection, 200, statsJson(), head.keepAlive, head.isHead, "application/json");
    } else {
      respond(connection, 404, "Not Found", head.keepAlive);
    }
  }

  private void respond(Connection connection, int status, String reason, boolean keepAlive)
      throws IOException {
    respond(connection, status, reason + "\n", keepAlive, false, "text/plain");
  }

  private void respond(
      Connection connection,
      int status,
      String body,
      boolean keepAlive,
      boolean headOnly,
      String type)
      throws IOException {
    connection.out(response(status, body, keepAlive, headOnly, type));
    if (!keepAlive) connection.closeWhenFlushed = true;
  }

  /** A response with a body from {@code body}, in a new direct buffer ready to be written. */
  private ByteBuffer response(
      int status, String body, boolean keepAlive, boolean headOnly, String type) {
    String reason =
        switch (status) {
          case 200 -> "OK";
          case 400 -> "Bad Request";
          case 404 -> "Not Found";
          case 405 -> "Method Not Allowed";
          case 408 -> "Request Timeout";
          case 503 -> "Service Unavailable";
          case 431 -> "Request Header Fields Too Large";
          default -> "Error";
        };
    byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
    StringBuilder head =
        new StringBuilder(160)
            .append("HTTP/1.1 ")
            .append(status)
            .append(' ')
            .append(reason)
            .append("\r\n")
            .append("Date: ")
            .append(responses.date())
            .append("\r\n")
            .append("Server: eventwatcher\r\n")
            .append("Content-Type: ")
            .append(type)
            .append("\r\n")
            .append("Content-Length: ")
            .append(bodyBytes.length)
            .append("\r\n");
    if (status == 405) head.append("Allow: GET, HEAD\r\n");
    if (!keepAlive) head.append("Connection: close\r\n");
    head.append("\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
    ByteBuffer response =
        ByteBuffer.allocateDirect(headBytes.length + (headOnly ? 0 : bodyBytes.length));
    response.put(headBytes);
    if (!headOnly) response.put(bodyBytes);
    return response.flip();
  }

  private String statsJson() {
    return "{\"connections\":"
        + stats.connections.get()
        + ",\"open_connections\":"
        + stats.openConnections.get()
        + ",\"requests\":"
        + stats.requests.get()
        + ",\"bytes_in\":"
        + stats.bytesIn.get()
        + ",\"bytes_out\":"
        + stats.bytesOut.get()
        + ",\"header_timeouts\":"
        + stats.headerTimeouts.get()
        + ",\"idle_timeouts\":"
        + stats.idleTimeouts.get()
        + ",\"write_timeouts\":"
        + stats.writeTimeouts.get()
        + ",\"refused\":"
        + stats.refused.get()
        + ",\"accept_failures\":"
        + stats.acceptFailures.get()
        + ",\"accept_pauses\":"
        + stats.acceptPauses.get()
        + ",\"loops\":"
        + loopCount
        + "}\n";
  }

  private void close(Connection connection) {
    if (connection.closed) return;
    connection.closed = true;
    connections.remove(connection);
    connection.leaveQueue();
    try {
      release(connection.fd, connection.channel);
    } catch (IOException | RuntimeException e) { // closed anyway; a shut-down watcher refuses
      log("closing connection " + connection.fd + ": " + e);
    }
  }

  @Override
  protected void log(String message) {
    HttpServer.log(config, message);
  }

  /** The prepared {@code GET /} responses, rebuilt when the second (and so the Date) changes. */
  private static final class ResponseCache {
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME;
    private long second = -1;
    int version; // bumped on each rebuild; connections re-point their views when it changes
    String date;
    ByteBuffer keepAlive;
    ByteBuffer close;

    String date() {
      refresh();
      return date;
    }

    void refresh() {
      long now = System.currentTimeMillis() / 1000;
      if (now == second) return;
      second = now;
      date = DATE.format(ZonedDateTime.now(ZoneOffset.UTC));
      keepAlive = build(false);
      close = build(true);
      version++;
    }

    private ByteBuffer build(boolean closing) {
      String head =
          "HTTP/1.1 200 OK\r\nDate: "
              + date
              + "\r\nServer: eventwatcher\r\n"
              + "Content-Type: text/plain\r\nContent-Length: "
              + HELLO.length
              + "\r\n"
              + (closing ? "Connection: close\r\n" : "")
              + "\r\n";
      byte[] bytes = head.getBytes(StandardCharsets.US_ASCII);
      return ByteBuffer.allocateDirect(bytes.length + HELLO.length).put(bytes).put(HELLO).flip();
    }
  }

  private final class Connection extends TimeoutQueue.Entry<Connection> {
    final SocketChannel channel;
    final int fd;
    final ByteBuffer in = ByteBuffer.allocateDirect(config.maxHeaderBytes);
    final Outbound out;
    final RequestHead head = new RequestHead();
    // Views of the prepared responses: positions are per connection, bytes are shared.
    ByteBuffer helloKeepAlive;
    ByteBuffer helloClose;
    int helloVersion = -1;
    int scanned; // bytes at the front of `in` already searched for the end of a head
    boolean answered; // a request was answered since the last updateTimeout
    boolean answeredOnce; // a request was answered on this connection
    boolean closeWhenFlushed;
    boolean readStopped; // READ unwatched while the last responses drain
    boolean closed;

    Connection(SocketChannel channel) throws IOException {
      this.channel = channel;
      this.fd = FileDescriptors.fd(channel);
      this.out = new Outbound(watcher, fd, config.maxPendingBytes, ignored -> onWritable(this));
    }

    /** The prepared {@code GET /} response, without allocating except once per second. */
    ByteBuffer hello(boolean keepAlive, boolean headOnly) {
      responses.refresh();
      if (helloVersion != responses.version) {
        helloKeepAlive = responses.keepAlive.duplicate();
        helloClose = responses.close.duplicate();
        helloVersion = responses.version;
      }
      ByteBuffer view = (keepAlive ? helloKeepAlive : helloClose).clear();
      if (headOnly) view.limit(view.capacity() - HELLO.length);
      return view;
    }

    void out(ByteBuffer response) throws IOException {
      int length = response.remaining();
      if (!out.queue(response)) {
        close(this); // a client pipelining without reading: drop it
        throw new IOException("too many unread responses");
      }
      stats.bytesOut.add(length);
    }
  }
}
