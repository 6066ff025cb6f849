package io.eventwatcher.bench.fdio;

import io.eventwatcher.FdChannel;
import io.eventwatcher.NativeIO;
import io.eventwatcher.bench.probes.ProbeMain;
import io.eventwatcher.internal.Native;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * COUNT threads, each blocked reading its own pipe, then woken once each (one byte into every
 * pipe): the time to wake them all, the memory and the OS threads they hold while blocked.
 *
 * <pre>
 * java ParkedThreadsProbe IMPL COUNT KIND   (KIND: pipe, or eventfd where 2 x COUNT fds do not fit)
 *   fdchannel-virtual  COUNT virtual threads parked in FdChannel.read
 *   fis-platform       COUNT platform threads in FileInputStream.read (the JDK's only way for an
 *                      arbitrary fd: a virtual thread there holds its carrier)
 * RESULT	parked	IMPL	COUNT	wake_all_ms	MS     (first byte written to last reader done)
 * RESULT	parked	IMPL	COUNT	rss_added_mib	MIB  (VmRSS while blocked, minus before the threads)
 * RESULT	parked	IMPL	COUNT	os_threads	N        (/proc/self/task while blocked)
 * </pre>
 */
public final class ParkedThreadsProbe {
  public static void main(String[] args) {
    ProbeMain.run(args, ParkedThreadsProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println(
          "usage: ParkedThreadsProbe fdchannel-virtual|fis-platform COUNT pipe|eventfd");
      return 2;
    }
    String impl = args[0];
    int count = Integer.parseInt(args[1]);
    String kind = args[2];
    boolean virtual = impl.equals("fdchannel-virtual");
    if (!virtual && !impl.equals("fis-platform")) throw new IllegalArgumentException(impl);
    boolean pipes = kind.equals("pipe");
    if (!pipes && !kind.equals("eventfd")) throw new IllegalArgumentException(kind);
    int[] writeEnds = new int[count];
    List<Object> readers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int readEnd;
      if (pipes) {
        int[] pipe = NativeIO.pipe();
        readEnd = pipe[0];
        writeEnds[i] = pipe[1];
      } else {
        readEnd = writeEnds[i] = NativeIO.eventFd(0);
      }
      readers.add(virtual ? FdChannel.open(readEnd) : blockingStream(readEnd));
    }
    double rssBefore = Threads.rssMiB();
    CountDownLatch entered = new CountDownLatch(count);
    CountDownLatch done = new CountDownLatch(count);
    List<Thread> threads = new ArrayList<>(count);
    for (Object reader : readers) {
      Runnable body =
          () -> {
            try {
              entered.countDown();
              int n =
                  virtual
                      ? ((FdChannel) reader).read(ByteBuffer.allocate(8))
                      : ((InputStream) reader).read(new byte[8]);
              if (n < 0) throw new IOException("end of stream");
              done.countDown();
            } catch (IOException e) {
              e.printStackTrace();
            }
          };
      threads.add(virtual ? Threads.virtual(body) : Threads.platform(body));
    }
    if (!entered.await(120, TimeUnit.SECONDS))
      throw new IllegalStateException("threads did not start");
    if (virtual) {
      for (Thread thread : threads) {
        while (thread.getState() != Thread.State.WAITING) Thread.onSpinWait();
      }
    } else {
      Thread.sleep(500); // a platform thread in read(2) shows RUNNABLE: let the last ones get there
    }
    double rssAdded = Threads.rssMiB() - rssBefore;
    int osThreads = Threads.osThreads();
    ByteBuffer word = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 1);
    long start = System.nanoTime();
    for (int fd : writeEnds) {
      word.clear();
      if (NativeIO.write(fd, pipes ? word.limit(1) : word) <= 0) {
        throw new IllegalStateException("fd " + fd + " full");
      }
    }
    if (!done.await(120, TimeUnit.SECONDS))
      throw new IllegalStateException("not every thread woke");
    double wakeMs = (System.nanoTime() - start) / 1e6;
    report(impl, count, "wake_all_ms", String.format("%.1f", wakeMs));
    report(impl, count, "rss_added_mib", String.format("%.1f", rssAdded));
    report(impl, count, "os_threads", Integer.toString(osThreads));
    return 0;
  }

  private static void report(String impl, int count, String metric, String value) {
    System.out.printf("RESULT\tparked\t%s\t%d\t%s\t%s%n", impl, count, metric, value);
  }

  /**
   * A FileInputStream on the raw fd, made blocking: what a program without FdChannel has. Needs
   * {@code --add-opens java.base/java.io=ALL-UNNAMED} (FileDescriptor has no public int
   * constructor).
   */
  private static InputStream blockingStream(int fd) throws ReflectiveOperationException {
    if (Native.setNonBlocking(fd, false) != 0) throw new IllegalStateException("fcntl " + fd);
    FileDescriptor descriptor = new FileDescriptor();
    Field field = FileDescriptor.class.getDeclaredField("fd");
    field.setAccessible(true);
    field.setInt(descriptor, fd);
    return new FileInputStream(descriptor);
  }
}
