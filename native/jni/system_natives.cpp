// Natives for what the Java side must learn from the system: errno values,
// their text, and the last-resort report on fd 2.
#include "error_report.hpp"
#include "natives.hpp"

#include <cerrno>
#include <cstring>

namespace eventwatcher::jni {
namespace {

// The errno values Java needs, in the order of io.eventwatcher.internal.Errno.
constexpr jint kErrnoValues[] = {EAGAIN, ENOENT, EBADF,  EPERM,  EINVAL, ENOMEM,
                                 EINTR,  EPIPE,  EMFILE, ENOSYS, EEXIST, ESRCH};

// int errnoValues(int[] out): copies the values into `out` (as many as fit)
// and returns how many there are.
jint errno_values(JNIEnv* env, jclass, jintArray out) {
  constexpr jint count = sizeof kErrnoValues / sizeof kErrnoValues[0];
  if (out == nullptr) return count;
  const jint length = env->GetArrayLength(out);
  env->SetIntArrayRegion(out, 0, length < count ? length : count, kErrnoValues);
  return count;
}

jstring error_text(JNIEnv* env, jclass, jint error) {
  char buffer[256];
  // GNU strerror_r returns the message, possibly not in `buffer`.
  const char* text = ::strerror_r(error, buffer, sizeof buffer);
  return env->NewStringUTF(text);
}

// int reportLost(int fd, int suppressed): the line written when the error
// handler and the logger both failed, built on the stack and written with one
// write(2) to fd 2: no Java object, no allocation, nothing opened. Returns 0.
jint report_lost(JNIEnv*, jclass, jint fd, jint suppressed) {
  detail::StderrLine line;
  line << "eventwatcher: an error in ";
  if (fd >= 0) {
    line << "a callback for fd " << static_cast<long long>(fd);
  } else {
    line << "a task or the loop";
  }
  line << " was lost: the error handler and the logger failed";
  if (suppressed > 0) {
    line << " (" << static_cast<long long>(suppressed) << " more reports suppressed)";
  }
  line.write();
  return 0;
}

}  // namespace

const JNINativeMethod kSystemNatives[] = {
    {const_cast<char*>("errnoValues"), const_cast<char*>("([I)I"),
     reinterpret_cast<void*>(errno_values)},
    {const_cast<char*>("errorText"), const_cast<char*>("(I)Ljava/lang/String;"),
     reinterpret_cast<void*>(error_text)},
    {const_cast<char*>("reportLost"), const_cast<char*>("(II)I"),
     reinterpret_cast<void*>(report_lost)},
};
const int kSystemNativeCount = sizeof kSystemNatives / sizeof kSystemNatives[0];

}  // namespace eventwatcher::jni
