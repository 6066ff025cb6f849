package io.eventwatcher;

import static io.eventwatcher.FdChannelTest.isParkedInChannel;
import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * FdChannel on virtual threads (JDK 21+; skipped on 17): a child's output read line by line,
 * ping-pong over two pipes, and 10,000 virtual threads parked at once, each on its own fd, with no
 * carrier pinned: JFR's {@code jdk.VirtualThreadPinned} events (threshold 0, the successor of
 * {@code -Djdk.tracePinnedThreads}, which JDK 24 removed) must name none of them, and the carriers
 * must stay at the scheduler's size. The JFR check proves it can fail: a deliberate pin (a park in
 * a class initializer) is seen before and after the parked threads.
 */
class VirtualThreadsTest {
  private static final Method START_VIRTUAL = startVirtualThread();

  private static Method startVirtualThread() {
    try {
      return Thread.class.getMethod("startVirtualThread", Runnable.class);
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  static Thread startVirtual(Runnable task) throws ReflectiveOperationException {
    Assumptions.assumeTrue(START_VIRTUAL != null, "virtual threads need JDK 21+");
    return (Thread) START_VIRTUAL.invoke(null, task);
  }

  /** A virtual thread whose result or exception completes the future. */
  static <T> CompletableFuture<T> onVirtual(FdChannelTest.ThrowingSupplier<T> body)
      throws ReflectiveOperationException {
    CompletableFuture<T> result = new CompletableFuture<>();
    startVirtual(
        () -> {
          try {
            result.complete(body.get());
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    return result;
  }

  /**
   * Virtual threads that never yield hold every carrier, so the shared watcher's sub-pollers cannot
   * run: a platform thread parked in an FdChannel is still woken, by the loop's watchdog.
   */
  @Test
  void aPlatformThreadIsWokenWhileBusyVirtualThreadsHoldEveryCarrier() throws Exception {
    Assumptions.assumeTrue(START_VIRTUAL != null, "virtual threads need JDK 21+");
    int carriers =
        Integer.getInteger(
            "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
    try (TestSupport.Pipe pipe = new TestSupport.Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      Thread[] reader = new Thread[1];
      CompletableFuture<Integer> read =
          FdChannelTest.onThread(
              "fd-platform-reader", () -> channel.read(ByteBuffer.allocate(4)), reader);
      FdChannelTest.awaitParked(reader[0]);
      AtomicBoolean release = new AtomicBoolean();
      CountDownLatch busy = new CountDownLatch(carriers);
      try {
        for (int i = 0; i < carriers; i++) {
          startVirtual(
              () -> {
                busy.countDown();
                while (!release.get()) Thread.onSpinWait(); // holds its carrier: no yield
              });
        }
        assertTrue(busy.await(PATIENCE_MS, TimeUnit.MILLISECONDS), "every carrier taken");
        pipe.fill();
        assertEquals(1, await(read, "the platform thread's read, no carrier free"));
      } finally {
        release.set(true);
      }
      // Carriers free again: a read served by the sub-poller at once, as usual.
      CompletableFuture<Integer> again =
          FdChannelTest.onThread(
              "fd-platform-reader-2", () -> channel.read(ByteBuffer.allocate(4)), reader);
      FdChannelTest.awaitParked(reader[0]);
      pipe.fill();
      assertEquals(1, await(again, "a read with carriers free"));
    }
    // The watchdog ends with the work: the shared loop goes back to a wait without timeout.
    java.nio.file.Path loop = TestSupport.taskNamed("eventwatcher-sh"); // comm: 15 characters
    Assumptions.assumeTrue(TestSupport.systemCallVisible(loop), "the loop's wait is not visible");
    eventually(
        () -> TestSupport.asleepInEpollWaitWithoutTimeout(loop),
        "the shared loop to sleep in epoll_wait with no timeout");
  }

  @Test
  void aVirtualThreadReadsAChildsOutputLineByLine() throws Exception {
    Subprocess child =
        Subprocess.start(new ProcessBuilder("sh", "-c", "for i in 1 2 3; do echo line $i; done"));
    CompletableFuture<List<String>> lines =
        onVirtual(
            () -> {
              List<String> read = new ArrayList<>();
              try (BufferedReader reader =
                  new BufferedReader(
                      new InputStreamReader(
                          Channels.newInputStream(child.stdout()), StandardCharsets.UTF_8))) {
                for (String line; (line = reader.readLine()) != null; ) read.add(line);
              }
              return read;
            });
    assertEquals(List.of("line 1", "line 2", "line 3"), await(lines, "the child's lines"));
    assertEquals(0, child.waitFor());
    child.stdin().close();
    child.stderr().close();
  }

  @Test
  void twoVirtualThreadsPlayPingPongOverTwoPipes() throws Exception {
    int rounds = 2000;
    try (TestSupport.Pipe there = new TestSupport.Pipe();
        TestSupport.Pipe back = new TestSupport.Pipe();
        FdChannel pingOut = FdChannel.open(there.takeWrite());
        FdChannel pingIn = FdChannel.open(back.takeRead());
        FdChannel pongIn = FdChannel.open(there.takeRead());
        FdChannel pongOut = FdChannel.open(back.takeWrite())) {
      CompletableFuture<Integer> pong =
          onVirtual(
              () -> {
                ByteBuffer ball = ByteBuffer.allocate(4);
                for (int i = 0; i < rounds; i++) {
                  ball.clear();
                  while (ball.hasRemaining()) pongIn.read(ball);
                  pongOut.write(ball.flip());
                }
                return rounds;
              });
      CompletableFuture<Integer> ping =
          onVirtual(
              () -> {
                ByteBuffer ball = ByteBuffer.allocate(4);
                for (int i = 0; i < rounds; i++) {
                  ball.clear().putInt(0, i);
                  pingOut.write(ball);
                  ball.clear();
                  while (ball.hasRemaining()) pingIn.read(ball);
                  if (ball.getInt(0) != i)
                    throw new AssertionError("round " + i + " came back wrong");
                }
                return rounds;
              });
      assertEquals(rounds, await(ping, "ping"));
      assertEquals(rounds, await(pong, "pong"));
    }
  }

  @Test
  void tenThousandVirtualThreadsParkEachOnItsOwnFdWithoutPinningACarrier() throws Exception {
    Assumptions.assumeTrue(START_VIRTUAL != null, "virtual threads need JDK 21+");
    int count = 10_000;
    // One round first, unwatched: the first use of a class (Errno at the first EAGAIN) loads it,
    // and 10,000 threads loading it at once contend for the class loader's lock, a pin that says
    // nothing about parking.
    try (FdChannel warmUp = FdChannel.open(NativeIO.eventFd(0))) {
      CompletableFuture<Integer> read = new CompletableFuture<>();
      Thread reader =
          startVirtual(
              () -> {
                try {
                  read.complete(warmUp.read(ByteBuffer.allocate(8)));
                } catch (Throwable e) {
                  read.completeExceptionally(e);
                }
              });
      eventually(() -> isParkedInChannel(reader), "the warm-up reader parked");
      TestSupport.signal(warmUp.fd(), 1);
      assertEquals(8, await(read, "the warm-up read"));
    }
    try (PinnedEvents pinned = new PinnedEvents()) {
      pinned.awaitControl(Control1::touch);
      List<FdChannel> channels = new ArrayList<>(count);
      // eventfds, one fd each: 10,000 pipes would need 20,000 fds, this machine's limit.
      for (int i = 0; i < count; i++) channels.add(FdChannel.open(NativeIO.eventFd(0)));
      AtomicLongArray values = new AtomicLongArray(count);
      AtomicInteger done = new AtomicInteger();
      List<Thread> threads = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        FdChannel channel = channels.get(i);
        int index = i;
        threads.add(
            startVirtual(
                () -> {
                  ByteBuffer counter = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
                  try {
                    while (counter.hasRemaining()) channel.read(counter);
                    values.set(index, counter.getLong(0));
                    done.incrementAndGet();
                  } catch (IOException e) {
                    values.set(index, -1);
                  }
                }));
      }
      for (Thread thread : threads) {
        pinned.watch(thread);
        eventually(() -> isParkedInChannel(thread), "virtual thread parked in FdChannel.read");
      }
      int carriers = carrierThreads();
      int cores = Runtime.getRuntime().availableProcessors();
      assertTrue(carriers <= cores + 2, carriers + " carriers for " + count + " parked threads");
      for (int i = 0; i < count; i++) TestSupport.signal(channels.get(i).fd(), i + 1);
      for (Thread thread : threads) {
        thread.join(PATIENCE_MS);
        assertTrue(!thread.isAlive(), "a woken thread did not finish");
      }
      assertEquals(count, done.get());
      for (int i = 0; i < count; i++) assertEquals(i + 1, values.get(i), "value read by " + i);
      for (FdChannel channel : channels) channel.close();
      pinned.awaitControl(Control2::touch); // every earlier event is flushed once this one is seen
      assertEquals(List.of(), pinned.watchedEvents(), "pinned events of the parked threads");
    }
  }

  /** Platform threads of the default virtual-thread scheduler. */
  private static int carrierThreads() {
    return (int)
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("ForkJoinPool-") && t.getName().contains("worker"))
            .count();
  }

  /** Parks in a class initializer: a virtual thread there pins its carrier (a native frame). */
  static final class Control1 {
    static {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }

    static void touch() {}
  }

  /** As {@link Control1}; a second class, since a class initialises once. */
  static final class Control2 {
    static {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }

    static void touch() {}
  }

  /** A JFR stream of jdk.VirtualThreadPinned events, sorted by the thread they name. */
  static final class PinnedEvents implements AutoCloseable {
    private final RecordingStream stream = new RecordingStream();
    private final Set<Long> watched = ConcurrentHashMap.newKeySet();
    private final List<String> watchedEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Set<Long> controls = ConcurrentHashMap.newKeySet();
    private volatile CountDownLatch controlSeen = new CountDownLatch(1);

    PinnedEvents() {
      stream.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
      stream.onEvent("jdk.VirtualThreadPinned", this::record);
      stream.startAsync();
    }

    private void record(RecordedEvent event) {
      long thread = event.getThread() == null ? -1 : event.getThread().getJavaThreadId();
      if (controls.contains(thread)) controlSeen.countDown();
      if (watched.contains(thread)) watchedEvents.add(event.toString());
    }

    @SuppressWarnings("deprecation") // Thread.threadId() is JDK 19+; getId() is the same number
    void watch(Thread thread) {
      watched.add(thread.getId());
    }

    /** Pins a virtual thread on purpose and waits for its event: the stream is live and flushed. */
    @SuppressWarnings("deprecation")
    void awaitControl(Runnable pin) throws Exception {
      controlSeen = new CountDownLatch(1);
      Thread control = startVirtual(pin);
      controls.add(control.getId());
      control.join();
      assertTrue(
          controlSeen.await(PATIENCE_MS, TimeUnit.MILLISECONDS),
          "JFR never reported the deliberate pin: the check could not see a real one");
    }

    List<String> watchedEvents() {
      return watchedEvents;
    }

    @Override
    public void close() {
      stream.close();
    }
  }
}
