package io.eventwatcher.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * The command line of the jar: {@code java -jar eventwatcher.jar <command> [options]}. Bad input
 * gives a one-line message and exit status 2, a port in use a one-line message and 1; nothing
 * prints a stack trace.
 */
public final class Main {
  static final String USAGE =
      """
      Usage: java -jar eventwatcher.jar <command> [options]

      Commands:
        demo    start a chat server on a free loopback port, connect a few clients,
                show broadcast, fragmentation and a disconnect, print a summary, exit
        chat    run the broadcast chat server (newline-delimited text over TCP)
        http    run the HTTP/1.1 server (GET /, GET /stats)

      Run 'java -jar eventwatcher.jar <command> --help' for a command's options.
      """;

  static final String CHAT_USAGE =
      """
      Usage: java -jar eventwatcher.jar chat [--port N] [--host ADDRESS] [--threads N]
                                            [--max-line-bytes N] [--max-pending-bytes N]
                                            [--idle-timeout SECONDS] [--max-connections N]
                                            [--backlog N]

      Every line a client sends is delivered to every other connected client.
        --port N                TCP port (default 8080; 0 picks a free one)
        --host ADDRESS          address to bind (default 127.0.0.1)
        --threads N             event loops, one thread each, each with its own
                                listener on the port (SO_REUSEPORT) and its own
                                clients; lines cross loops in batches (default 1)
        --max-line-bytes N      longest line; longer closes its sender (default 65536)
        --max-pending-bytes N   bytes queued for a slow reader before it is
                                disconnected (default 1048576)
        --idle-timeout SECONDS  disconnect a client that sends nothing for this
                                long; fractions allowed (default 0: never)
        --max-connections N     clients at once; a connection beyond is closed at
                                once (default: no limit)
        --backlog N             listen backlog (default: the system's somaxconn, %d)
      Try it: nc 127.0.0.1 8080 (in two terminals). Stop with Ctrl-C.
      """
          .formatted(TcpServer.defaultBacklog());

  static final String HTTP_USAGE =
      """
      Usage: java -jar eventwatcher.jar http [--port N] [--host ADDRESS] [--threads N]
                                            [--max-header-bytes N] [--header-timeout SECONDS]
                                            [--idle-timeout SECONDS] [--write-timeout SECONDS]
                                            [--max-connections N] [--backlog N]

      Serves GET / (a short text) and GET /stats (live counters, JSON), with
      keep-alive and pipelining.
        --port N                  TCP port (default 8081; 0 picks a free one)
        --host ADDRESS            address to bind (default 127.0.0.1)
        --threads N               event loops, one thread each, each with its own
                                  listener on the port (SO_REUSEPORT; default 1)
        --max-header-bytes N      largest request head; larger gets 431 (default 8192)
        --header-timeout SECONDS  a request head not complete this long after the
                                  connection opened, or after its first byte, gets
                                  408 and the connection closes (default 10)
        --idle-timeout SECONDS    close a keep-alive connection that sends no new
                                  request for this long (default 60)
        --write-timeout SECONDS   close a connection whose pending output makes no
                                  progress for this long (default 30)
        --max-connections N       connections at once; one beyond gets 503 and is
                                  closed (default: no limit)
        --backlog N               listen backlog (default: the system's somaxconn, %d)
      Timeouts take fractions of a second (0.5) and 0 for none.
      Try it: curl http://127.0.0.1:8081/stats. Stop with Ctrl-C.
      """
          .formatted(TcpServer.defaultBacklog());

  static final String DEMO_USAGE =
      """
      Usage: java -jar eventwatcher.jar demo

      Starts the chat server on a free loopback port, connects three clients and
      narrates what happens: a broadcast, a line split across writes, several lines
      in one write, a client leaving. Prints a summary and exits 0.
      """;

  private Main() {}

  /** Entry point: runs the command and exits with its status. */
  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) System.exit(status);
  }

  /**
   * Runs a command. Server commands block until the JVM is asked to stop (SIGINT/SIGTERM), then
   * shut down gracefully and exit 0.
   *
   * @return the exit status (0 success, 1 runtime failure, 2 bad usage)
   */
  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.print(USAGE);
      return 2;
    }
    String command = args[0];
    String[] options = Arrays.copyOfRange(args, 1, args.length);
    try {
      switch (command) {
        case "-h", "--help", "help" -> {
          out.print(USAGE);
          return 0;
        }
        case "demo" -> {
          if (wantsHelp(options, out, DEMO_USAGE)) return 0;
          Options.parse(options, "demo"); // takes none: anything is an error
          return Demo.run(out);
        }
        case "chat" -> {
          if (wantsHelp(options, out, CHAT_USAGE)) return 0;
          return serveChat(
              Options.parse(
                  options,
                  "chat",
                  "--port",
                  "--host",
                  "--threads",
                  "--max-line-bytes",
                  "--max-pending-bytes",
                  "--idle-timeout",
                  "--max-connections",
                  "--backlog"),
              out);
        }
        case "http" -> {
          if (wantsHelp(options, out, HTTP_USAGE)) return 0;
          return serveHttp(
              Options.parse(
                  options,
                  "http",
                  "--port",
                  "--host",
                  "--threads",
                  "--max-header-bytes",
                  "--header-timeout",
                  "--idle-timeout",
                  "--write-timeout",
                  "--max-connections",
                  "--backlog"),
              out);
        }
        default -> throw new UsageException("unknown command '" + command + "' (try --help)");
      }
    } catch (UsageException e) {
      err.println("eventwatcher: " + e.getMessage());
      return 2;
    } catch (BindException e) {
      err.println("eventwatcher: cannot listen: " + e.getMessage());
      return 1;
    } catch (IOException | RuntimeException e) {
      err.println("eventwatcher: " + e);
      return 1;
    }
  }

  private static boolean wantsHelp(String[] options, PrintStream out, String usage) {
    for (String option : options) {
      if (option.equals("--help") || option.equals("-h")) {
        out.print(usage);
        return true;
      }
    }
    return false;
  }

  private static int serveChat(Options options, PrintStream out)
      throws IOException, UsageException {
    ChatServer.Config config = new ChatServer.Config();
    config.port = options.port(8080);
    config.host = options.string("--host", config.host);
    config.threads = options.positive("--threads", config.threads);
    config.maxLineBytes = options.positive("--max-line-bytes", config.maxLineBytes);
    config.maxPendingBytes = options.positive("--max-pending-bytes", config.maxPendingBytes);
    config.idleTimeout = options.seconds("--idle-timeout", config.idleTimeout);
    config.maxConnections = options.positive("--max-connections", config.maxConnections);
    config.backlog = options.positive("--backlog", config.backlog);
    config.log = out;
    ChatServer server = ChatServer.start(config);
    out.println(
        "chat server listening on "
            + config.host
            + ":"
            + server.port()
            + " on "
            + loops(config.threads)
            + " (Ctrl-C to stop)");
    serveUntilSignalled(server, out);
    return 0;
  }

  private static int serveHttp(Options options, PrintStream out)
      throws IOException, UsageException {
    HttpServer.Config config = new HttpServer.Config();
    config.port = options.port(8081);
    config.host = options.string("--host", config.host);
    config.threads = options.positive("--threads", config.threads);
    config.maxHeaderBytes = options.positive("--max-header-bytes", config.maxHeaderBytes);
    config.headerTimeout = options.seconds("--header-timeout", config.headerTimeout);
    config.idleTimeout = options.seconds("--idle-timeout", config.idleTimeout);
    config.writeTimeout = options.seconds("--write-timeout", config.writeTimeout);
    config.maxConnections = options.positive("--max-connections", config.maxConnections);
    config.backlog = options.positive("--backlog", config.backlog);
    HttpServer server = HttpServer.start(config);
    out.println(
        "http server listening on http://"
            + config.host
            + ":"
            + server.port()
            + "/ on "
            + loops(config.threads)
            + " (Ctrl-C to stop)");
    serveUntilSignalled(server, out);
    return 0;
  }

  private static String loops(int threads) {
    return threads + (threads == 1 ? " loop" : " loops");
  }

  /**
   * Blocks until SIGINT/SIGTERM. The JVM turns those signals into shutdown hooks; ours closes the
   * server (stop accepting, close clients) and halts with status 0, since the JVM would otherwise
   * exit with 128 + the signal number.
   */
  private static void serveUntilSignalled(AutoCloseable server, PrintStream out) {
    CountDownLatch never = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  out.println("shutting down: closing connections");
                  try {
                    server.close();
                  } catch (Exception e) {
                    out.println("error while shutting down: " + e);
                  }
                  out.println("stopped");
                  out.flush();
                  Runtime.getRuntime().halt(0);
                },
                "shutdown"));
    try {
      never.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A command-line mistake; its message is shown as is. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
