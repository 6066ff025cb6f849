package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.bytes;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.SocketPair;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Hang-up and error are delivered to both READ and WRITE registrations of the fd, so the callback's
 * read or write observes EOF or the error.
 */
class HangupTest {
  @Test
  void readCallbackSeesEofAndUnwatchingStopsIt() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger eofs = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            calls.incrementAndGet();
            if (NativeIO.read(fd, ByteBuffer.allocateDirect(1)) == -1) {
              eofs.incrementAndGet();
              watcher.unwatch(fd, WatchFlag.READ);
            }
          });
      pipe.closeWrite(); // EPOLLHUP on the read end
      eventually(() -> eofs.get() == 1, "EOF in the read callback");
      flushTurns(watcher, 5);
      assertEquals(1, calls.get(), "a callback that unwatches on EOF must not spin");
    }
  }

  @Test
  void writeCallbackSeesEpipeWhenTheReaderCloses() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fillUp(); // full: not writable, so only an error can wake it
      CompletableFuture<Integer> writeErrno = new CompletableFuture<>();
      watcher.watch(
          pipe.w,
          WatchFlag.WRITE,
          fd -> {
            watcher.unwatch(fd, WatchFlag.WRITE);
            try {
              NativeIO.write(fd, bytes(1));
              writeErrno.complete(0);
            } catch (ErrnoException e) {
              writeErrno.complete(e.errno());
            }
          });
      pipe.closeRead(); // EPOLLERR on the write end
      assertEquals(32, await(writeErrno, "the write callback"), "expected EPIPE");
    }
  }

  @Test
  void bothCallbacksOfAnFdSeePeerClose() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        SocketPair sockets = new SocketPair()) {
      int fd = sockets.a;
      ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
      while (NativeIO.write(fd, chunk) > 0) chunk.clear(); // not writable until the peer goes
      CompletableFuture<Integer> readResult = new CompletableFuture<>(); // -1 EOF, else errno
      CompletableFuture<Integer> writeErrno = new CompletableFuture<>();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            watcher.unwatch(fd, WatchFlag.READ);
            try {
              readResult.complete(NativeIO.read(fd, ByteBuffer.allocateDirect(1)));
            } catch (ErrnoException e) {
              readResult.complete(e.errno());
            }
          });
      watcher.watch(
          fd,
          WatchFlag.WRITE,
          ignored -> {
            watcher.unwatch(fd, WatchFlag.WRITE);
            try {
              NativeIO.write(fd, bytes(1));
              writeErrno.complete(0);
            } catch (ErrnoException e) {
              writeErrno.complete(e.errno());
            }
          });
      sockets.closeB();
      // The peer closed with our data unread, so it reset the connection.
      assertEquals(104, await(readResult, "the read callback"), "expected ECONNRESET");
      assertEquals(32, await(writeErrno, "the write callback"), "expected EPIPE");
    }
  }
}
