package io.eventwatcher.bench.fdio;

import io.eventwatcher.FdChannel;
import io.eventwatcher.NativeIO;
import io.eventwatcher.bench.probes.ProbeMain;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Ping-pong over two pipes between two threads: the round trip of one byte there and back.
 *
 * <pre>
 * java PipePingPongProbe IMPL WARMUP ROUNDS
 *   fdchannel-virtual  FdChannel on NativeIO pipes, two virtual threads (the shared watcher unparks)
 *   jdk-pipe-virtual   java.nio.channels.Pipe, two virtual threads (the JDK's poller unparks)
 *   fis-platform       FileInputStream/FileOutputStream on blocking pipes, two platform threads
 * RESULT	pipe-pingpong	IMPL	ROUNDS	p50_ns	NS
 * RESULT	pipe-pingpong	IMPL	ROUNDS	p99_ns	NS
 * RESULT	pipe-pingpong	IMPL	ROUNDS	cpu_ns_per_round_trip	NS   (the JVM's CPU, both threads and the poller)
 * </pre>
 */
public final class PipePingPongProbe {
  /** One end's blocking one-byte transfer. */
  interface End {
    void send(byte value) throws IOException;

    byte receive() throws IOException;
  }

  public static void main(String[] args) {
    ProbeMain.run(args, PipePingPongProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println(
          "usage: PipePingPongProbe fdchannel-virtual|jdk-pipe-virtual|fis-platform WARMUP ROUNDS");
      return 2;
    }
    String impl = args[0];
    int warmup = Integer.parseInt(args[1]);
    int rounds = Integer.parseInt(args[2]);
    End[] ends = ends(impl);
    boolean virtual = !impl.equals("fis-platform");
    CompletableFuture<Void> pong = new CompletableFuture<>();
    Runnable ponger =
        () -> {
          try {
            for (int i = 0; i < warmup + rounds; i++) ends[1].send(ends[1].receive());
            pong.complete(null);
          } catch (Throwable e) {
            pong.completeExceptionally(e);
          }
        };
    CompletableFuture<long[]> ping = new CompletableFuture<>();
    Runnable pinger =
        () -> {
          try {
            long[] samples = new long[rounds];
            for (int i = 0; i < warmup + rounds; i++) {
              long start = System.nanoTime();
              ends[0].send((byte) i);
              if (ends[0].receive() != (byte) i)
                throw new AssertionError("round " + i + " came back wrong");
              if (i >= warmup) samples[i - warmup] = System.nanoTime() - start;
            }
            ping.complete(samples);
          } catch (Throwable e) {
            ping.completeExceptionally(e);
          }
        };
    if (virtual) {
      Threads.virtual(ponger);
    } else {
      Threads.platform(ponger);
    }
    double cpuBefore = Threads.processCpuMs();
    if (virtual) {
      Threads.virtual(pinger);
    } else {
      Threads.platform(pinger);
    }
    long[] samples = ping.get();
    pong.get();
    double cpuMs = Threads.processCpuMs() - cpuBefore;
    Arrays.sort(samples);
    report(impl, rounds, "p50_ns", samples[rounds / 2]);
    report(impl, rounds, "p99_ns", samples[(int) (rounds * 0.99)]);
    report(impl, rounds, "cpu_ns_per_round_trip", cpuMs * 1e6 / (warmup + rounds));
    return 0;
  }

  private static void report(String impl, int rounds, String metric, double value) {
    System.out.printf("RESULT\tpipe-pingpong\t%s\t%d\t%s\t%.0f%n", impl, rounds, metric, value);
  }

  /** {ping's end, pong's end}: ping sends on pipe A and receives on B, pong the other way. */
  private static End[] ends(String impl) throws IOException {
    switch (impl) {
      case "fdchannel-virtual":
        int[] a = NativeIO.pipe();
        int[] b = NativeIO.pipe();
        return new End[] {
          channels(FdChannel.open(b[0]), FdChannel.open(a[1])),
          channels(FdChannel.open(a[0]), FdChannel.open(b[1]))
        };
      case "jdk-pipe-virtual":
        Pipe there = Pipe.open();
        Pipe back = Pipe.open();
        return new End[] {
          channels(back.source(), there.sink()), channels(there.source(), back.sink())
        };
      case "fis-platform":
        int[] x = NativeIO.pipe();
        int[] y = NativeIO.pipe();
        End[] ends = {streams(y[0], x[1]), streams(x[0], y[1])};
        for (int fd : new int[] {x[0], x[1], y[0], y[1]}) NativeIO.close(fd);
        return ends;
      default:
        throw new IllegalArgumentException("unknown implementation " + impl);
    }
  }

  private static End channels(
      java.nio.channels.ReadableByteChannel in, java.nio.channels.WritableByteChannel out) {
    ByteBuffer inBuffer = ByteBuffer.allocateDirect(1);
    ByteBuffer outBuffer = ByteBuffer.allocateDirect(1);
    return new End() {
      @Override
      public void send(byte value) throws IOException {
        outBuffer.clear().put(0, value);
        while (outBuffer.hasRemaining()) out.write(outBuffer);
      }

      @Override
      public byte receive() throws IOException {
        inBuffer.clear();
        while (inBuffer.hasRemaining()) {
          if (in.read(inBuffer) < 0) throw new IOException("end of stream");
        }
        return inBuffer.get(0);
      }
    };
  }

  /**
   * Blocking streams over new descriptions of the pipe ends (/proc/self/fd opens them blocking).
   */
  private static End streams(int readFd, int writeFd) throws IOException {
    FileInputStream in = new FileInputStream("/proc/self/fd/" + readFd);
    FileOutputStream out = new FileOutputStream("/proc/self/fd/" + writeFd);
    return new End() {
      @Override
      public void send(byte value) throws IOException {
        out.write(value);
      }

      @Override
      public byte receive() throws IOException {
        int value = in.read();
        if (value < 0) throw new IOException("end of stream");
        return (byte) value;
      }
    };
  }
}
