#include "state/state_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "common/errors.h"

namespace couponflow::state {

StateDirectory::StateDirectory(const std::filesystem::path& root, const std::string& application_id)
    : dir_(root / application_id) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw FatalError(fmt::format("cannot create state directory {}: {}", dir_.string(), ec.message()));
  const auto lock_path = dir_ / ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw FatalError(fmt::format("cannot open {}: {}", lock_path.string(), std::strerror(errno)));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw FatalError(fmt::format("state directory {} is in use by another process ({})",
                                 dir_.string(), std::strerror(err)));
  }
}

StateDirectory::~StateDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

void StateDirectory::wipe(TaskId id) const {
  std::error_code ec;
  std::filesystem::remove_all(task_dir(id), ec);
  if (ec) throw FatalError(fmt::format("cannot wipe {}: {}", task_dir(id).string(), ec.message()));
}

std::string StateDirectory::identity() const {
  std::lock_guard lock(files_mutex_);
  const auto file = dir_ / "identity";
  {
    std::ifstream in(file);
    std::string id;
    if (in >> id && id.size() == 32) return id;
  }
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", random());
  const auto tmp = dir_ / "identity.tmp";
  {
    std::ofstream out(tmp);
    out << id << "\n";
    if (!out) throw FatalError("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw FatalError("cannot write " + file.string() + ": " + ec.message());
  return id;
}

std::optional<int32_t> StateDirectory::recorded_partitions() const {
  std::lock_guard lock(files_mutex_);
  std::ifstream in(dir_ / "partitions");
  int32_t count = 0;
  if (!(in >> count)) return std::nullopt;
  return count;
}

void StateDirectory::record_partitions(int32_t count) const {
  std::lock_guard lock(files_mutex_);
  const auto tmp = dir_ / "partitions.tmp";
  {
    std::ofstream out(tmp);
    out << count << "\n";
    if (!out) throw FatalError("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dir_ / "partitions", ec);  // atomic: never half a number
  if (ec) throw FatalError("cannot write " + (dir_ / "partitions").string() + ": " + ec.message());
}

}  // namespace couponflow::state
