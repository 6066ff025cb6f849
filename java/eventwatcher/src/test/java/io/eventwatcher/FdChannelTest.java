package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Pipe;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * FdChannel on platform threads: blocking reads and writes over non-blocking pipes, parking until
 * ready, timeouts, close and interrupt while parked, end of stream, the JDK's stream adapters.
 * Virtual threads are in {@link VirtualThreadsTest}.
 */
class FdChannelTest {
  /** Runs {@code body} on a new platform thread; its result or exception completes the future. */
  static <T> CompletableFuture<T> onThread(
      String name, ThrowingSupplier<T> body, Thread[] started) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                result.complete(body.get());
              } catch (Throwable e) {
                result.completeExceptionally(e);
              }
            },
            name);
    thread.setDaemon(true);
    started[0] = thread;
    thread.start();
    return result;
  }

  interface ThrowingSupplier<T> {
    T get() throws Exception;
  }

  /** Waits until {@code thread} is parked inside an FdChannel operation. */
  static void awaitParked(Thread thread) {
    eventually(() -> isParkedInChannel(thread), thread.getName() + " parked in FdChannel");
  }

  static boolean isParkedInChannel(Thread thread) {
    Thread.State state = thread.getState();
    if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) return false;
    return Arrays.stream(thread.getStackTrace())
        .anyMatch(frame -> frame.getClassName().endsWith("FdParker"));
  }

  static Throwable failureOf(CompletableFuture<?> future) {
    try {
      future.get(TestSupport.PATIENCE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("the operation did not end", e);
    }
    throw new AssertionError("the operation completed instead of failing");
  }

  static boolean fdOpen(int fd) {
    return Files.exists(Path.of("/proc/self/fd/" + fd));
  }

  /**
   * A FileInputStream of its own over {@code fd} (reopened through /proc), dropped unclosed, its
   * descriptor given to {@code given} (when not null) and reported in {@code dropped}.
   */
  static int dropAStreamOn(int fd, FdChannel[] given, WeakReference<?>[] dropped)
      throws IOException {
    FileInputStream stream = new FileInputStream("/proc/self/fd/" + fd);
    FileDescriptor descriptor = stream.getFD();
    dropped[0] = new WeakReference<>(descriptor);
    int streamFd = FileDescriptors.fd(descriptor);
    if (given != null) given[0] = FdChannel.open(descriptor);
    return streamFd;
  }

  @Test
  void readParksUntilDataArrivesThenReturnsIt() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      Thread[] reader = new Thread[1];
      CompletableFuture<String> read =
          onThread(
              "fd-reader",
              () -> {
                ByteBuffer buffer = ByteBuffer.allocate(16);
                int n = channel.read(buffer);
                return new String(buffer.array(), 0, n, StandardCharsets.US_ASCII);
              },
              reader);
      awaitParked(reader[0]);
      assertFalse(read.isDone(), "returned before any data was written");
      NativeIO.write(pipe.w, ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
      assertEquals("hello", await(read, "the parked read"));
    }
  }

  @Test
  void readReturnsMinusOneAtEndOfStreamAndZeroWithoutRoom() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      assertEquals(0, channel.read(ByteBuffer.allocate(0)));
      Thread[] reader = new Thread[1];
      CompletableFuture<Integer> read =
          onThread("fd-eof", () -> channel.read(ByteBuffer.allocateDirect(8)), reader);
      awaitParked(reader[0]);
      pipe.closeWrite();
      assertEquals(-1, await(read, "the read at end of stream"));
    }
  }

  @Test
  void writeParksWhileThePipeIsFullAndDeliversEveryByteInOrder() throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    try (Pipe pipe = new Pipe();
        FdChannel out = FdChannel.open(pipe.takeWrite());
        FdChannel in = FdChannel.open(pipe.takeRead())) {
      Thread[] writer = new Thread[1];
      CompletableFuture<Integer> wrote =
          onThread("fd-writer", () -> out.write(ByteBuffer.wrap(data)), writer);
      awaitParked(writer[0]); // 1 MiB does not fit a 64 KiB pipe
      ByteBuffer received = ByteBuffer.allocate(data.length);
      while (received.hasRemaining()) assertTrue(in.read(received) > 0);
      assertEquals(data.length, await(wrote, "the parked write"));
      assertArrayEquals(data, received.array());
    }
  }

  @Test
  void readTimeoutThrowsAndLeavesTheChannelUsable() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      channel.setReadTimeout(Duration.ofMillis(20));
      assertEquals(Duration.ofMillis(20), channel.readTimeout());
      assertThrows(InterruptedByTimeoutException.class, () -> channel.read(ByteBuffer.allocate(4)));
      assertTrue(channel.isOpen());
      pipe.fill();
      assertEquals(1, channel.read(ByteBuffer.allocate(4)));
      channel.setReadTimeout(Duration.ZERO);
      assertEquals(Duration.ZERO, channel.readTimeout());
    }
  }

  @Test
  void writeTimeoutThrowsWithThePartWrittenInThePosition() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeWrite())) {
      channel.setWriteTimeout(Duration.ofMillis(20));
      ByteBuffer big = ByteBuffer.allocateDirect(1 << 20);
      assertThrows(InterruptedByTimeoutException.class, () -> channel.write(big));
      assertEquals(pipe.drain(), big.position(), "the position counts what reached the pipe");
      assertTrue(big.position() > 0 && big.hasRemaining());
    }
  }

  @Test
  void awaitReadableReturnsFalseOnTimeoutAndTrueWhenReady() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      assertFalse(channel.awaitReadable(Duration.ofMillis(20)));
      Thread[] waiter = new Thread[1];
      CompletableFuture<Boolean> ready =
          onThread("fd-await", () -> channel.awaitReadable(Duration.ofSeconds(30)), waiter);
      awaitParked(waiter[0]);
      pipe.fill();
      assertTrue(await(ready, "awaitReadable"));
      assertEquals(1, pipe.drain(), "awaitReadable must not consume data");
      assertThrows(IllegalArgumentException.class, () -> channel.awaitReadable(Duration.ZERO));
    }
  }

  @Test
  void awaitWritableReturnsWhenTheReaderMakesRoom() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeWrite())) {
      pipe.fillUp();
      assertFalse(channel.awaitWritable(Duration.ofMillis(20)));
      Thread[] waiter = new Thread[1];
      CompletableFuture<Void> writable =
          onThread(
              "fd-await-write",
              () -> {
                channel.awaitWritable();
                return null;
              },
              waiter);
      awaitParked(waiter[0]);
      pipe.drain();
      await(writable, "awaitWritable");
    }
  }

  @Test
  void closeFromAnotherThreadWakesAParkedReaderAndThenClosesTheFd() throws Exception {
    try (Pipe pipe = new Pipe()) {
      FdChannel channel = FdChannel.open(pipe.takeRead());
      Thread[] reader = new Thread[1];
      CompletableFuture<Integer> read =
          onThread("fd-closed", () -> channel.read(ByteBuffer.allocate(4)), reader);
      awaitParked(reader[0]);
      channel.close();
      assertInstanceOf(AsynchronousCloseException.class, failureOf(read));
      assertFalse(channel.isOpen());
      eventually(() -> !fdOpen(pipe.r), "the last thread out closes the fd");
      assertThrows(ClosedChannelException.class, () -> channel.read(ByteBuffer.allocate(4)));
    }
  }

  @Test
  void interruptingAParkedReaderClosesTheChannelWithClosedByInterrupt() throws Exception {
    try (Pipe pipe = new Pipe()) {
      FdChannel channel = FdChannel.open(pipe.takeRead());
      Thread[] reader = new Thread[1];
      boolean[] interruptStatus = new boolean[1];
      CompletableFuture<Integer> read =
          onThread(
              "fd-interrupted",
              () -> {
                try {
                  return channel.read(ByteBuffer.allocate(4));
                } finally {
                  interruptStatus[0] = Thread.currentThread().isInterrupted();
                }
              },
              reader);
      awaitParked(reader[0]);
      reader[0].interrupt();
      assertInstanceOf(ClosedByInterruptException.class, failureOf(read));
      assertTrue(interruptStatus[0], "the interrupt status stays set");
      assertFalse(channel.isOpen());
      eventually(() -> !fdOpen(pipe.r), "the fd is closed");
    }
  }

  @Test
  void closeWakesAReaderAndAWriterParkedOnOneSocket() throws Exception {
    try (TestSupport.SocketPair sockets = new TestSupport.SocketPair()) {
      FdChannel channel = FdChannel.open(sockets.takeA());
      Thread[] reader = new Thread[1];
      Thread[] writer = new Thread[1];
      CompletableFuture<Integer> read =
          onThread("sock-reader", () -> channel.read(ByteBuffer.allocate(4)), reader);
      CompletableFuture<Integer> wrote =
          onThread("sock-writer", () -> channel.write(ByteBuffer.allocate(8 << 20)), writer);
      awaitParked(reader[0]);
      awaitParked(writer[0]);
      channel.close();
      assertInstanceOf(AsynchronousCloseException.class, failureOf(read));
      assertInstanceOf(AsynchronousCloseException.class, failureOf(wrote));
    }
  }

  @Test
  void streamAdaptersCarryLinesBothWays() throws Exception {
    try (Pipe pipe = new Pipe();
        FdChannel in = FdChannel.open(pipe.takeRead())) {
      FdChannel out = FdChannel.open(pipe.takeWrite());
      Thread[] reader = new Thread[1];
      CompletableFuture<String> lines =
          onThread(
              "fd-lines",
              () -> {
                BufferedReader text =
                    new BufferedReader(
                        new InputStreamReader(Channels.newInputStream(in), StandardCharsets.UTF_8));
                StringBuilder all = new StringBuilder();
                for (String line; (line = text.readLine()) != null; ) all.append(line).append('|');
                return all.toString();
              },
              reader);
      awaitParked(reader[0]);
      OutputStream stream = Channels.newOutputStream(out);
      stream.write("one\ntwo\n".getBytes(StandardCharsets.UTF_8));
      stream.write("three\n".getBytes(StandardCharsets.UTF_8));
      out.close();
      assertEquals("one|two|three|", await(lines, "the lines"));
    }
  }

  @Test
  void aFileDescriptorIsTakenFromItsStreamSoNeitherItsCloseNorTheCollectorClosesTheFd()
      throws Exception {
    try (Pipe pipe = new Pipe()) {
      FileInputStream stream = new FileInputStream("/proc/self/fd/" + pipe.r);
      FileDescriptor descriptor = stream.getFD();
      try (FdChannel channel = FdChannel.open(descriptor)) {
        assertFalse(descriptor.valid(), "the descriptor still holds fd " + channel.fd());
        assertThrows(IllegalArgumentException.class, () -> FdChannel.open(descriptor));
        stream.close();
        assertTrue(fdOpen(channel.fd()), "closing the stream closed the channel's fd");
        pipe.fill();
        assertEquals(1, channel.read(ByteBuffer.allocate(4)));
      } finally {
        stream.close();
      }

      // Two streams dropped unclosed: the control's cleaner closing its fd proves that the
      // collector ran the cleaners, and the channel's fd must still be open then.
      FdChannel[] taken = new FdChannel[1];
      WeakReference<?>[] ours = new WeakReference<?>[1];
      WeakReference<?>[] control = new WeakReference<?>[1];
      dropAStreamOn(pipe.r, taken, ours);
      int controlFd = dropAStreamOn(pipe.r, null, control);
      try (FdChannel channel = taken[0]) {
        eventually(
            () -> {
              System.gc();
              return ours[0].get() == null && control[0].get() == null && !fdOpen(controlFd);
            },
            "the collector to clean up the dropped streams");
        assertTrue(fdOpen(channel.fd()), "the collector closed the channel's fd");
        pipe.fill();
        assertEquals(1, channel.read(ByteBuffer.allocate(4)));
      }
    }
  }

  @Test
  void badInputGetsAClearError() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> FdChannel.open(-1));
    ErrnoException closed = assertThrows(ErrnoException.class, () -> FdChannel.open(100_000));
    assertEquals(100_000, closed.fd());
    try (Pipe pipe = new Pipe();
        FdChannel channel = FdChannel.open(pipe.takeRead())) {
      IllegalArgumentException twice =
          assertThrows(IllegalArgumentException.class, () -> FdChannel.open(pipe.r));
      assertTrue(twice.getMessage().contains("fd " + pipe.r), twice.getMessage());
      assertThrows(
          IllegalArgumentException.class,
          () -> channel.read(ByteBuffer.allocate(1).asReadOnlyBuffer()));
      assertThrows(
          IllegalArgumentException.class, () -> channel.setReadTimeout(Duration.ofSeconds(-1)));
    }
  }

  @Test
  void aChannelOnAGivenWatcherFailsClearlyOnceTheWatcherIsClosed() throws Exception {
    try (Pipe pipe = new Pipe()) {
      EventWatcher watcher = new EventWatcher();
      FdChannel channel = FdChannel.open(pipe.takeRead(), watcher);
      Thread[] reader = new Thread[1];
      CompletableFuture<Integer> read =
          onThread("fd-watcher-closed", () -> channel.read(ByteBuffer.allocate(4)), reader);
      awaitParked(reader[0]);
      watcher.close();
      Throwable failure = failureOf(read);
      assertInstanceOf(IOException.class, failure);
      assertTrue(failure.getMessage().contains("closed"), failure.getMessage());
      channel.close();
      eventually(() -> !fdOpen(pipe.r), "the fd is closed");
    }
  }

  @Test
  void aCallThatWouldParkOnTheLoopThreadThrowsInsteadOfHangingTheLoop() throws Exception {
    try (Pipe pipe = new Pipe();
        EventWatcher watcher = new EventWatcher();
        FdChannel channel = FdChannel.open(pipe.takeRead(), watcher)) {
      pipe.fill();
      ByteBuffer buffer = ByteBuffer.allocate(4);
      TestSupport.onLoop(
          watcher,
          () -> {
            assertEquals(1, channel.read(buffer)); // data there: no park, so allowed
            IllegalStateException refused =
                assertThrows(IllegalStateException.class, () -> channel.read(buffer));
            assertTrue(refused.getMessage().contains("fd " + channel.fd()), refused.getMessage());
          });
      assertTrue(channel.isOpen());
      pipe.fill();
      assertEquals(1, channel.read(buffer)); // the loop still runs, and the channel still works
    }
  }
}
