#pragma once
// Reads the known fields of a JSON object without building a DOM (simdjson on-demand),
// checking each field's type. Shared by the request, catalog and result parsers.
//
// Hostile input is normal input here: nothing in this reader recurses per level of
// nesting, nesting deeper than kMaxJsonDepth and input larger than the reader's size
// limit are refused before simdjson sees them, and every byte is validated (UTF-8,
// escapes, literals) even in fields the caller does not ask for.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/json_string.h"

namespace couponflow::coupon {

/// Deepest nesting a value may have; the top-level object is level 1.
inline constexpr size_t kMaxJsonDepth = 32;
/// Default size limit of a reader (values are checked against tighter limits, such as
/// the request size limit, before they are parsed).
inline constexpr size_t kDefaultMaxJsonBytes = 1u << 20;

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
  enum class Kind {
    kMalformed,     // not one well-formed JSON object: syntax, UTF-8, a field given twice, trailing content
    kTooDeep,       // nested deeper than kMaxJsonDepth
    kTooLarge,      // larger than the reader's size limit
    kInvalidField,  // a known field of the wrong type (or an integer beyond 64 bits)
  };
  Kind kind;
  std::string message;
};

/// Role: parses objects of one shape, reusing its buffers across calls.
/// Thread: one per thread (it keeps parser state).
class JsonObjectReader {
 public:
  /// `plain_first`: plain objects (plain_json_object.h) are read by a single pass before
  /// simdjson is tried; false sends everything to simdjson (tests compare the two).
  explicit JsonObjectReader(size_t max_bytes = kDefaultMaxJsonBytes, bool plain_first = true);
  ~JsonObjectReader();
  JsonObjectReader(const JsonObjectReader&) = delete;
  JsonObjectReader& operator=(const JsonObjectReader&) = delete;

  /// Fills `fields` (at most 64) from `json`, each reset first (absent, empty text, 0:
  /// what an error leaves too). Unknown fields are ignored but must be
  /// valid JSON; null counts as absent. Any field (known or not) given twice at the top
  /// level, invalid JSON or UTF-8, trailing content, nesting beyond kMaxJsonDepth, a
  /// size beyond the limit, or a known field of the wrong type is an error.
  std::optional<JsonError> read(std::string_view json, std::span<JsonField> fields);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::coupon
