// JNI_OnLoad / JNI_OnUnload: the only symbols this library exports.
#include "jni_refs.hpp"
#include "natives.hpp"

namespace eventwatcher::jni {

Refs refs;

namespace {

constexpr const char* kNativeClass = "io/eventwatcher/internal/Native";

jclass global_class(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr) return nullptr;
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

void release(JNIEnv* env) {
  if (refs.sel_ch_impl != nullptr) env->DeleteGlobalRef(refs.sel_ch_impl);
  refs = Refs{};
}

bool load(JNIEnv* env) {
  jclass file_descriptor = env->FindClass("java/io/FileDescriptor");
  if (file_descriptor == nullptr) return false;
  refs.file_descriptor_fd = env->GetFieldID(file_descriptor, "fd", "I");
  if (refs.file_descriptor_fd != nullptr) {
    // JDK 10+: cancels the cleaner that would close the fd when the
    // descriptor is collected. Without it, FdChannel cannot take over a
    // FileDescriptor, but everything else works.
    refs.file_descriptor_unregister_cleanup =
        env->GetMethodID(file_descriptor, "unregisterCleanup", "()V");
    if (refs.file_descriptor_unregister_cleanup == nullptr) env->ExceptionClear();
  }
  env->DeleteLocalRef(file_descriptor);
  if (refs.file_descriptor_fd == nullptr) return false;

  // JDK channels implement sun.nio.ch.SelChImpl. Without it (another JDK),
  // channels are not supported, but everything else is.
  refs.sel_ch_impl = global_class(env, "sun/nio/ch/SelChImpl");
  if (refs.sel_ch_impl != nullptr) {
    refs.sel_ch_impl_fd_val = env->GetMethodID(refs.sel_ch_impl, "getFDVal", "()I");
  }
  if (refs.sel_ch_impl_fd_val == nullptr) {
    env->ExceptionClear();
    if (refs.sel_ch_impl != nullptr) env->DeleteGlobalRef(refs.sel_ch_impl);
    refs.sel_ch_impl = nullptr;
  }

  jclass native = env->FindClass(kNativeClass);
  if (native == nullptr) return false;
  const bool registered =
      env->RegisterNatives(native, kWatcherNatives, kWatcherNativeCount) == JNI_OK &&
      env->RegisterNatives(native, kIoNatives, kIoNativeCount) == JNI_OK &&
      env->RegisterNatives(native, kProcessNatives, kProcessNativeCount) == JNI_OK &&
      env->RegisterNatives(native, kSystemNatives, kSystemNativeCount) == JNI_OK;
  env->DeleteLocalRef(native);
  return registered;
}

}  // namespace
}  // namespace eventwatcher::jni

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
  if (!eventwatcher::jni::load(env)) {
    // Unwind: leave no global ref behind; the pending exception (if any)
    // explains the failure to System.load's caller.
    eventwatcher::jni::release(env);
    return JNI_ERR;
  }
  return JNI_VERSION_1_8;
}

extern "C" JNIEXPORT void JNICALL JNI_OnUnload(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8) != JNI_OK) return;
  eventwatcher::jni::release(env);
}
