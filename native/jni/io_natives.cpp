// Natives for raw-fd I/O and for reading the fd behind Java objects. Every
// syscall result comes back as a count or -errno; Java builds the exception.
#include "jni_refs.hpp"
#include "natives.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace eventwatcher::jni {
namespace {

// Packs two fds into a jlong (first in the high half), or returns -errno.
jlong pair_or_errno(int result, const int fds[2]) {
  if (result != 0) return -errno;
  return static_cast<jlong>(static_cast<std::uint64_t>(static_cast<std::uint32_t>(fds[0])) << 32 |
                            static_cast<std::uint32_t>(fds[1]));
}

// The memory of `buffer` if it is a direct buffer and [position, position +
// length) lies inside it; nullptr otherwise. These natives are reachable from
// any Java code, so they never trust their arguments.
char* checked_range(JNIEnv* env, jobject buffer, jint position, jint length) {
  if (buffer == nullptr || position < 0 || length < 0) return nullptr;
  auto* base = static_cast<char*>(env->GetDirectBufferAddress(buffer));
  if (base == nullptr) return nullptr;
  const jlong capacity = env->GetDirectBufferCapacity(buffer);
  return static_cast<jlong>(position) + length <= capacity ? base + position : nullptr;
}

// int read(int fd, ByteBuffer direct, int position, int length): bytes read,
// 0 at EOF, or -errno (-EAGAIN when it would block).
jint read_fd(JNIEnv* env, jclass, jint fd, jobject buffer, jint position, jint length) {
  char* base = checked_range(env, buffer, position, length);
  if (base == nullptr) return -EINVAL;
  ssize_t n;
  do {
    n = ::read(fd, base, static_cast<std::size_t>(length));
  } while (n < 0 && errno == EINTR);
  return n >= 0 ? static_cast<jint>(n) : -errno;
}

// int write(int fd, ByteBuffer direct, int position, int length): bytes
// written or -errno. A socket whose peer has gone gives -EPIPE: the JVM
// installs a SIGPIPE handler that ignores the signal, so write(2) is safe.
jint write_fd(JNIEnv* env, jclass, jint fd, jobject buffer, jint position, jint length) {
  const char* base = checked_range(env, buffer, position, length);
  if (base == nullptr) return -EINVAL;
  ssize_t n;
  do {
    n = ::write(fd, base, static_cast<std::size_t>(length));
  } while (n < 0 && errno == EINTR);
  return n >= 0 ? static_cast<jint>(n) : -errno;
}

// int close(int fd): 0 or -errno. EINTR is not retried: on Linux the fd is
// released even then, and a retry could close a reused number.
jint close_fd(JNIEnv*, jclass, jint fd) {
  if (::close(fd) == 0 || errno == EINTR) return 0;
  return -errno;
}

jlong pipe_fds(JNIEnv*, jclass) {
  int fds[2];
  return pair_or_errno(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), fds);
}

jlong socketpair_fds(JNIEnv*, jclass) {
  int fds[2];
  return pair_or_errno(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
                       fds);
}

// int setNonBlocking(int fd, boolean nonBlocking): 0 or -errno.
jint set_non_blocking(JNIEnv*, jclass, jint fd, jboolean non_blocking) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  const int wanted = non_blocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (wanted == flags) return 0;
  return ::fcntl(fd, F_SETFL, wanted) == 0 ? 0 : -errno;
}

jint eventfd_fd(JNIEnv*, jclass, jint initial) {
  const int fd = ::eventfd(static_cast<unsigned>(initial), EFD_NONBLOCK | EFD_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

// int fdOf(FileDescriptor): the private int field, which JNI may read
// without any --add-opens; -EBADF for null or an invalid descriptor.
jint fd_of(JNIEnv* env, jclass, jobject descriptor) {
  if (descriptor == nullptr) return -EBADF;
  const jint fd = env->GetIntField(descriptor, refs.file_descriptor_fd);
  return fd >= 0 ? fd : -EBADF;
}

// int releaseFd(FileDescriptor, int fd): takes fd out of the descriptor, under
// its monitor as the JDK's own close does: its cleaner is cancelled and it
// reads as closed (-1), so neither its stream's close nor the collector closes
// the number again. 0; -EBADF if it no longer holds fd; -ENOSYS if this JDK's
// FileDescriptor has no unregisterCleanup (nothing done).
jint release_fd(JNIEnv* env, jclass, jobject descriptor, jint fd) {
  if (refs.file_descriptor_unregister_cleanup == nullptr) return -ENOSYS;
  if (descriptor == nullptr) return -EBADF;
  if (env->MonitorEnter(descriptor) != JNI_OK) {
    env->ExceptionClear();  // results, not exceptions, cross this boundary
    return -ENOMEM;
  }
  jint result = -EBADF;
  if (env->GetIntField(descriptor, refs.file_descriptor_fd) == fd) {
    env->CallVoidMethod(descriptor, refs.file_descriptor_unregister_cleanup);
    if (env->ExceptionCheck()) {
      env->ExceptionClear();
      result = -ENOMEM;
    } else {
      env->SetIntField(descriptor, refs.file_descriptor_fd, -1);
      result = 0;
    }
  }
  env->MonitorExit(descriptor);
  return result;
}

// boolean canReleaseFd(): whether releaseFd works on this JDK.
jboolean can_release_fd(JNIEnv*, jclass) {
  return refs.file_descriptor_unregister_cleanup != nullptr ? JNI_TRUE : JNI_FALSE;
}

// int fdOfChannel(SelectableChannel): SelChImpl.getFDVal(); -EINVAL for null
// or a channel of another provider, -ENOSYS if this JDK has no SelChImpl.
jint fd_of_channel(JNIEnv* env, jclass, jobject channel) {
  if (refs.sel_ch_impl == nullptr) return -ENOSYS;
  if (channel == nullptr || !env->IsInstanceOf(channel, refs.sel_ch_impl)) return -EINVAL;
  const jint fd = env->CallIntMethod(channel, refs.sel_ch_impl_fd_val);
  if (env->ExceptionCheck()) {
    env->ExceptionClear();  // results, not exceptions, cross this boundary
    return -EINVAL;
  }
  return fd >= 0 ? fd : -EBADF;
}

}  // namespace

const JNINativeMethod kIoNatives[] = {
    {const_cast<char*>("read"), const_cast<char*>("(ILjava/nio/ByteBuffer;II)I"),
     reinterpret_cast<void*>(read_fd)},
    {const_cast<char*>("write"), const_cast<char*>("(ILjava/nio/ByteBuffer;II)I"),
     reinterpret_cast<void*>(write_fd)},
    {const_cast<char*>("close"), const_cast<char*>("(I)I"), reinterpret_cast<void*>(close_fd)},
    {const_cast<char*>("pipe"), const_cast<char*>("()J"), reinterpret_cast<void*>(pipe_fds)},
    {const_cast<char*>("socketPair"), const_cast<char*>("()J"),
     reinterpret_cast<void*>(socketpair_fds)},
    {const_cast<char*>("setNonBlocking"), const_cast<char*>("(IZ)I"),
     reinterpret_cast<void*>(set_non_blocking)},
    {const_cast<char*>("eventFd"), const_cast<char*>("(I)I"), reinterpret_cast<void*>(eventfd_fd)},
    {const_cast<char*>("fdOf"), const_cast<char*>("(Ljava/io/FileDescriptor;)I"),
     reinterpret_cast<void*>(fd_of)},
    {const_cast<char*>("releaseFd"), const_cast<char*>("(Ljava/io/FileDescriptor;I)I"),
     reinterpret_cast<void*>(release_fd)},
    {const_cast<char*>("canReleaseFd"), const_cast<char*>("()Z"),
     reinterpret_cast<void*>(can_release_fd)},
    {const_cast<char*>("fdOfChannel"),
     const_cast<char*>("(Ljava/nio/channels/SelectableChannel;)I"),
     reinterpret_cast<void*>(fd_of_channel)},
};
const int kIoNativeCount = sizeof kIoNatives / sizeof kIoNatives[0];

}  // namespace eventwatcher::jni
