import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A user's first program against the jar alone: watch a pipe, read what arrives on the loop
 * thread, run a task, close. Prints one line per check; tests/jar/jar_alone_test.sh compares them.
 */
public final class Smoke {
  public static void main(String[] args) throws Exception {
    if (!EventWatcher.isAvailable()) {
      System.out.println("unavailable: " + EventWatcher.unavailabilityCause());
      System.exit(1);
    }
    int[] pipe = NativeIO.pipe();
    try (EventWatcher watcher = EventWatcher.builder().threadName("smoke-loop").build()) {
      CompletableFuture<String> received = new CompletableFuture<>();
      watcher.watch(pipe[0], WatchFlag.READ, fd -> {
        ByteBuffer buffer = ByteBuffer.allocateDirect(64);
        NativeIO.read(fd, buffer);
        watcher.unwatch(fd, WatchFlag.READ);
        buffer.flip();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        received.complete(Thread.currentThread().getName() + " read " + new String(bytes, StandardCharsets.US_ASCII));
      });
      ByteBuffer hello = ByteBuffer.allocateDirect(5).put("hello".getBytes(StandardCharsets.US_ASCII)).flip();
      NativeIO.write(pipe[1], hello);
      System.out.println(received.get(10, TimeUnit.SECONDS));
      CompletableFuture<Boolean> task = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(() -> task.complete(watcher.inEventWatcherLoop()));
      System.out.println("task on loop thread: " + task.get(10, TimeUnit.SECONDS));
    } finally {
      NativeIO.close(pipe[0]);
      NativeIO.close(pipe[1]);
    }
    System.out.println("native watchers left: " + EventWatcher.liveNativeWatchers());
  }
}
