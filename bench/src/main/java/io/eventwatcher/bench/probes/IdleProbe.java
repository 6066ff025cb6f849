package io.eventwatcher.bench.probes;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import io.eventwatcher.bench.Loops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.channels.Pipe;
import java.nio.channels.SelectionKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * What an idle loop costs: a loop with one watched, never-ready fd, left alone for SECONDS.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar \
 *     io.eventwatcher.bench.probes.IdleProbe IMPL SECONDS
 * </pre>
 *
 * <p>IMPL is {@code java-api} (an EventWatcher watching the read end of an empty pipe for READ),
 * {@code jdk-selector} (a thread in {@code Selector.select()} with the source end of an empty
 * {@code Pipe.open()} registered for OP_READ) or {@code netty-epoll} (an {@code
 * EpollEventLoopGroup(1)} with a server socket bound to 127.0.0.1 that nobody connects to). No JVM
 * flag is needed; use the same ones for every IMPL. Prints, on stdout:
 *
 * <pre>
 * RESULT	idle	IMPL	SECONDS	loop_wakeups	N
 * RESULT	idle	IMPL	SECONDS	loop_cpu_ms	MS
 * RESULT	idle	IMPL	SECONDS	process_cpu_ms	MS
 * </pre>
 *
 * <ul>
 *   <li>loop_wakeups: the loop thread's context switches (voluntary + involuntary, from
 *       /proc/self/task/TID/status) during the window: each time it left the CPU, so each wakeup of
 *       a thread that otherwise sleeps. The tid is read by the loop thread itself, from a task
 *       ({@code /proc/thread-self}).
 *   <li>loop_cpu_ms: the loop thread's CPU time in the window ({@code ThreadMXBean}, ns
 *       resolution).
 *   <li>process_cpu_ms: the whole JVM's CPU time in the window, so including the JVM's own periodic
 *       threads, which are the same for the three Java peers.
 * </ul>
 *
 * <p>The window starts after the loop has run one task from this thread and one more second has
 * passed, so start-up work (class loading, JIT) is over. Exits 0 on success, 2 on bad arguments, 1
 * on any other failure.
 */
public final class IdleProbe {
  private IdleProbe() {}

  /**
   * Runs the probe; see the class comment.
   *
   * @param args IMPL SECONDS
   */
  public static void main(String[] args) {
    ProbeMain.run(args, IdleProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 2 || !args[1].matches("[1-9][0-9]*")) {
      System.err.println("usage: IdleProbe java-api|jdk-selector|netty-epoll SECONDS");
      return 2;
    }
    String impl = args[0];
    int seconds = Integer.parseInt(args[1]);
    switch (impl) {
      case "java-api" -> javaApi(seconds);
      case "jdk-selector" -> jdkSelector(seconds);
      case "netty-epoll" -> netty(seconds);
      default -> {
        System.err.println("usage: IdleProbe java-api|jdk-selector|netty-epoll SECONDS");
        return 2;
      }
    }
    return 0;
  }

  private static void javaApi(int seconds) throws Exception {
    int[] pipe = NativeIO.pipe();
    try (EventWatcher watcher =
        EventWatcher.builder().threadName("idle-loop").daemon(true).build()) {
      watcher.watch(pipe[0], WatchFlag.READ, fd -> {});
      measure("java-api", seconds, watcher::runInEventWatcherLoop);
      watcher.unwatch(pipe[0], WatchFlag.READ);
    } finally {
      NativeIO.close(pipe[0]);
      NativeIO.close(pipe[1]);
    }
  }

  private static void jdkSelector(int seconds) throws Exception {
    Pipe pipe = Pipe.open();
    pipe.source().configureBlocking(false);
    try (Loops.SelectorLoop loop = new Loops.SelectorLoop("idle-selector")) {
      // Registered on the loop thread; the select that follows adds it to epoll.
      Loops.call(loop, () -> pipe.source().register(loop.selector(), SelectionKey.OP_READ));
      measure("jdk-selector", seconds, loop);
    } finally {
      pipe.source().close();
      pipe.sink().close();
    }
  }

  private static void netty(int seconds) throws Exception {
    EpollEventLoopGroup group = Loops.newNettyGroup("idle-netty");
    try {
      Channel server =
          new ServerBootstrap()
              .group(group)
              .channel(EpollServerSocketChannel.class)
              .childHandler(new ChannelInboundHandlerAdapter())
              .bind(new InetSocketAddress("127.0.0.1", 0))
              .sync()
              .channel();
      measure("netty-epoll", seconds, group.next());
      server.close().sync();
    } finally {
      group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** Finds the loop thread, lets it settle, measures the window and prints the results. */
  private static void measure(String impl, int seconds, Executor loop) throws Exception {
    // A round trip: the loop thread names itself, and the loop has certainly processed every
    // registration made before.
    long[] ids =
        Loops.call(loop, () -> new long[] {Loops.currentTid(), Thread.currentThread().getId()});
    Path status = Path.of("/proc/self/task/" + ids[0] + "/status");
    long javaId = ids[1];
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class);
    Thread.sleep(1000);

    long switches0 = contextSwitches(status);
    long loopCpu0 = threads.getThreadCpuTime(javaId);
    long processCpu0 = os.getProcessCpuTime();
    Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
    long switches1 = contextSwitches(status);
    long loopCpu1 = threads.getThreadCpuTime(javaId);
    long processCpu1 = os.getProcessCpuTime();

    if (loopCpu0 < 0 || loopCpu1 < 0 || processCpu0 < 0 || processCpu1 < 0) {
      throw new IOException(
          "CPU time unavailable (thread CPU time disabled, or the loop thread ended)");
    }
    if (!Files.exists(status)) throw new IOException("the loop thread ended during the window");
    print(impl, seconds, "loop_wakeups", Long.toString(switches1 - switches0));
    print(impl, seconds, "loop_cpu_ms", millis(loopCpu1 - loopCpu0));
    print(impl, seconds, "process_cpu_ms", millis(processCpu1 - processCpu0));
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
  }

  private static long contextSwitches(Path status) throws IOException {
    return Loops.procStatus(status, "voluntary_ctxt_switches")
        + Loops.procStatus(status, "nonvoluntary_ctxt_switches");
  }

  private static void print(String impl, int seconds, String metric, String value) {
    System.out.printf("RESULT\tidle\t%s\t%d\t%s\t%s%n", impl, seconds, metric, value);
  }
}
