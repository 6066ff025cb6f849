// Natives that create, run and steer a WatcherBridge. Handles are the
// bridge's address as a jlong; the Java side guarantees a handle is only used
// between create and destroy (see io.eventwatcher.internal.NativeWatcher).
// Every native returns a count, a handle or -errno, and never throws.
#include "natives.hpp"
#include "watcher_bridge.hpp"

#include <atomic>
#include <cerrno>
#include <new>
#include <stdexcept>
#include <system_error>

namespace eventwatcher::jni {
namespace {

// Bridges alive now; lets tests prove that close() frees native memory.
std::atomic<int> live_bridges{0};

WatcherBridge* bridge(jlong handle) {
  return reinterpret_cast<WatcherBridge*>(handle);
}

// The flag argument, or -1 if it is neither READ (0) nor WRITE (1).
int flag_index(jint flag) {
  return flag == 0 || flag == 1 ? flag : -1;
}

WatchFlag flag_of(jint flag) {
  return flag == 0 ? WatchFlag::Read : WatchFlag::Write;
}

// long create(int maxEvents, ByteBuffer batch, boolean oneShot): the handle,
// or -errno (-EINVAL unless batch is direct and holds batchCapacity ints).
jlong create(JNIEnv* env, jclass, jint max_events, jobject batch, jboolean one_shot) {
  auto* memory = static_cast<std::int32_t*>(env->GetDirectBufferAddress(batch));
  if (max_events < 1 || max_events > (1 << 24) || memory == nullptr ||
      env->GetDirectBufferCapacity(batch) <
          static_cast<jlong>(WatcherBridge::batch_capacity(max_events)) * 4) {
    return -EINVAL;
  }
  try {
    auto* created = new WatcherBridge(
        max_events, memory, one_shot ? detail::Delivery::oneshot : detail::Delivery::level);
    live_bridges.fetch_add(1, std::memory_order_relaxed);
    return reinterpret_cast<jlong>(created);
  } catch (const std::system_error& error) {
    return -error.code().value();  // epoll_create1 or eventfd: EMFILE, ENFILE, ENOMEM
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (const std::invalid_argument&) {
    return -EINVAL;
  }
}

jint begin(JNIEnv*, jclass, jlong handle) {
  bridge(handle)->begin();
  return 0;
}

// int turn(long handle, long timeoutNanos): -1 waits with no limit.
jint turn(JNIEnv*, jclass, jlong handle, jlong timeout_ns) {
  return bridge(handle)->turn(timeout_ns);
}

jint watch(JNIEnv*, jclass, jlong handle, jint fd, jint flag, jboolean suspended) {
  if (fd < 0 || flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->watch(fd, flag_of(flag), suspended);
}

jint unwatch(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  if (fd < 0 || flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->unwatch(fd, flag_of(flag));
}

jint resume(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  if (fd < 0 || flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->resume(fd, flag_of(flag));
}

jint unwatch_all(JNIEnv*, jclass, jlong handle) {
  return bridge(handle)->unwatch_all();
}

jint wake(JNIEnv*, jclass, jlong handle) {
  bridge(handle)->wake();
  return 0;
}

jint arm(JNIEnv*, jclass, jlong handle, jint fd, jint flag, jlong token) {
  if (fd < 0 || flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->arm(fd, flag_of(flag), static_cast<std::uint64_t>(token));
}

jint disarm(JNIEnv*, jclass, jlong handle, jint fd, jint flag) {
  if (fd < 0 || flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->disarm(fd, flag_of(flag));
}

jint hand_off_arms(JNIEnv*, jclass, jlong handle) {
  return bridge(handle)->hand_off_arms();
}

// int harvestArms(long handle, int flag, ByteBuffer out, int max): reported
// arms (two ints each) into `out`, a direct buffer of 2 * max ints.
jint harvest_arms(JNIEnv* env, jclass, jlong handle, jint flag, jobject out, jint max) {
  auto* memory = static_cast<std::int32_t*>(env->GetDirectBufferAddress(out));
  if (flag_index(flag) < 0 || max < 1 || memory == nullptr ||
      env->GetDirectBufferCapacity(out) < 2 * static_cast<jlong>(max) * 4) {
    return -EINVAL;
  }
  return bridge(handle)->harvest_arms(flag_of(flag), memory, max);
}

jint rearm_arms(JNIEnv*, jclass, jlong handle, jint flag) {
  if (flag_index(flag) < 0) return -EINVAL;
  return bridge(handle)->rearm_arms(flag_of(flag));
}

jint batch_capacity(JNIEnv*, jclass, jint max_events) {
  if (max_events < 1 || max_events > (1 << 24)) return -EINVAL;
  return WatcherBridge::batch_capacity(max_events);
}

jint destroy(JNIEnv*, jclass, jlong handle) {
  delete bridge(handle);
  live_bridges.fetch_sub(1, std::memory_order_relaxed);
  return 0;
}

jint live_watchers(JNIEnv*, jclass) {
  return live_bridges.load(std::memory_order_relaxed);
}

}  // namespace

const JNINativeMethod kWatcherNatives[] = {
    {const_cast<char*>("create"), const_cast<char*>("(ILjava/nio/ByteBuffer;Z)J"),
     reinterpret_cast<void*>(create)},
    {const_cast<char*>("begin"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(begin)},
    {const_cast<char*>("turn"), const_cast<char*>("(JJ)I"), reinterpret_cast<void*>(turn)},
    {const_cast<char*>("watch"), const_cast<char*>("(JIIZ)I"), reinterpret_cast<void*>(watch)},
    {const_cast<char*>("unwatch"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(unwatch)},
    {const_cast<char*>("resume"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(resume)},
    {const_cast<char*>("unwatchAll"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(unwatch_all)},
    {const_cast<char*>("wake"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(wake)},
    {const_cast<char*>("arm"), const_cast<char*>("(JIIJ)I"), reinterpret_cast<void*>(arm)},
    {const_cast<char*>("disarm"), const_cast<char*>("(JII)I"), reinterpret_cast<void*>(disarm)},
    {const_cast<char*>("handOffArms"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(hand_off_arms)},
    {const_cast<char*>("harvestArms"), const_cast<char*>("(JILjava/nio/ByteBuffer;I)I"),
     reinterpret_cast<void*>(harvest_arms)},
    {const_cast<char*>("rearmArms"), const_cast<char*>("(JI)I"),
     reinterpret_cast<void*>(rearm_arms)},
    {const_cast<char*>("batchCapacity"), const_cast<char*>("(I)I"),
     reinterpret_cast<void*>(batch_capacity)},
    {const_cast<char*>("destroy"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(destroy)},
    {const_cast<char*>("liveWatchers"), const_cast<char*>("()I"),
     reinterpret_cast<void*>(live_watchers)},
};
const int kWatcherNativeCount = sizeof kWatcherNatives / sizeof kWatcherNatives[0];

}  // namespace eventwatcher::jni
