// Spawn: starts a child process with posix_spawn and opens its pidfd, for
// io.eventwatcher.Subprocess. Plain C++ (no JNI): process_natives.cpp
// marshals the Java arguments into a SpawnRequest.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace eventwatcher::jni {

/// What one of the child's fds 0, 1, 2 becomes.
enum class Redirect : int {
  pipe = 0,     // a new pipe; the parent keeps the other end, non-blocking
  inherit = 1,  // the parent's fd of the same number
  read = 2,     // `path` opened O_RDONLY
  write = 3,    // `path` opened O_WRONLY | O_CREAT | O_TRUNC, mode 0666 & ~umask
  append = 4,   // `path` opened O_WRONLY | O_CREAT | O_APPEND
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in the parent's PATH unless it has a '/'
  bool inherit_environment = true;
  std::vector<std::string> environment;  // "NAME=value", unless inherit_environment
  std::string directory;                 // empty: the parent's
  Redirect redirects[3] = {Redirect::pipe, Redirect::pipe, Redirect::pipe};
  std::string paths[3];          // for read, write and append
  bool error_to_output = false;  // fd 2 is a dup of fd 1 (redirectErrorStream)
};

struct SpawnResult {
  pid_t pid = -1;
  int pidfd = -1;
  int pipes[3] = {-1, -1,
                  -1};  // the parent's ends: stdin's write end, stdout's and stderr's read ends
};

/// Starts the child: posix_spawn (glibc's clone(CLONE_VM | CLONE_VFORK), so
/// the JVM's memory is never copied), with every signal at its default and
/// none blocked, fds from 3 up closed in the child, and the working directory
/// changed there. Then pidfd_open (Linux 5.3+). Returns 0, or an errno value
/// with nothing left behind: every pipe closed, and a child already started
/// whose pidfd cannot be opened killed and reaped. Errors: those of pipe2,
/// posix_spawn (ENOENT, EACCES, ENOEXEC from exec, or from a redirect's open,
/// or chdir), pidfd_open (ENOSYS on an older kernel).
int spawn(const SpawnRequest& request, SpawnResult& result) noexcept;

/// pidfd_send_signal(pidfd, signal). Returns 0 or errno (ESRCH once reaped).
int send_signal(int pidfd, int signal) noexcept;

/// waitpid(pid), without waiting unless `wait`: the exit value as
/// java.lang.Process reports it (the exit status, or 128 + the signal that
/// killed it), or -EAGAIN while it runs, or -errno.
int reap(pid_t pid, bool wait) noexcept;

/// Whether this kernel has pidfd_open: 0, or errno (ENOSYS).
int pidfd_support() noexcept;

}  // namespace eventwatcher::jni
