// Classes, method and field IDs cached once in JNI_OnLoad.
#pragma once

#include <jni.h>

namespace eventwatcher::jni {

/// Looked up once when the library loads; global refs keep the classes (and
/// so the IDs) valid until JNI_OnUnload. Read-only afterwards, so any thread
/// may use them.
struct Refs {
  jfieldID file_descriptor_fd = nullptr;                   // int FileDescriptor.fd
  jmethodID file_descriptor_unregister_cleanup = nullptr;  // null if this JDK lacks it
  jclass sel_ch_impl = nullptr;            // sun.nio.ch.SelChImpl; null if this JDK lacks it
  jmethodID sel_ch_impl_fd_val = nullptr;  // int SelChImpl.getFDVal()
};

/// The cache; filled before any native method can run.
extern Refs refs;

}  // namespace eventwatcher::jni
