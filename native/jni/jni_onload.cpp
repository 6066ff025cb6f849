// JNI_OnLoad / JNI_OnUnload: the only symbols this library exports.
#include "jni_refs.hpp"
#include "natives.hpp"

#include <initializer_list>

namespace eventwatcher::jni {

Refs refs;

void throw_new(JNIEnv* env, jclass type, const char* message) noexcept {
  if (!env->ExceptionCheck()) env->ThrowNew(type, message);
}

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
  for (jclass* global : {&refs.io_exception, &refs.illegal_argument, &refs.illegal_state,
                         &refs.out_of_memory, &refs.sel_ch_impl}) {
    if (*global != nullptr) env->DeleteGlobalRef(*global);
    *global = nullptr;
  }
}

bool load(JNIEnv* env) {
  refs.io_exception = global_class(env, "java/io/IOException");
  refs.illegal_argument = global_class(env, "java/lang/IllegalArgumentException");
  refs.illegal_state = global_class(env, "java/lang/IllegalStateException");
  refs.out_of_memory = global_class(env, "java/lang/OutOfMemoryError");
  if (env->ExceptionCheck()) return false;

  jclass file_descriptor = env->FindClass("java/io/FileDescriptor");
  if (file_descriptor == nullptr) return false;
  refs.file_descriptor_fd = env->GetFieldID(file_descriptor, "fd", "I");
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
      env->RegisterNatives(native, kIoNatives, kIoNativeCount) == JNI_OK;
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
