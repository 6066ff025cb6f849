// The method tables that JNI_OnLoad registers, one per area. Every native
// returns a result (a count, a handle, an fd or -errno) and none throws.
#pragma once

#include <jni.h>

namespace eventwatcher::jni {

/// Natives of io.eventwatcher.internal.Native that drive a watcher.
extern const JNINativeMethod kWatcherNatives[];
extern const int kWatcherNativeCount;

/// Natives of io.eventwatcher.internal.Native for raw-fd I/O and fd lookup.
extern const JNINativeMethod kIoNatives[];
extern const int kIoNativeCount;

/// Natives of io.eventwatcher.internal.Native for child processes.
extern const JNINativeMethod kProcessNatives[];
extern const int kProcessNativeCount;

/// Natives of io.eventwatcher.internal.Native for errno values and text, and
/// the last-resort error report.
extern const JNINativeMethod kSystemNatives[];
extern const int kSystemNativeCount;

}  // namespace eventwatcher::jni
