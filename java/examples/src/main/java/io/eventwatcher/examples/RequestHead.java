package io.eventwatcher.examples;

import java.nio.ByteBuffer;

/**
 * An HTTP/1.x request head parsed in place: no strings, no allocation. Reused per connection. Only
 * what the server needs is kept: the method, the path's position, keep-alive and whether a body
 * follows.
 */
final class RequestHead {
  boolean isGet;
  boolean isHead;
  boolean keepAlive;
  boolean hasBody;
  private int pathStart;
  private int pathEnd;

  /**
   * Finds the end of the head that begins at {@code start}: the index just past its blank line.
   *
   * @param scanned bytes before this index were already searched (the head is incomplete there)
   * @return the end, or -1 if the head is not complete yet
   */
  static int find(ByteBuffer in, int start, int scanned) {
    for (int i = Math.max(start, scanned - 3); i + 3 < in.position(); i++) {
      if (in.get(i) == '\r'
          && in.get(i + 1) == '\n'
          && in.get(i + 2) == '\r'
          && in.get(i + 3) == '\n') {
        return i + 4;
      }
    }
    return -1;
  }

  /**
   * Parses the head in {@code in[start, end)}.
   *
   * @return false if the request line or a header line is malformed
   */
  boolean parse(ByteBuffer in, int start, int end) {
    isGet = isHead = hasBody = false;
    int lineEnd = lineEnd(in, start, end);
    // Request line: METHOD SP request-target SP HTTP/1.x
    int space = indexOf(in, start, lineEnd, (byte) ' ');
    if (space <= start || !isToken(in, start, space)) return false;
    isGet = matches(in, start, space, "GET");
    isHead = matches(in, start, space, "HEAD");
    pathStart = space + 1;
    int secondSpace = indexOf(in, pathStart, lineEnd, (byte) ' ');
    if (secondSpace < 0 || secondSpace == pathStart || in.get(pathStart) != '/') return false;
    int query = indexOf(in, pathStart, secondSpace, (byte) '?');
    pathEnd = query < 0 ? secondSpace : query;
    int version = secondSpace + 1;
    if (lineEnd - version != 8 || !matches(in, version, version + 7, "HTTP/1.")) return false;
    byte minor = in.get(version + 7);
    if (minor != '0' && minor != '1') return false;
    keepAlive = minor == '1';
    // Headers: only Connection, Content-Length and Transfer-Encoding matter here.
    for (int line = lineEnd + 2; line < end - 2; line = lineEnd + 2) {
      lineEnd = lineEnd(in, line, end);
      int colon = indexOf(in, line, lineEnd, (byte) ':');
      if (colon <= line) return false;
      int value = colon + 1;
      while (value < lineEnd && in.get(value) == ' ') value++;
      if (matchesIgnoreCase(in, line, colon, "connection")) {
        if (containsIgnoreCase(in, value, lineEnd, "close")) keepAlive = false;
        if (containsIgnoreCase(in, value, lineEnd, "keep-alive")) keepAlive = true;
      } else if (matchesIgnoreCase(in, line, colon, "content-length")) {
        hasBody |= !(lineEnd - value == 1 && in.get(value) == '0');
      } else if (matchesIgnoreCase(in, line, colon, "transfer-encoding")) {
        hasBody = true;
      }
    }
    return true;
  }

  /** Whether the path (without query) equals {@code path}. */
  boolean pathIs(ByteBuffer in, String path) {
    return matches(in, pathStart, pathEnd, path);
  }

  private static int lineEnd(ByteBuffer in, int from, int end) {
    for (int i = from; i + 1 < end; i++) {
      if (in.get(i) == '\r' && in.get(i + 1) == '\n') return i;
    }
    return end;
  }

  private static int indexOf(ByteBuffer in, int from, int to, byte wanted) {
    for (int i = from; i < to; i++) {
      if (in.get(i) == wanted) return i;
    }
    return -1;
  }

  private static boolean isToken(ByteBuffer in, int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = in.get(i);
      if (b < 'A' || b > 'Z') return false;
    }
    return true;
  }

  private static boolean matches(ByteBuffer in, int from, int to, String text) {
    if (to - from != text.length()) return false;
    for (int i = 0; i < text.length(); i++) {
      if (in.get(from + i) != text.charAt(i)) return false;
    }
    return true;
  }

  private static boolean matchesIgnoreCase(ByteBuffer in, int from, int to, String lowerText) {
    if (to - from != lowerText.length()) return false;
    for (int i = 0; i < lowerText.length(); i++) {
      if (Character.toLowerCase((char) in.get(from + i)) != lowerText.charAt(i)) return false;
    }
    return true;
  }

  private static boolean containsIgnoreCase(ByteBuffer in, int from, int to, String lowerText) {
    for (int i = from; i + lowerText.length() <= to; i++) {
      if (matchesIgnoreCase(in, i, i + lowerText.length(), lowerText)) return true;
    }
    return false;
  }
}
