#pragma once
// Reads the known fields of a flat JSON object without building a DOM (simdjson
// on-demand), checking each field's type. Shared by the request and catalog parsers.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace couponflow::coupon {

enum class JsonType { kString, kInt64 };

/// One expected field. After a successful read: `present` says it appeared with a
/// non-null value, and the value is in `text` or `number`.
struct JsonField {
  std::string_view name;
  JsonType type;
  bool present = false;
  std::string text;
  int64_t number = 0;
};

/// Why an object could not be read.
struct JsonError {
  enum class Kind { kMalformed, kInvalidField };
  Kind kind;
  std::string message;
};

/// Role: parses objects of one shape, reusing its buffers across calls.
/// Thread: one per thread (it keeps parser state).
class JsonObjectReader {
 public:
  JsonObjectReader();
  ~JsonObjectReader();
  JsonObjectReader(const JsonObjectReader&) = delete;
  JsonObjectReader& operator=(const JsonObjectReader&) = delete;

  /// Fills `fields` from `json`. Unknown fields are ignored; null counts as absent; a
  /// field of the wrong type or given twice, invalid JSON or UTF-8, or trailing content
  /// is an error.
  std::optional<JsonError> read(std::string_view json, std::span<JsonField> fields);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Appends `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace couponflow::coupon
