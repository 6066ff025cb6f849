/**
 * eventwatcher: watch any file descriptor from Java with a native epoll event loop.
 *
 * <p>Only {@code io.eventwatcher} is exported. {@code io.eventwatcher.internal} (raw reads,
 * writes and closes of any descriptor) and the relocated copies of native-lib-loader and SLF4J
 * under {@code io.eventwatcher.shaded} stay inside the module. {@code natives.linux_64} holds
 * the JNI library; it is opened so that the loader, which looks resources up through the class
 * loader, can extract it. Loading it is a restricted operation on JDK 22 and later: grant it with
 * {@code --enable-native-access=io.eventwatcher}.
 *
 * <p>This descriptor is added to the jar after shading (moditect), because it describes the
 * shaded jar: compiled with the sources, it would have to require native-lib-loader, which the
 * jar carries inside itself.
 */
module io.eventwatcher {
  exports io.eventwatcher;

  opens natives.linux_64;
}
