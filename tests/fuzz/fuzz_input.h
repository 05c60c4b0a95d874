#pragma once
// Splits a fuzzer's input into the parts a target needs: a few bytes of choices, then
// length-prefixed pieces, then the rest.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace couponflow::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  /// One byte (0 when the input is exhausted).
  uint8_t byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  /// A piece of up to 255 bytes, or nullopt (a null key or value) when its length byte is 255.
  std::optional<std::string_view> piece() {
    const uint8_t n = byte();
    if (n == 255) return std::nullopt;
    const auto take = std::min<size_t>(n, rest_.size());
    std::string_view out = rest_.substr(0, take);
    rest_.remove_prefix(take);
    return out;
  }
  std::string_view rest() { return std::exchange(rest_, {}); }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace couponflow::fuzz
