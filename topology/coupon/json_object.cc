#include "topology/coupon/json_object.h"

#include <simdjson.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace couponflow::coupon {
namespace {

/// Fully validates a value the reader does not use (on-demand parsing would otherwise
/// skip it unchecked), so that a record with a broken unknown field is still MALFORMED.
simdjson::error_code validate(simdjson::ondemand::value value) {
  using simdjson::ondemand::json_type;
  json_type type;
  if (auto err = value.type().get(type)) return err;
  switch (type) {
    case json_type::object: {
      simdjson::ondemand::object object;
      if (auto err = value.get_object().get(object)) return err;
      for (auto field : object) {
        simdjson::ondemand::field f;
        if (auto err = std::move(field).get(f)) return err;
        std::string_view key;
        if (auto err = f.unescaped_key().get(key)) return err;
        if (auto err = validate(f.value())) return err;
      }
      return simdjson::SUCCESS;
    }
    case json_type::array: {
      simdjson::ondemand::array array;
      if (auto err = value.get_array().get(array)) return err;
      for (auto element : array) {
        simdjson::ondemand::value v;
        if (auto err = std::move(element).get(v)) return err;
        if (auto err = validate(v)) return err;
      }
      return simdjson::SUCCESS;
    }
    case json_type::string: return value.get_string().error();
    case json_type::number: return value.get_double().error();
    case json_type::boolean: return value.get_bool().error();
    case json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// True if `json` is one object and nothing after it but whitespace. On-demand parsing
/// stops at the object's end and would not notice trailing content; this finds where
/// the top-level object closes (syntax itself is left to simdjson).
bool single_object(std::string_view json) {
  size_t begin = 0, end = json.size();
  while (begin < end && is_space(json[begin])) ++begin;
  while (end > begin && is_space(json[end - 1])) --end;
  if (end - begin < 2 || json[begin] != '{' || json[end - 1] != '}') return false;
  // Fast path, the common case: no bracket between the outer braces, so they are the
  // only structure there is (memchr is vectorised).
  const std::string_view inner = json.substr(begin + 1, end - begin - 2);
  bool flat = true;
  for (const char c : {'{', '}', '[', ']'}) flat = flat && std::memchr(inner.data(), c, inner.size()) == nullptr;
  if (flat) return true;
  // Otherwise find the brace that closes the first one, skipping strings.
  int depth = 0;
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
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i == end - 1;
    }
  }
  return false;  // never closed
}

std::string describe(simdjson::error_code err) {
  return fmt::format("not valid JSON: {}", simdjson::error_message(err));
}

}  // namespace

struct JsonObjectReader::Impl {
  simdjson::ondemand::parser parser;
  std::string buffer;  // input copied here with simdjson's required padding
};

JsonObjectReader::JsonObjectReader() : impl_(std::make_unique<Impl>()) {}
JsonObjectReader::~JsonObjectReader() = default;

std::optional<JsonError> JsonObjectReader::read(std::string_view json, std::span<JsonField> fields) {
  using simdjson::ondemand::json_type;
  auto malformed = [](std::string message) {
    return JsonError{JsonError::Kind::kMalformed, std::move(message)};
  };
  for (auto& f : fields) {
    f.present = false;
    f.text.clear();
    f.number = 0;
  }
  if (fields.size() > 64) throw std::invalid_argument("JsonObjectReader reads at most 64 fields");
  if (!single_object(json)) return malformed("not a single JSON object");
  // Kafka payloads carry no padding; simdjson reads up to SIMDJSON_PADDING bytes past
  // the end, so the value is copied into a buffer that has it.
  auto& buffer = impl_->buffer;
  buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), json.data(), json.size());

  simdjson::ondemand::document doc;
  if (auto err = impl_->parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc)) {
    return malformed(describe(err));
  }
  simdjson::ondemand::object object;
  if (auto err = doc.get_object().get(object)) return malformed(describe(err));

  uint64_t seen = 0;  // bit i: fields[i] was given (at most 64 known fields)
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (auto err = std::move(field_result).get(field)) return malformed(describe(err));
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return malformed(describe(err));
    size_t index = fields.size();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].name == key) index = i;
    }
    simdjson::ondemand::value value = field.value();
    if (index == fields.size()) {
      // Unknown field: ignored, but it must still be well-formed JSON.
      if (auto err = validate(value)) return malformed(describe(err));
      continue;
    }
    JsonField& f = fields[index];
    if (seen & (uint64_t{1} << index)) return malformed(fmt::format("field \"{}\" appears twice", f.name));
    seen |= uint64_t{1} << index;
    json_type type;
    if (auto err = value.type().get(type)) return malformed(describe(err));
    if (type == json_type::null) {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) return malformed("not valid JSON: bad literal");
      continue;
    }
    auto invalid = [&](std::string_view expected) {
      return JsonError{JsonError::Kind::kInvalidField,
                       fmt::format("field \"{}\" must be {}", f.name, expected)};
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
            return invalid("a 64-bit integer");
          }
          return malformed(describe(err));
        }
        f.number = n;
        f.present = true;
        break;
      }
    }
  }
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  // Ids rarely need escaping: copy runs of plain characters in one append.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool plain = c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
    if (plain) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c)); break;
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace couponflow::coupon
