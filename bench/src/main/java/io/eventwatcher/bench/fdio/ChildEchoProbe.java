package io.eventwatcher.bench.fdio;

import com.zaxxer.nuprocess.NuAbstractProcessHandler;
import com.zaxxer.nuprocess.NuProcess;
import com.zaxxer.nuprocess.NuProcessBuilder;
import io.eventwatcher.Subprocess;
import io.eventwatcher.bench.probes.ProbeMain;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * CHILDREN concurrent {@code cat} children, each sent BYTES on stdin and echoing them on stdout:
 * the wall time until every child has exited with its output read and checked, the JVM's CPU, and
 * the most OS threads the JVM had at once.
 *
 * <pre>
 * java ChildEchoProbe IMPL CHILDREN BYTES
 *   subprocess      Subprocess (pidfd exit watch on the shared loop), a virtual thread per stream
 *   processbuilder  ProcessBuilder, a platform thread per stream (plus the JDK's reaper threads)
 *   nuprocess       NuProcess (com.zaxxer:nuprocess: its own epoll threads, callbacks)
 * RESULT	child-echo	IMPL	CHILDREN	wall_ms	MS    (from the first start to the last echo checked)
 * RESULT	child-echo	IMPL	CHILDREN	start_ms	MS   (starting all children)
 * RESULT	child-echo	IMPL	CHILDREN	cpu_ms	MS
 * RESULT	child-echo	IMPL	CHILDREN	peak_threads	N
 * </pre>
 */
public final class ChildEchoProbe {
  private static final int CHUNK = 64 * 1024;
  // Every child is started first; its streams' threads wait here, so that all of them run at once.
  private static final CountDownLatch GO = new CountDownLatch(1);
  private static final List<NuProcess> NU_PROCESSES = new ArrayList<>();

  public static void main(String[] args) {
    ProbeMain.run(args, ChildEchoProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println(
          "usage: ChildEchoProbe subprocess|processbuilder|nuprocess CHILDREN BYTES");
      return 2;
    }
    String impl = args[0];
    int children = Integer.parseInt(args[1]);
    byte[] data = new byte[Integer.parseInt(args[2])];
    new Random(42).nextBytes(data);
    long expected = checksum(data, 0, data.length, 0);
    double cpuBefore = Threads.processCpuMs();
    long start = System.nanoTime();
    @SuppressWarnings("unchecked")
    CompletableFuture<Long>[] echoed = new CompletableFuture[children];
    for (int i = 0; i < children; i++) {
      echoed[i] =
          switch (impl) {
            case "subprocess" -> subprocess(data);
            case "processbuilder" -> processBuilder(data);
            case "nuprocess" -> nuProcess(data);
            default -> throw new IllegalArgumentException("unknown implementation " + impl);
          };
    }
    double startMs = (System.nanoTime() - start) / 1e6;
    GO.countDown();
    for (NuProcess process : NU_PROCESSES) process.wantWrite();
    for (int i = 0; i < children; i++) {
      long sum = echoed[i].get(300, TimeUnit.SECONDS);
      if (sum != expected)
        throw new IllegalStateException("child " + i + " echoed a different stream");
    }
    double wallMs = (System.nanoTime() - start) / 1e6;
    double cpuMs = Threads.processCpuMs() - cpuBefore;
    report(impl, children, "wall_ms", wallMs);
    report(impl, children, "start_ms", startMs);
    report(impl, children, "cpu_ms", cpuMs);
    report(impl, children, "peak_threads", Threads.peakPlatformThreads());
    return 0;
  }

  private static void report(String impl, int children, String metric, double value) {
    System.out.printf("RESULT\tchild-echo\t%s\t%d\t%s\t%.0f%n", impl, children, metric, value);
  }

  /** A running checksum that also covers the length and the order of the bytes. */
  private static long checksum(byte[] bytes, int offset, int length, long sum) {
    for (int i = offset; i < offset + length; i++) sum = sum * 31 + bytes[i];
    return sum;
  }

  private static CompletableFuture<Long> subprocess(byte[] data) throws IOException {
    Subprocess child =
        Subprocess.start(new ProcessBuilder("cat").redirectError(ProcessBuilder.Redirect.DISCARD));
    Threads.virtual(() -> feed(Channels.newOutputStream(child.stdin()), data));
    return drain(Channels.newInputStream(child.stdout()), child.onExit(), true);
  }

  private static CompletableFuture<Long> processBuilder(byte[] data) throws IOException {
    Process child =
        new ProcessBuilder("cat").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Threads.platform(() -> feed(child.getOutputStream(), data));
    return drain(child.getInputStream(), child.onExit(), false);
  }

  private static void feed(OutputStream stdin, byte[] data) {
    awaitGo();
    try (stdin) {
      for (int at = 0; at < data.length; at += CHUNK)
        stdin.write(data, at, Math.min(CHUNK, data.length - at));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads stdout to its end on a new thread; completes with its checksum once the child exited. */
  private static CompletableFuture<Long> drain(
      InputStream stdout, CompletableFuture<?> exit, boolean virtual) {
    CompletableFuture<Long> sum = new CompletableFuture<>();
    Runnable reader =
        () -> {
          awaitGo();
          byte[] buffer = new byte[CHUNK];
          long running = 0;
          try (stdout) {
            for (int n; (n = stdout.read(buffer)) > 0; ) running = checksum(buffer, 0, n, running);
            exit.get();
            sum.complete(running);
          } catch (Throwable e) {
            sum.completeExceptionally(e);
          }
        };
    if (virtual) {
      Threads.virtual(reader);
    } else {
      Threads.platform(reader);
    }
    return sum;
  }

  private static CompletableFuture<Long> nuProcess(byte[] data) {
    CompletableFuture<Long> sum = new CompletableFuture<>();
    NuProcessBuilder builder = new NuProcessBuilder(List.of("cat"));
    builder.setProcessListener(
        new NuAbstractProcessHandler() {
          private NuProcess process;
          private int written;
          private long running;

          @Override
          public void onStart(NuProcess started) {
            process = started; // written to once every child has started
          }

          @Override
          public boolean onStdinReady(ByteBuffer buffer) {
            int n = Math.min(buffer.remaining(), data.length - written);
            buffer.put(data, written, n).flip();
            written += n;
            if (written < data.length) return true;
            process.closeStdin(false);
            return false;
          }

          @Override
          public void onStdout(ByteBuffer buffer, boolean closed) {
            while (buffer.hasRemaining()) running = running * 31 + buffer.get();
          }

          @Override
          public void onExit(int exitCode) {
            if (exitCode == 0) {
              sum.complete(running);
            } else {
              sum.completeExceptionally(new IOException("cat exited with " + exitCode));
            }
          }
        });
    NU_PROCESSES.add(builder.start());
    return sum;
  }

  private static void awaitGo() {
    try {
      GO.await();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
