// The method tables that JNI_OnLoad registers, one per area.
#pragma once

#include <jni.h>

namespace eventwatcher::jni {

/// Natives of io.eventwatcher.internal.Native that drive a watcher.
extern const JNINativeMethod kWatcherNatives[];
extern const int kWatcherNativeCount;

/// Natives of io.eventwatcher.internal.Native for raw-fd I/O and fd lookup.
extern const JNINativeMethod kIoNatives[];
extern const int kIoNativeCount;

}  // namespace eventwatcher::jni
