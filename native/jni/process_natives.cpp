// Natives of io.eventwatcher.internal.Native for child processes: they
// marshal Java arrays into a SpawnRequest and return 0, a value or -errno.
#include "natives.hpp"
#include "spawn.hpp"

#include <cerrno>
#include <new>
#include <string>
#include <vector>

namespace eventwatcher::jni {
namespace {

// The bytes of a byte[] as a string; false if it holds a NUL (which would
// cut the C string short) or the array is null.
bool to_string(JNIEnv* env, jbyteArray bytes, std::string& out) {
  if (bytes == nullptr) return false;
  const jsize length = env->GetArrayLength(bytes);
  out.resize(static_cast<std::size_t>(length));
  env->GetByteArrayRegion(bytes, 0, length, reinterpret_cast<jbyte*>(out.data()));
  return out.find('\0') == std::string::npos;
}

// The elements of a byte[][]; false for a null array or element, or a NUL.
// Each element's local reference is dropped at once, so a long environment
// never exceeds the frame's local reference capacity.
bool to_strings(JNIEnv* env, jobjectArray arrays, std::vector<std::string>& out) {
  if (arrays == nullptr) return false;
  const jsize count = env->GetArrayLength(arrays);
  out.resize(static_cast<std::size_t>(count));
  for (jsize i = 0; i < count; ++i) {
    auto element = static_cast<jbyteArray>(env->GetObjectArrayElement(arrays, i));
    const bool ok = to_string(env, element, out[static_cast<std::size_t>(i)]);
    if (element != nullptr) env->DeleteLocalRef(element);
    if (!ok) return false;
  }
  return true;
}

// Fills `request` from the Java arguments; false (-EINVAL) if any is malformed.
bool to_request(JNIEnv* env, jobjectArray argv, jobjectArray environment, jbyteArray directory,
                jintArray redirects, jobjectArray paths, SpawnRequest& request) {
  if (!to_strings(env, argv, request.argv) || request.argv.empty()) return false;
  request.inherit_environment = environment == nullptr;
  if (environment != nullptr && !to_strings(env, environment, request.environment)) return false;
  if (directory != nullptr && !to_string(env, directory, request.directory)) return false;
  if (redirects == nullptr || env->GetArrayLength(redirects) != 3 || paths == nullptr ||
      env->GetArrayLength(paths) != 3) {
    return false;
  }
  jint kinds[3];
  env->GetIntArrayRegion(redirects, 0, 3, kinds);
  for (int i = 0; i < 3; ++i) {
    if (kinds[i] < 0 || kinds[i] > static_cast<jint>(Redirect::append)) return false;
    request.redirects[i] = static_cast<Redirect>(kinds[i]);
    if (kinds[i] < static_cast<jint>(Redirect::read)) continue;
    auto path = static_cast<jbyteArray>(env->GetObjectArrayElement(paths, i));
    const bool ok = to_string(env, path, request.paths[i]);
    if (path != nullptr) env->DeleteLocalRef(path);
    if (!ok) return false;
  }
  return true;
}

// int spawn(byte[][] argv, byte[][] environment (null: inherit), byte[]
// directory (null: inherit), int[3] redirects, byte[][3] paths, boolean
// errorToOutput, int[5] out): 0 with out = {pid, pidfd, stdin, stdout,
// stderr} (-1 for a stream not piped), or -errno.
jint spawn_process(JNIEnv* env, jclass, jobjectArray argv, jobjectArray environment,
                   jbyteArray directory, jintArray redirects, jobjectArray paths,
                   jboolean error_to_output, jintArray out) {
  if (out == nullptr || env->GetArrayLength(out) != 5) return -EINVAL;
  SpawnResult result;
  int error;
  try {
    SpawnRequest request;
    if (!to_request(env, argv, environment, directory, redirects, paths, request)) return -EINVAL;
    request.error_to_output = error_to_output;
    error = spawn(request, result);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  if (error != 0) return -error;
  const jint values[5] = {result.pid, result.pidfd, result.pipes[0], result.pipes[1],
                          result.pipes[2]};
  env->SetIntArrayRegion(out, 0, 5, values);
  return 0;
}

jint signal_process(JNIEnv*, jclass, jint pidfd, jint signal) {
  return -send_signal(pidfd, signal);
}

jint reap_process(JNIEnv*, jclass, jint pid, jboolean wait) {
  return pid > 0 ? reap(pid, wait) : -EINVAL;
}

jint pidfd_available(JNIEnv*, jclass) {
  return -pidfd_support();
}

}  // namespace

const JNINativeMethod kProcessNatives[] = {
    {const_cast<char*>("spawn"), const_cast<char*>("([[B[[B[B[I[[BZ[I)I"),
     reinterpret_cast<void*>(spawn_process)},
    {const_cast<char*>("signal"), const_cast<char*>("(II)I"),
     reinterpret_cast<void*>(signal_process)},
    {const_cast<char*>("reap"), const_cast<char*>("(IZ)I"), reinterpret_cast<void*>(reap_process)},
    {const_cast<char*>("pidfdSupport"), const_cast<char*>("()I"),
     reinterpret_cast<void*>(pidfd_available)},
};
const int kProcessNativeCount = sizeof kProcessNatives / sizeof kProcessNatives[0];

}  // namespace eventwatcher::jni
