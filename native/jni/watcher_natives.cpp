// Natives that create, run and steer a WatcherBridge. Handles are the
// bridge's address as a jlong; the Java side guarantees a handle is only used
// between create and destroy (see io.eventwatcher.internal.HandleGuard).
#include "jni_refs.hpp"
#include "natives.hpp"
#include "watcher_bridge.hpp"

#include <atomic>
#include <exception>
#include <new>
#include <string>
#include <system_error>

namespace eventwatcher::jni {
namespace {

// Bridges alive now; lets tests prove that close() frees native memory.
std::atomic<int> live_bridges{0};

WatcherBridge* bridge(jlong handle) {
  return reinterpret_cast<WatcherBridge*>(handle);
}

WatchFlag flag_of(jint flag) {
  return flag == 0 ? WatchFlag::Read : WatchFlag::Write;
}

// long create(int maxEvents, ByteBuffer batch): batch is a direct buffer of
// 2 * maxEvents ints. Throws IllegalArgumentException, IOException.
jlong create(JNIEnv* env, jclass, jint max_events, jobject batch) {
  auto* memory = static_cast<std::int32_t*>(env->GetDirectBufferAddress(batch));
  if (max_events < 1 || memory == nullptr ||
      env->GetDirectBufferCapacity(batch) < 2 * static_cast<jlong>(max_events) * 4) {
    throw_new(env, refs.illegal_argument,
              "batch buffer must be direct and hold 2 * maxEvents ints");
    return 0;
  }
  try {
    auto* created = new WatcherBridge(max_events, memory);
    live_bridges.fetch_add(1, std::memory_order_relaxed);
    return reinterpret_cast<jlong>(created);
  } catch (const std::system_error& error) {
    throw_new(env, refs.io_exception, error.what());
  } catch (const std::bad_alloc&) {
    throw_new(env, refs.out_of_memory, "eventwatcher: native allocation failed");
  } catch (const std::exception& error) {
    throw_new(env, refs.illegal_state, error.what());
  }
  return 0;
}

// void begin(long handle): the calling thread becomes the loop thread.
void begin(JNIEnv* env, jclass, jlong handle) {
  try {
    bridge(handle)->begin();
  } catch (const std::exception& error) {
    throw_new(env, refs.illegal_state, error.what());
  }
}

// int turn(long handle): runs one loop turn; returns the batch size, or -1
// once stopped. Throws IOException if epoll_wait fails.
jint turn(JNIEnv* env, jclass, jlong handle) {
  try {
    return bridge(handle)->turn();
  } catch (const std::system_error& error) {
    throw_new(env, refs.io_exception, error.what());
  } catch (const std::exception& error) {
    throw_new(env, refs.illegal_state, error.what());
  }
  return -1;
}

void end(JNIEnv*, jclass, jlong handle) {
  bridge(handle)->end();
}

jint watch(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  return bridge(handle)->watch(fd, flag_of(flag));
}

jint unwatch(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  return bridge(handle)->unwatch(fd, flag_of(flag));
}

jint suspend(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  return bridge(handle)->suspend(fd, flag_of(flag));
}

jint resume(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  return bridge(handle)->resume(fd, flag_of(flag));
}

jint unwatch_all(JNIEnv*, jclass, jlong handle) {
  return bridge(handle)->unwatch_all();
}

void wake(JNIEnv* env, jclass, jlong handle) {
  try {
    bridge(handle)->wake();
  } catch (const std::bad_alloc&) {
    throw_new(env, refs.out_of_memory, "eventwatcher: native allocation failed");
  }
}

void stop(JNIEnv*, jclass, jlong handle) {
  bridge(handle)->stop();
}

void destroy(JNIEnv*, jclass, jlong handle) {
  delete bridge(handle);
  live_bridges.fetch_sub(1, std::memory_order_relaxed);
}

jint live_watchers(JNIEnv*, jclass) {
  return live_bridges.load(std::memory_order_relaxed);
}

}  // namespace

const JNINativeMethod kWatcherNatives[] = {
    {const_cast<char*>("create"), const_cast<char*>("(ILjava/nio/ByteBuffer;)J"),
     reinterpret_cast<void*>(create)},
    {const_cast<char*>("begin"), const_cast<char*>("(J)V"), reinterpret_cast<void*>(begin)},
    {const_cast<char*>("turn"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(turn)},
    {const_cast<char*>("end"), const_cast<char*>("(J)V"), reinterpret_cast<void*>(end)},
    {const_cast<char*>("watch"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(watch)},
    {const_cast<char*>("unwatch"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(unwatch)},
    {const_cast<char*>("suspend"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(suspend)},
    {const_cast<char*>("resume"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(resume)},
    {const_cast<char*>("unwatchAll"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(unwatch_all)},
    {const_cast<char*>("wake"), const_cast<char*>("(J)V"), reinterpret_cast<void*>(wake)},
    {const_cast<char*>("stop"), const_cast<char*>("(J)V"), reinterpret_cast<void*>(stop)},
    {const_cast<char*>("destroy"), const_cast<char*>("(J)V"), reinterpret_cast<void*>(destroy)},
    {const_cast<char*>("liveWatchers"), const_cast<char*>("()I"),
     reinterpret_cast<void*>(live_watchers)},
};
const int kWatcherNativeCount = sizeof kWatcherNatives / sizeof kWatcherNatives[0];

}  // namespace eventwatcher::jni
