#include "topology/coupon/json_object.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "topology/coupon/plain_json_object.h"

namespace couponflow::coupon {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// What a first, cheap pass over the bytes says about the input's structure.
struct Shape {
  std::optional<JsonError> error;
  bool nested = false;  // some value is an object or an array
};

/// Checks that `json` is one object with nothing after it but whitespace, and that it
/// nests no deeper than kMaxJsonDepth. On-demand parsing stops at the object's end and
/// would neither notice trailing content nor bound depth; this pass finds both with a
/// loop and a counter (syntax itself is left to simdjson).
Shape scan_shape(std::string_view json) {
  auto malformed = [](std::string message) {
    return Shape{JsonError{JsonError::Kind::kMalformed, std::move(message)}, false};
  };
  size_t begin = 0, end = json.size();
  while (begin < end && is_space(json[begin])) ++begin;
  while (end > begin && is_space(json[end - 1])) --end;
  if (end - begin < 2 || json[begin] != '{') return malformed("not a single JSON object");
  // Fast path, the common case: no bracket between the outer braces, so they are the
  // only structure there is (memchr is vectorised).
  const std::string_view inner = json.substr(begin + 1, end - begin - 2);
  bool flat = true;
  for (const char c : {'{', '}', '[', ']'}) flat = flat && std::memchr(inner.data(), c, inner.size()) == nullptr;
  if (flat) return json[end - 1] == '}' ? Shape{} : malformed("not a single JSON object");
  // Otherwise walk the brackets outside strings.
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = begin; i < end; ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return Shape{JsonError{JsonError::Kind::kTooDeep,
                               fmt::format("nested deeper than {} levels", kMaxJsonDepth)},
                     true};
      }
    } else if (c == '}' || c == ']') {
      if (depth == 0) return malformed("not valid JSON: unbalanced brackets");
      if (--depth == 0) {
        if (i != end - 1) return malformed("content after the JSON object");
        return Shape{std::nullopt, true};
      }
    }
  }
  return malformed("not valid JSON: the object is not closed");
}

std::string describe(simdjson::error_code err) {
  return fmt::format("not valid JSON: {}", simdjson::error_message(err));
}

/// Validates a scalar the caller did not ask for (on-demand parsing would otherwise
/// skip it unchecked), so that a record with a broken unknown field is still malformed.
simdjson::error_code validate_scalar(simdjson::ondemand::value value, simdjson::ondemand::json_type type) {
  using simdjson::ondemand::json_type;
  switch (type) {
    case json_type::string: return value.get_string().error();
    case json_type::number: return value.get_double().error();
    case json_type::boolean: return value.get_bool().error();
    case json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
    case json_type::object:
    case json_type::array:
      return simdjson::SUCCESS;  // validated whole by the DOM pass (see read)
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace

struct JsonObjectReader::Impl {
  size_t max_bytes;
  bool plain_first;
  simdjson::ondemand::parser parser;
  simdjson::dom::parser validator;  // full validation of nested values, iterative
  std::string buffer;               // input copied here with simdjson's required padding
  std::vector<std::string_view> keys;
};

JsonObjectReader::JsonObjectReader(size_t max_bytes, bool plain_first) : impl_(std::make_unique<Impl>()) {
  impl_->max_bytes = max_bytes;
  impl_->plain_first = plain_first;
}
JsonObjectReader::~JsonObjectReader() = default;

std::optional<JsonError> JsonObjectReader::read(std::string_view json, std::span<JsonField> fields) {
  using simdjson::ondemand::json_type;
  auto malformed = [](std::string message) {
    return JsonError{JsonError::Kind::kMalformed, std::move(message)};
  };
  auto reset = [&] {
    for (auto& f : fields) {
      f.present = false;
      f.text.clear();
      f.number = 0;
    }
  };
  reset();
  if (fields.size() > 64) throw std::invalid_argument("JsonObjectReader reads at most 64 fields");
  if (json.size() > impl_->max_bytes) {
    return JsonError{JsonError::Kind::kTooLarge,
                     fmt::format("{} bytes exceed the limit of {} bytes", json.size(), impl_->max_bytes)};
  }
  // Most objects are plain (see plain_json_object.h): one pass reads them. Whatever the
  // plain pass gives up on, simdjson reads from the start.
  if (impl_->plain_first) {
    if (read_plain_object(json, fields, impl_->keys)) return std::nullopt;
    reset();
  }
  const Shape shape = scan_shape(json);
  if (shape.error) return shape.error;
  // Kafka payloads carry no padding; simdjson reads up to SIMDJSON_PADDING bytes past
  // the end, so the value is copied into a buffer that has it.
  auto& buffer = impl_->buffer;
  buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), json.data(), json.size());
  if (shape.nested) {
    // Nested values are rare (unknown fields only): the DOM parser validates the whole
    // document without recursion, so the on-demand pass below may skip them unchecked.
    if (auto err = impl_->validator.parse(buffer.data(), json.size(), false).error()) return malformed(describe(err));
  }

  simdjson::ondemand::document doc;
  if (auto err = impl_->parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc)) {
    return malformed(describe(err));
  }
  simdjson::ondemand::object object;
  if (auto err = doc.get_object().get(object)) return malformed(describe(err));

  auto& keys = impl_->keys;
  keys.clear();
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (auto err = std::move(field_result).get(field)) return malformed(describe(err));
    std::string_view key;  // stays valid until the next document (the parser's string buffer)
    if (auto err = field.unescaped_key().get(key)) return malformed(describe(err));
    keys.push_back(key);
    size_t index = fields.size();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].name == key) index = i;
    }
    simdjson::ondemand::value value = field.value();
    json_type type;
    if (auto err = value.type().get(type)) return malformed(describe(err));
    if (index == fields.size()) {
      // Unknown field: ignored, but it must still be well-formed JSON.
      if (auto err = validate_scalar(value, type)) return malformed(describe(err));
      continue;
    }
    JsonField& f = fields[index];
    if (type == json_type::null) {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) return malformed("not valid JSON: bad literal");
      continue;
    }
    auto invalid = [&](std::string_view expected) {
      return JsonError{JsonError::Kind::kInvalidField, fmt::format("field \"{}\" must be {}", f.name, expected)};
    };
    switch (f.type) {
      case JsonType::kString: {
        if (type != json_type::string) return invalid("a string");
        std::string_view s;
        if (auto err = value.get_string().get(s)) return malformed(describe(err));
        f.text.assign(s);
        f.present = true;
        break;
      }
      case JsonType::kInt64: {
        if (type != json_type::number) return invalid("an integer");
        int64_t n = 0;
        if (auto err = value.get_int64().get(n)) {
          if (err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_OUT_OF_RANGE) {
            return invalid("an integer that fits in 64 bits");
          }
          return malformed(describe(err));
        }
        f.number = n;
        f.present = true;
        break;
      }
    }
  }
  if (auto twice = duplicate_key(keys)) return malformed(fmt::format("field \"{}\" appears twice", *twice));
  return std::nullopt;
}

}  // namespace couponflow::coupon
