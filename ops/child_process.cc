#include "ops/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/errors.h"

namespace couponflow::ops {
namespace {
int decode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}
}  // namespace

std::string self_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw FatalError("cannot find the running executable: " + ec.message());
  return path.string();
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw FatalError("cannot open " + log_file.string());
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(log_fd);
    throw FatalError("fork failed");
  }
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
}

ChildProcess::~ChildProcess() {
  if (!status_ && pid_ > 0) kill();
}

std::optional<int> ChildProcess::poll() {
  if (status_) return status_;
  int wstatus = 0;
  if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) status_ = decode(wstatus);
  return status_;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

std::optional<int> ChildProcess::terminate(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  ::kill(pid_, SIGTERM);
  return wait_for(timeout);
}

int ChildProcess::kill() {
  if (status_) return *status_;
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  status_ = decode(wstatus);
  return *status_;
}

}  // namespace couponflow::ops
