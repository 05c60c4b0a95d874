#pragma once
// A fast hash for the short keys of the hot path (coupon ids, "coupon\0user" holdings).
//
// Eight bytes per step, each folded in with a 64x64->128-bit multiply (the wyhash
// construction), instead of std::hash's byte-oriented murmur: a 20-byte key is three
// multiplies. Keys come from clients (user ids), so the hash is seeded per process:
// a key set crafted to collide in one process does not collide in another.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace couponflow {

namespace detail {

__extension__ typedef unsigned __int128 uint128_t;  // GCC and Clang, on 64-bit targets

inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const uint128_t product = static_cast<uint128_t>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

/// Random per process (from the address space layout and the clock at start-up).
uint64_t process_hash_seed();

}  // namespace detail

inline uint64_t hash_string(std::string_view s, uint64_t seed) {
  constexpr uint64_t kMul0 = 0xa0761d6478bd642full;
  constexpr uint64_t kMul1 = 0xe7037ed1a0b428dbull;
  uint64_t h = seed ^ (s.size() * kMul1);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = detail::fold_multiply(h ^ word, kMul0);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return detail::fold_multiply(h ^ tail ^ n, kMul1);
}

inline uint64_t hash_string(std::string_view s) {
  static const uint64_t seed = detail::process_hash_seed();
  return hash_string(s, seed);
}

}  // namespace couponflow
