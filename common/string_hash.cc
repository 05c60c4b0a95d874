#include "common/string_hash.h"

#include <random>

namespace couponflow::detail {

uint64_t process_hash_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace couponflow::detail
