package io.eventwatcher.bench.servers;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ByteProcessor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Workload 4's Netty peer: the minimal HTTP/1.1 responder of {@code bench/native/epoll_http.c} on
 * Netty's native epoll transport, by default with one event loop thread that both accepts and
 * serves, like the other servers. With {@code THREADS} above 1 it runs an {@code
 * EpollEventLoopGroup} of that many threads in Netty's usual way: the listener on one of them,
 * which hands each accepted connection round-robin to the group's loops (a task on the receiving
 * loop), the design the project's {@code http --threads} did not take. Netty's defaults otherwise:
 * its edge-triggered epoll mode (which still reads once per request, as the others do: Netty stops
 * reading at a short read) and pooled direct buffers.
 *
 * <p>Hand-written to the same bytes as the project's {@code HttpServer} (no HTTP codec): every
 * request head (anything up to CRLFCRLF, found by a small state machine that carries a partial head
 * from one read to the next) is answered with the cached response, a pooled direct buffer written
 * as a {@code retainedDuplicate()} (recycled by Netty, so nothing is allocated per request); all
 * the responses of one read burst are flushed once, in {@code channelReadComplete} (one writev).
 * The response is rebuilt when the second changes, checked once per {@code channelRead} (Netty has
 * no per-turn hook). Keep-alive always; EOF or an error closes the connection, as does a head over
 * 8 KiB. Backpressure: when the channel's outbound buffer passes Netty's high water mark (64 KiB),
 * auto-read is turned off until it drains below the low one, so a client that does not read stops
 * being read.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.eventwatcher.bench.servers.NettyHttpServer PORT
 * [THREADS]} (0 picks a free port; THREADS defaults to 1). Prints {@code listening on
 * 127.0.0.1:<port>} once accepting; SIGTERM or SIGINT stops it (exit 0); a bind failure exits 1.
 */
public final class NettyHttpServer {
  private static final int MAX_HEAD_BYTES = 8192;
  private static final int BACKLOG = 4096;

  private NettyHttpServer() {}

  /**
   * Binds {@code 127.0.0.1:port}, prints the listening line and serves on the event loop threads
   * until SIGTERM or SIGINT; exits 0 then, 1 if the port cannot be bound, 2 on bad usage.
   *
   * @param args {@code PORT [THREADS]}
   * @throws InterruptedException if interrupted while waiting for the server to close
   */
  public static void main(String[] args) throws InterruptedException {
    int threads = args.length == 2 ? parseThreads(args[1]) : 1;
    int port =
        SelectorHttpServer.parsePort(
            args.length == 2 ? new String[] {args[0]} : args, "NettyHttpServer");
    EpollEventLoopGroup group = new EpollEventLoopGroup(threads);
    Map<EventLoop, ResponseCache> caches = new ConcurrentHashMap<>(); // one per loop
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(group, group)
            .channel(EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, BACKLOG)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    // Runs on the connection's own loop; each loop has its own cache.
                    ResponseCache responses =
                        caches.computeIfAbsent(channel.eventLoop(), loop -> new ResponseCache());
                    channel.pipeline().addLast(new Responder(responses));
                  }
                });
    Channel listener;
    try {
      listener = bootstrap.bind(InetAddress.getLoopbackAddress(), port).sync().channel();
    } catch (Exception e) { // Netty rethrows the bind error (a NativeIoException) unchecked
      System.err.println("NettyHttpServer: cannot bind 127.0.0.1:" + port + ": " + e.getMessage());
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(listener, group), "shutdown"));
    int boundPort = ((InetSocketAddress) listener.localAddress()).getPort();
    System.out.println("listening on 127.0.0.1:" + boundPort);
    System.out.flush();
    listener.closeFuture().sync();
  }

  private static int parseThreads(String text) {
    try {
      int threads = Integer.parseInt(text);
      if (threads >= 1) return threads;
    } catch (NumberFormatException e) {
      // usage below
    }
    System.err.println("usage: NettyHttpServer PORT [THREADS]   (THREADS >= 1)");
    System.exit(2);
    return -1;
  }

  /**
   * Shutdown hook: closes the listener, shuts the event loop down at once (closing every
   * connection), then halts with status 0, since the JVM would otherwise exit with 128 + the signal
   * number. Runs on the JVM's shutdown thread.
   */
  private static void stop(Channel listener, EpollEventLoopGroup group) {
    listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    Runtime.getRuntime().halt(0);
  }

  /**
   * The cached response, a pooled direct buffer rebuilt when the second changes. One per event
   * loop; its loop's thread only.
   */
  private static final class ResponseCache {
    private ByteBuf response;
    private long nextSecondMillis;

    /** The response for now; callers write a {@code retainedDuplicate()} of it. */
    ByteBuf current(ByteBufAllocator allocator) {
      long now = System.currentTimeMillis();
      if (now >= nextSecondMillis) {
        long second = now / 1000;
        nextSecondMillis = (second + 1) * 1000;
        byte[] bytes = SelectorHttpServer.responseBytes(second);
        ByteBuf fresh = allocator.directBuffer(bytes.length).writeBytes(bytes);
        if (response != null) response.release(); // duplicates in flight hold their own reference
        response = fresh;
      }
      return response;
    }
  }

  /**
   * One connection's handler: finds request heads in whatever the reads bring and answers each.
   * Event loop thread only.
   */
  private static final class Responder extends ChannelInboundHandlerAdapter
      implements ByteProcessor {
    private final ResponseCache responses;
    private int matched; // bytes of CRLFCRLF matched at the end of the input seen so far
    private int headBytes; // bytes of the current (incomplete) head seen so far
    private boolean wrote; // since the last flush

    Responder(ResponseCache responses) {
      this.responses = responses;
    }

    /** Answers every head that ends in {@code msg} (released here); flushes nothing yet. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        int index = in.readerIndex();
        int end = in.writerIndex();
        ByteBuf response = null;
        while (index < end) {
          int found = in.forEachByte(index, end - index, this); // stops just after each head
          if (found < 0) {
            headBytes += end - index;
            break;
          }
          if (response == null) response = responses.current(ctx.alloc());
          ctx.write(response.retainedDuplicate(), ctx.voidPromise());
          wrote = true;
          headBytes = 0;
          index = found + 1;
        }
      } finally {
        in.release();
      }
      if (headBytes >= MAX_HEAD_BYTES) ctx.close(); // a head over 8 KiB, as the C server counts
    }

    /** The CRLFCRLF state machine: returns false on the head's last byte. */
    @Override
    public boolean process(byte b) {
      if (b == ((matched & 1) == 0 ? '\r' : '\n')) {
        if (++matched < 4) return true;
        matched = 0;
        return false;
      }
      matched = b == '\r' ? 1 : 0;
      return true;
    }

    /** Flushes what this read burst answered, in one writev; stops reading if over the mark. */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (wrote) {
        wrote = false;
        ctx.flush();
        // Past the high water mark: stop reading until the client takes its responses.
        if (!ctx.channel().isWritable()) ctx.channel().config().setAutoRead(false);
      }
    }

    /** Resumes reading once the outbound buffer has drained below the low water mark. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) ctx.channel().config().setAutoRead(true);
    }

    /** Closes the connection on any error. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // reset by peer and the like: nothing to answer
    }
  }
}
