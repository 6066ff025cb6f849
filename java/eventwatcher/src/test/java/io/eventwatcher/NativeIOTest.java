package io.eventwatcher;

import static io.eventwatcher.TestSupport.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.SocketPair;
import io.eventwatcher.internal.Errno;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * NativeIO: raw-fd I/O with direct, heap and read-only buffers and arrays, and the fd factories.
 */
class NativeIOTest {
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;

  @Test
  void writeAndReadMoveBufferPositionsAndReturnCounts() throws Exception {
    try (Pipe pipe = new Pipe()) {
      ByteBuffer src = ByteBuffer.allocateDirect(16);
      src.put("..hello".getBytes(StandardCharsets.US_ASCII)).flip().position(2);
      assertEquals(5, NativeIO.write(pipe.w, src));
      assertEquals(7, src.position());
      assertEquals(0, src.remaining());

      ByteBuffer dst = ByteBuffer.allocateDirect(16);
      dst.position(3).limit(6); // room for 3 bytes
      assertEquals(3, NativeIO.read(pipe.r, dst));
      assertEquals(6, dst.position());
      dst.limit(16);
      assertEquals(2, NativeIO.read(pipe.r, dst));
      assertEquals(8, dst.position());
      byte[] read = new byte[5];
      dst.position(3);
      dst.get(read);
      assertEquals("hello", new String(read, StandardCharsets.US_ASCII));
    }
  }

  @Test
  void readReturnsZeroWhenItWouldBlockAndMinusOneAtEof() throws Exception {
    try (Pipe pipe = new Pipe()) {
      ByteBuffer dst = ByteBuffer.allocateDirect(8);
      assertEquals(0, NativeIO.read(pipe.r, dst), "empty pipe, writer open");
      assertEquals(0, dst.position());
      pipe.closeWrite();
      assertEquals(-1, NativeIO.read(pipe.r, dst), "empty pipe, writer gone");
      assertEquals(0, dst.position());
    }
  }

  @Test
  void emptyBuffersTransferNothing() throws Exception {
    try (Pipe pipe = new Pipe()) {
      pipe.fill();
      assertEquals(0, NativeIO.read(pipe.r, ByteBuffer.allocateDirect(0)), "no room");
      assertEquals(0, NativeIO.write(pipe.w, ByteBuffer.allocateDirect(0)), "nothing to write");
      assertEquals(1, pipe.drain(), "the byte is still there");
    }
  }

  @Test
  void writeReturnsZeroWhenThePipeIsFull() throws Exception {
    try (Pipe pipe = new Pipe()) {
      pipe.fillUp();
      ByteBuffer src = bytes(1);
      assertEquals(0, NativeIO.write(pipe.w, src));
      assertEquals(0, src.position());
    }
  }

  @Test
  void heapAndReadOnlyHeapBuffersWorkLikeDirectOnes() throws Exception {
    try (Pipe pipe = new Pipe()) {
      // A slice, so that the array offset is not 0: the copy must honour it.
      ByteBuffer src =
          ByteBuffer.wrap("xx..hello".getBytes(StandardCharsets.US_ASCII), 2, 7).slice();
      src.position(2);
      assertEquals(5, NativeIO.write(pipe.w, src));
      assertEquals(7, src.position());
      ByteBuffer readOnly = ByteBuffer.wrap(" world".getBytes(StandardCharsets.US_ASCII));
      assertEquals(6, NativeIO.write(pipe.w, readOnly.asReadOnlyBuffer()));

      ByteBuffer dst = ByteBuffer.allocate(32).position(4).limit(9); // room for 5
      assertEquals(5, NativeIO.read(pipe.r, dst));
      assertEquals(9, dst.position());
      dst.limit(32);
      assertEquals(6, NativeIO.read(pipe.r, dst));
      assertEquals(15, dst.position());
      assertEquals(
          "hello world", new String(dst.array(), 4, 11, StandardCharsets.US_ASCII), "bytes moved");
      assertEquals(0, dst.array()[3], "nothing before the position was written");
      assertEquals(0, NativeIO.read(pipe.r, dst), "empty pipe: would block");
      assertThrows(
          ReadOnlyBufferException.class,
          () -> NativeIO.read(pipe.r, ByteBuffer.allocate(8).asReadOnlyBuffer()));
      pipe.closeWrite();
      assertEquals(-1, NativeIO.read(pipe.r, ByteBuffer.allocate(8)), "end of stream");
      assertThrows(NullPointerException.class, () -> NativeIO.read(pipe.r, null));
      assertThrows(NullPointerException.class, () -> NativeIO.write(pipe.w, (ByteBuffer) null));
    }
  }

  @Test
  void byteArraysAreReadAndWrittenBetweenOffsetAndLength() throws Exception {
    try (Pipe pipe = new Pipe()) {
      byte[] src = "..hello..".getBytes(StandardCharsets.US_ASCII);
      assertEquals(5, NativeIO.write(pipe.w, src, 2, 5));
      assertEquals(0, NativeIO.write(pipe.w, src, 9, 0), "nothing to write");
      byte[] dst = new byte[8];
      assertEquals(0, NativeIO.read(pipe.r, dst, 8, 0), "no room");
      assertEquals(3, NativeIO.read(pipe.r, dst, 1, 3));
      assertEquals(2, NativeIO.read(pipe.r, dst, 4, 4));
      assertArrayEquals("\0hello\0\0".getBytes(StandardCharsets.US_ASCII), dst);
      assertEquals(0, NativeIO.read(pipe.r, dst, 0, 8), "empty pipe: would block");

      pipe.fill();
      assertThrows(IndexOutOfBoundsException.class, () -> NativeIO.read(pipe.r, dst, 5, 4));
      assertThrows(IndexOutOfBoundsException.class, () -> NativeIO.read(pipe.r, dst, -1, 1));
      assertThrows(IndexOutOfBoundsException.class, () -> NativeIO.write(pipe.w, src, 8, 2));
      assertThrows(NullPointerException.class, () -> NativeIO.read(pipe.r, null, 0, 0));
      assertThrows(NullPointerException.class, () -> NativeIO.write(pipe.w, null, 0, 0));
      assertEquals(1, pipe.drain(), "a refused call consumed nothing");
      pipe.closeWrite();
      assertEquals(-1, NativeIO.read(pipe.r, dst, 0, 8), "end of stream");
    }
  }

  /**
   * A 1 MiB heap buffer and a 1 MiB array through a pipe (64 KiB of room): every call moves at most
   * 64 KiB (the pooled direct buffer), the positions add up, and the bytes arrive intact.
   */
  @Test
  void largeHeapTransfersAreShortAndLoseNothing() throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    try (Pipe pipe = new Pipe()) {
      ByteBuffer src = ByteBuffer.wrap(data);
      ByteBuffer dst = ByteBuffer.allocate(data.length);
      while (dst.hasRemaining()) {
        int wrote;
        while ((wrote = NativeIO.write(pipe.w, src)) > 0) {
          assertTrue(wrote <= 64 * 1024, "one heap write moved " + wrote);
        }
        int read;
        while ((read = NativeIO.read(pipe.r, dst)) > 0) {
          assertTrue(read <= 64 * 1024, "one heap read moved " + read);
        }
      }
      assertArrayEquals(data, dst.array());

      byte[] back = new byte[data.length];
      int sent = 0;
      int received = 0;
      while (received < data.length) {
        int n;
        while (sent < data.length
            && (n = NativeIO.write(pipe.w, data, sent, data.length - sent)) > 0) {
          sent += n;
        }
        while ((n = NativeIO.read(pipe.r, back, received, data.length - received)) > 0) {
          received += n;
        }
      }
      assertArrayEquals(data, back);
    }
  }

  /**
   * Threads outnumbering the pool's buffers copy through it at once, each on its own socket pair: a
   * buffer handed to two threads at a time would mix their bytes.
   */
  @Test
  void concurrentHeapTransfersNeverShareABuffer() throws Exception {
    int threads = 4 * Runtime.getRuntime().availableProcessors() + 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        byte fill = (byte) (t + 1);
        done.add(
            pool.submit(
                () -> {
                  try (SocketPair pair = new SocketPair()) {
                    byte[] out = new byte[4096];
                    Arrays.fill(out, fill);
                    byte[] in = new byte[4096];
                    for (int round = 0; round < 500; round++) {
                      int sent = 0;
                      while (sent < out.length)
                        sent += NativeIO.write(pair.a, out, sent, out.length - sent);
                      int got = 0;
                      while (got < in.length)
                        got += NativeIO.read(pair.b, in, got, in.length - got);
                      assertArrayEquals(out, in, "round " + round + " of writer " + fill);
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> future : done) future.get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void readOnlyDestinationIsReadOnlyBufferExceptionButIsAValidSource() throws Exception {
    try (Pipe pipe = new Pipe()) {
      pipe.fill();
      ByteBuffer readOnly = ByteBuffer.allocateDirect(8).asReadOnlyBuffer();
      assertThrows(ReadOnlyBufferException.class, () -> NativeIO.read(pipe.r, readOnly));
      assertEquals(1, pipe.drain(), "nothing was read");
      assertEquals(8, NativeIO.write(pipe.w, readOnly));
      assertEquals(8, readOnly.position());
    }
  }

  @Test
  void badFdsAreErrnoExceptionEbadf() throws Exception {
    // A number never open (above any fd limit), so no other file can be hit by mistake.
    int closed = Integer.MAX_VALUE;
    ErrnoException onClose = assertThrows(ErrnoException.class, () -> NativeIO.close(closed));
    assertEquals(9, onClose.errno());
    assertEquals(closed, onClose.fd());
    assertTrue(
        onClose.getMessage().startsWith("close failed for fd " + closed + ": "),
        onClose.getMessage());
    assertTrue(onClose.getMessage().endsWith("(errno 9)"), onClose.getMessage());
    ErrnoException onRead =
        assertThrows(
            ErrnoException.class, () -> NativeIO.read(closed, ByteBuffer.allocateDirect(1)));
    assertEquals(9, onRead.errno());
    ErrnoException onWrite =
        assertThrows(ErrnoException.class, () -> NativeIO.write(closed, bytes(1)));
    assertEquals(9, onWrite.errno());
  }

  @Test
  void writeToAPipeWithoutReaderIsErrnoExceptionEpipe() throws Exception {
    try (Pipe pipe = new Pipe()) {
      pipe.closeRead();
      ErrnoException error =
          assertThrows(ErrnoException.class, () -> NativeIO.write(pipe.w, bytes(1)));
      assertEquals(32, error.errno(), error.getMessage());
      assertEquals(pipe.w, error.fd());
    }
  }

  @Test
  void eventFdCountsWritesAndReadResetsTheCount() throws Exception {
    int fd = NativeIO.eventFd(3);
    try {
      ByteBuffer value = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
      value.putLong(2).flip();
      assertEquals(8, NativeIO.write(fd, value));
      ByteBuffer count = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
      assertEquals(8, NativeIO.read(fd, count));
      assertEquals(5, count.getLong(0), "initial 3 + 2");
      count.clear();
      assertEquals(0, NativeIO.read(fd, count), "the read reset the count: would block");
    } finally {
      NativeIO.close(fd);
    }
    assertThrows(IllegalArgumentException.class, () -> NativeIO.eventFd(-1));
  }

  @Test
  void socketPairIsConnectedBothWays() throws Exception {
    try (SocketPair sockets = new SocketPair()) {
      assertEquals(
          4,
          NativeIO.write(
              sockets.a, ByteBuffer.allocateDirect(4).put(new byte[] {1, 2, 3, 4}).flip()));
      ByteBuffer atB = ByteBuffer.allocateDirect(4);
      assertEquals(4, NativeIO.read(sockets.b, atB));
      assertEquals(3, atB.get(2));
      assertEquals(
          2, NativeIO.write(sockets.b, ByteBuffer.allocateDirect(2).put(new byte[] {9, 8}).flip()));
      ByteBuffer atA = ByteBuffer.allocateDirect(2);
      assertEquals(2, NativeIO.read(sockets.a, atA));
      byte[] back = new byte[2];
      atA.flip().get(back);
      assertArrayEquals(new byte[] {9, 8}, back);
      sockets.closeB();
      assertEquals(
          -1, NativeIO.read(sockets.a, ByteBuffer.allocateDirect(1)), "EOF after peer close");
    }
  }

  @Test
  void createdFdsAreNonBlockingAndCloseOnExec() throws Exception {
    try (Pipe pipe = new Pipe();
        SocketPair sockets = new SocketPair()) {
      int eventFd = NativeIO.eventFd(0);
      try {
        for (int fd : new int[] {pipe.r, pipe.w, sockets.a, sockets.b, eventFd}) {
          int flags = openFlags(fd);
          assertEquals(O_NONBLOCK, flags & O_NONBLOCK, "fd " + fd + " is blocking");
          assertEquals(O_CLOEXEC, flags & O_CLOEXEC, "fd " + fd + " is not close-on-exec");
        }
      } finally {
        NativeIO.close(eventFd);
      }
    }
  }

  /** The open flags of {@code fd}, from /proc/self/fdinfo (octal). */
  private static int openFlags(int fd) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
      if (line.startsWith("flags:")) return Integer.parseInt(line.substring(6).strip(), 8);
    }
    throw new AssertionError("no flags in /proc/self/fdinfo/" + fd);
  }

  @Test
  void publicInternalNativesRefuseBadArgumentsInsteadOfCrashing() throws Exception {
    // io.eventwatcher.internal.Native is public, and on the class path every package is open
    // (the module exports only io.eventwatcher): misuse must come back as an error code,
    // never as a JVM crash.
    int[] pipe = NativeIO.pipe();
    try {
      java.nio.ByteBuffer small = java.nio.ByteBuffer.allocateDirect(16);
      int einval = -Errno.EINVAL;
      assertEquals(einval, io.eventwatcher.internal.Native.read(pipe[0], small, 8, 4096));
      assertEquals(einval, io.eventwatcher.internal.Native.write(pipe[1], small, -1, 4));
      assertEquals(einval, io.eventwatcher.internal.Native.write(pipe[1], null, 0, 4));
      assertEquals(
          einval,
          io.eventwatcher.internal.Native.read(pipe[0], java.nio.ByteBuffer.allocate(16), 0, 4));
      assertEquals(-Errno.EBADF, io.eventwatcher.internal.Native.fdOf(null));
      assertEquals(einval, io.eventwatcher.internal.Native.fdOfChannel(null));
    } finally {
      NativeIO.close(pipe[0]);
      NativeIO.close(pipe[1]);
    }
  }
}
