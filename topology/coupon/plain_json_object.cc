#include "topology/coupon/plain_json_object.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>

namespace couponflow::coupon {
namespace {

// Eight bytes at a time (SWAR): which of them end a plain string's run of bytes that are
// held as they are, i.e. are '"', '\\' or a control character. Bytes >= 0x80 are held as
// they are; the whole input's UTF-8 is checked once at the end. Each flagged byte has its
// high bit set in the result; borrows can flag bytes after the first flagged one, never
// before, so the lowest flag is exact.
static_assert(std::endian::native == std::endian::little, "the first byte in memory is the word's lowest");
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
uint64_t zero_bytes(uint64_t x) { return (x - kOnes) & ~x & kHighs; }
uint64_t string_stops(uint64_t word) {
  const uint64_t quote = zero_bytes(word ^ (kOnes * '"'));
  const uint64_t backslash = zero_bytes(word ^ (kOnes * '\\'));
  const uint64_t control = (word - kOnes * 0x20) & ~word & kHighs;
  return quote | backslash | control;
}
bool is_string_stop(unsigned char c) { return c == '"' || c == '\\' || c < 0x20; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class PlainCursor {
 public:
  explicit PlainCursor(std::string_view json) : p_(json.data()), end_(json.data() + json.size()) {}

  bool at_end() const { return p_ == end_; }
  char peek() const { return *p_; }
  bool saw_non_ascii() const { return saw_non_ascii_; }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool consume(std::string_view literal) {
    if (static_cast<size_t>(end_ - p_) < literal.size() || std::memcmp(p_, literal.data(), literal.size()) != 0) {
      return false;
    }
    p_ += literal.size();
    return true;
  }

  /// A string without escapes, its opening quote next, into `out`; false if it is
  /// anything else (an escape, a control byte, unclosed).
  bool plain_string(std::string_view& out) {
    if (!consume('"')) return false;
    const char* start = p_;
    uint64_t high = 0;
    while (end_ - p_ >= 8) {
      uint64_t word;
      std::memcpy(&word, p_, 8);
      if (const uint64_t stops = string_stops(word)) {
        const int skip = std::countr_zero(stops) / 8;
        high |= skip == 0 ? 0 : word & (~uint64_t{0} >> (64 - 8 * skip));
        p_ += skip;
        break;
      }
      high |= word;
      p_ += 8;
    }
    while (p_ != end_ && !is_string_stop(static_cast<unsigned char>(*p_))) high |= static_cast<unsigned char>(*p_++);
    if (p_ == end_ || *p_ != '"') return false;
    saw_non_ascii_ = saw_non_ascii_ || (high & kHighs) != 0;
    out = std::string_view(start, static_cast<size_t>(p_++ - start));
    return true;
  }

  /// An integer as JSON writes it (-?(0|[1-9][0-9]*)) that fits in 64 bits; nullopt for
  /// any other number, which the full reader judges.
  std::optional<int64_t> integer() {
    const bool negative = consume('-');
    if (p_ == end_ || !is_digit(*p_)) return std::nullopt;
    uint64_t magnitude = 0;
    if (*p_ == '0') {
      ++p_;
    } else {
      for (int digits = 0; p_ != end_ && is_digit(*p_); ++digits) {
        if (digits == 19) return std::nullopt;  // 20 digits or more: beyond 64 bits
        magnitude = magnitude * 10 + static_cast<uint64_t>(*p_++ - '0');
      }
    }
    if (p_ != end_ && (is_digit(*p_) || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) return std::nullopt;
    const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
    if (magnitude > limit) return std::nullopt;
    // Two's complement wrap-around is defined since C++20, and gives INT64_MIN for 2^63.
    return negative ? static_cast<int64_t>(uint64_t{0} - magnitude) : static_cast<int64_t>(magnitude);
  }

 private:
  const char* p_;
  const char* end_;
  bool saw_non_ascii_ = false;
};

}  // namespace

std::optional<std::string_view> duplicate_key(std::vector<std::string_view>& keys) {
  if (keys.size() <= 8) {
    for (size_t i = 1; i < keys.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (keys[i] == keys[j]) return keys[i];
      }
    }
    return std::nullopt;
  }
  std::sort(keys.begin(), keys.end());
  auto it = std::adjacent_find(keys.begin(), keys.end());
  if (it != keys.end()) return *it;
  return std::nullopt;
}

bool read_plain_object(std::string_view json, std::span<JsonField> fields, std::vector<std::string_view>& keys) {
  if (fields.size() > 64) return false;
  PlainCursor in(json);
  keys.clear();  // unknown keys, for the duplicate check; known ones have a bit each
  uint64_t known_seen = 0;
  in.skip_space();
  if (!in.consume('{')) return false;
  in.skip_space();
  if (!in.consume('}')) {
    while (true) {
      in.skip_space();
      std::string_view key;
      if (!in.plain_string(key)) return false;
      in.skip_space();
      if (!in.consume(':')) return false;
      in.skip_space();
      if (in.at_end()) return false;
      JsonField* field = nullptr;
      for (size_t i = 0; i < fields.size() && field == nullptr; ++i) {
        if (fields[i].name == key) {
          if ((known_seen >> i) & 1) return false;  // given twice
          known_seen |= uint64_t{1} << i;
          field = &fields[i];
        }
      }
      if (field == nullptr) keys.push_back(key);
      const char c = in.peek();
      if (c == '"') {
        std::string_view text;
        if (!in.plain_string(text)) return false;
        if (field != nullptr) {
          if (field->type != JsonType::kString) return false;  // the full reader words the error
          field->text.assign(text.data(), text.size());
          field->present = true;
        }
      } else if (c == '-' || is_digit(c)) {
        const std::optional<int64_t> number = in.integer();
        if (!number) return false;
        if (field != nullptr) {
          if (field->type != JsonType::kInt64) return false;
          field->number = *number;
          field->present = true;
        }
      } else if (in.consume("null")) {
        // null counts as absent
      } else if (in.consume("true") || in.consume("false")) {
        if (field != nullptr) return false;  // no known field is a boolean
      } else {
        return false;
      }
      in.skip_space();
      if (in.consume(',')) continue;
      if (in.consume('}')) break;
      return false;
    }
  }
  in.skip_space();
  if (!in.at_end()) return false;
  if (keys.size() > 1 && duplicate_key(keys)) return false;
  if (in.saw_non_ascii() && !simdjson::validate_utf8(json.data(), json.size())) return false;
  return true;
}

}  // namespace couponflow::coupon
