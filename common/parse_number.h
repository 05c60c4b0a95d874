#pragma once
// Parsing numbers from untrusted text (headers, files, responses) without exceptions:
// the whole text must be the number.

#include <charconv>
#include <optional>
#include <string_view>

namespace couponflow {

template <typename T>
std::optional<T> parse_number(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  T n{};
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return n;
}

}  // namespace couponflow
