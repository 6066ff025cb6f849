// Classes, method and field IDs cached once in JNI_OnLoad.
#pragma once

#include <jni.h>

namespace eventwatcher::jni {

/// Looked up once when the library loads; global refs keep the classes (and
/// so the IDs) valid until JNI_OnUnload. Read-only afterwards, so any thread
/// may use them.
struct Refs {
  jclass io_exception = nullptr;
  jclass illegal_argument = nullptr;
  jclass illegal_state = nullptr;
  jclass out_of_memory = nullptr;
  jmethodID reactor_on_turn = nullptr;     // void Reactor.onTurn(int count)
  jfieldID file_descriptor_fd = nullptr;   // int FileDescriptor.fd
  jclass sel_ch_impl = nullptr;            // sun.nio.ch.SelChImpl; null if this JDK lacks it
  jmethodID sel_ch_impl_fd_val = nullptr;  // int SelChImpl.getFDVal()
};

/// The cache; filled before any native method can run.
extern Refs refs;

/// Throws `type` with `message` into Java. Returns nothing useful: the
/// caller returns to Java right after.
void throw_new(JNIEnv* env, jclass type, const char* message) noexcept;

}  // namespace eventwatcher::jni
