// The JSON object reader against hostile input: every case gets an error of the right
// kind or a clean read, never a crash, whatever the nesting or the bytes.

#include <doctest/doctest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "topology/coupon/json_object.h"
#include "topology/coupon/plain_json_object.h"
#include "topology/coupon/request.h"

using namespace couponflow::coupon;
using couponflow::append_json_string;

namespace {

std::string nested(size_t depth, std::string_view inner = "1") {
  // {"x":[[[...inner...]]]} with `depth` levels in all, the top-level object included.
  std::string s = "{\"x\":";
  s.append(depth - 1, '[');
  s += inner;
  s.append(depth - 1, ']');
  s += '}';
  return s;
}

struct Outcome {
  std::optional<JsonError::Kind> error;
  std::string id;
  std::string message;
};

Outcome read_one(JsonObjectReader& reader, std::string_view json) {
  std::array<JsonField, 2> fields{JsonField{"id", JsonType::kString}, JsonField{"n", JsonType::kInt64}};
  auto err = reader.read(json, fields);
  if (err) return {err->kind, "", err->message};
  return {std::nullopt, fields[0].text, ""};
}

}  // namespace

TEST_CASE("hostile JSON gets an error of the right kind, never a crash") {
  using K = JsonError::Kind;
  struct Case {
    const char* name;
    std::string json;
    std::optional<K> error;
  };
  const std::string nul_inside("{\"id\":\"a\0b\"}", 12);
  const std::vector<Case> cases{
      {"plain object", R"({"id":"a","n":1})", std::nullopt},
      {"empty object", "{}", std::nullopt},
      {"whitespace around", " \n{\"id\":\"a\"}\t ", std::nullopt},
      {"nesting at the limit", nested(kMaxJsonDepth), std::nullopt},
      {"nesting one beyond the limit", nested(kMaxJsonDepth + 1), K::kTooDeep},
      {"200,000 levels of nesting", nested(200'000), K::kTooDeep},
      {"200,000 levels inside a string are only a string", "{\"id\":\"" + std::string(200'000, '[') + "\"}", std::nullopt},
      {"unclosed nesting", "{\"x\":[[[", K::kMalformed},
      {"unbalanced closing", "{\"x\":]]]}", K::kMalformed},
      {"mismatched brackets", "{\"x\":[}", K::kMalformed},
      {"trailing content", R"({"id":"a"} x)", K::kMalformed},
      {"two objects", R"({"id":"a"}{"id":"b"})", K::kMalformed},
      {"an array, not an object", R"([{"id":"a"}])", K::kMalformed},
      {"a string, not an object", R"("id")", K::kMalformed},
      {"empty input", "", K::kMalformed},
      {"binary", std::string("\x00\x01\x02\xff\xfe", 5), K::kMalformed},
      {"invalid UTF-8 in a value", "{\"id\":\"\xc3\x28\"}", K::kMalformed},
      {"invalid UTF-8 in an unknown field", "{\"id\":\"a\",\"z\":\"\xff\"}", K::kMalformed},
      {"overlong UTF-8 encoding", "{\"id\":\"\xc0\xaf\"}", K::kMalformed},
      {"raw NUL inside a string", nul_inside, K::kMalformed},
      {"raw control character inside a string", "{\"id\":\"a\x01\"}", K::kMalformed},
      {"escaped NUL is a character like any other", R"({"id":"a\u0000b"})", std::nullopt},
      {"U+2028 raw inside a string", "{\"id\":\"a\xe2\x80\xa8\"}", std::nullopt},
      {"a lone surrogate escape", R"({"id":"\ud800"})", K::kMalformed},
      {"a bad escape", R"({"id":"\q"})", K::kMalformed},
      {"a known field twice", R"({"id":"a","id":"b"})", K::kMalformed},
      {"an unknown field twice", R"({"id":"a","z":1,"z":2})", K::kMalformed},
      {"an unknown field twice among many", [] {
         std::string s = "{";
         for (int i = 0; i < 40; ++i) s += "\"f" + std::to_string(i) + "\":1,";
         return s + "\"f7\":2}";
       }(), K::kMalformed},
      {"the same key nested twice is not a duplicate", R"({"id":"a","z":{"k":1},"y":{"k":1}})", std::nullopt},
      {"a known field of the wrong type", R"({"id":7})", K::kInvalidField},
      {"a number beyond 64 bits", R"({"n":18446744073709551616})", K::kInvalidField},
      {"a fraction where an integer is expected", R"({"n":1.5})", K::kInvalidField},
      {"the largest 64-bit integer", R"({"n":9223372036854775807})", std::nullopt},
      {"one past the largest 64-bit integer", R"({"n":9223372036854775808})", K::kInvalidField},
      {"a bad literal in an unknown field", R"({"id":"a","z":tru})", K::kMalformed},
      {"a bad number in an unknown field", R"({"id":"a","z":01})", K::kMalformed},
      {"a broken nested unknown field", R"({"id":"a","z":{"k":}})", K::kMalformed},
      {"a trailing comma", R"({"id":"a",})", K::kMalformed},
      {"null counts as absent", R"({"id":null})", std::nullopt},
  };
  JsonObjectReader reader;
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const Outcome o = read_one(reader, c.json);
    CHECK(o.error == c.error);
  }
  // The reader is reusable after any failure.
  CHECK(read_one(reader, R"({"id":"ok"})").id == "ok");
}

TEST_CASE("the reader refuses input beyond its size limit before parsing it") {
  JsonObjectReader reader(64);
  CHECK(read_one(reader, R"({"id":"a"})").id == "a");
  const Outcome o = read_one(reader, "{\"id\":\"" + std::string(100, 'x') + "\"}");
  CHECK(o.error == JsonError::Kind::kTooLarge);
  CHECK(o.message.find("limit of 64 bytes") != std::string::npos);
}

TEST_CASE("escaped characters are unescaped and written back escaped") {
  JsonObjectReader reader;
  const Outcome o = read_one(reader, R"({"id":"a\u0000\"\\\u2028"})");
  REQUIRE_FALSE(o.error);
  CHECK(o.id == std::string("a\0\"\\\xe2\x80\xa8", 7));
  std::string out;
  append_json_string(out, o.id);
  CHECK(read_one(reader, "{\"id\":" + out + "}").id == o.id);
}

TEST_CASE("any bytes are written as a valid JSON string: invalid UTF-8 becomes U+FFFD") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"plain", R"("plain")"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x9f", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x9f\""},  // kept as is
      {"a\xff" "b", "\"a\xef\xbf\xbd" "b\""},                  // a byte that never starts UTF-8
      {"\xc3", "\"\xef\xbf\xbd\""},                            // a sequence cut short
      {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},            // an overlong '/'
      {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},  // a surrogate
      {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},  // beyond U+10FFFF
      {std::string("\x01\n\"\\", 4), R"("\u0001\n\"\\")"},
  };
  JsonObjectReader reader;
  for (const auto& c : cases) {
    std::string out;
    append_json_string(out, c.in);
    CHECK(out == c.out);
    const Outcome o = read_one(reader, "{\"id\":" + out + "}");
    CHECK_FALSE(o.error);  // valid JSON and valid UTF-8
  }
}

namespace {

/// What a read gave: the error, or every field's value.
std::string outcome_of(const std::optional<JsonError>& err, const RequestFields& fields) {
  if (err) return "error " + std::to_string(static_cast<int>(err->kind)) + ": " + err->message;
  std::string out = "ok";
  for (const JsonField& f : fields) {
    out += f.present ? " " + std::string(f.name) + "=" + f.text + "/" + std::to_string(f.number) : " -";
  }
  return out;
}

}  // namespace

TEST_CASE("the plain pass takes plain objects and gives up on everything else") {
  const std::vector<std::string> plain{
      R"({"requestId":"r-1","couponId":"coupon-001","userId":"user-7","requestedAt":1767225600000})",
      R"({"couponId":"c","userId":"u"})",
      " {\t\"couponId\" : \"c\" ,\n\"userId\":\"u\" , \"requestedAt\" : -9223372036854775808 }\r\n",
      R"({"couponId":"c","userId":"u","requestedAt":9223372036854775807,"extra":true,"more":false,"z":-0})",
      R"({"couponId":"c","userId":"u","requestId":null,"requestedAt":null})",
      "{\"couponId\":\"\xec\xbf\xa0\xed\x8f\xb0\",\"userId\":\"\xea\xb9\x80\xec\xb2\xa0\xec\x88\x98\"}",  // Korean
      R"({})",
  };
  const std::vector<std::string> not_plain{
      R"({"couponId":"c\n","userId":"u"})",                 // an escape
      R"({"couponId":"c","userId":"u","requestedAt":1.0})",  // a fraction
      R"({"couponId":"c","userId":"u","requestedAt":1e3})",  // an exponent
      R"({"couponId":"c","userId":"u","requestedAt":9223372036854775808})",
      R"({"couponId":"c","userId":"u","requestedAt":012})",
      R"({"couponId":"c","userId":"u","x":{"a":1}})",        // nesting
      R"({"couponId":"c","userId":"u","x":[]})",
      R"({"couponId":"c","couponId":"c","userId":"u"})",     // a key twice
      R"({"couponId":7,"userId":"u"})",                       // a known field of the wrong type
      R"({"couponId":"c","userId":"u","requestedAt":"7"})",
      R"({"couponId":"c","userId":"u","requestedAt":true})",
      R"({"couponId":"c","userId":"u",})",                   // a trailing comma
      R"({"couponId":"c","userId":"u"} x)",                  // trailing content
      R"({"couponId":"c","userId":"u","x":nul})",
      R"({"couponId":"c","userId":"u","x":truex})",
      "{\"couponId\":\"\xc3\x28\",\"userId\":\"u\"}",        // invalid UTF-8
      "{\"couponId\":\"a\x01\",\"userId\":\"u\"}",           // a raw control character
      R"({"couponId":"c","userId":"u")",                     // unclosed
      "",
  };
  std::vector<std::string_view> keys;
  RequestFields fields = request_fields();
  for (const std::string& json : plain) {
    CAPTURE(json);
    CHECK(read_plain_object(json, fields, keys));
  }
  for (const std::string& json : not_plain) {
    CAPTURE(json);
    fields = request_fields();
    CHECK_FALSE(read_plain_object(json, fields, keys));
  }
}

TEST_CASE("the reader gives the same answer with and without the plain pass, for any bytes") {
  // Mutations of plain and not-so-plain requests, from a fixed seed: every answer (error
  // kind and message, or every field's value) must be the one simdjson alone gives.
  const std::vector<std::string> seeds{
      R"({"requestId":"r-1","couponId":"coupon-001","userId":"user-7","requestedAt":1767225600000})",
      R"({"couponId":"c","userId":"u","requestedAt":-12,"extra":[1,{"a":null}],"flag":true})",
      R"( {"userId" : "\u00e9\n", "couponId":"c", "requestId":null} )",
      "{\"couponId\":\"\xec\xbf\xa0\",\"userId\":\"u\",\"requestedAt\":9223372036854775807}",
  };
  const std::string alphabet = std::string("{}[]:,\"\\ \t\n-+.0123456789eEtrufalsn") + "\x01\x7f\xc3\xa9\xff\xed\xa0";
  std::mt19937_64 rng(20261130);
  JsonObjectReader with_plain;
  JsonObjectReader simdjson_only(kDefaultMaxJsonBytes, false);
  std::vector<std::string_view> keys;
  size_t plain_reads = 0, compared = 0;
  for (int round = 0; round < 60'000; ++round) {
    std::string json = seeds[rng() % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !json.empty(); --edits) {
      const size_t at = rng() % json.size();
      const char c = (rng() % 4 == 0) ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: json[at] = c; break;
        case 1: json.insert(json.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: json.erase(at, 1); break;
      }
    }
    RequestFields a = request_fields(), b = request_fields(), probe = request_fields();
    const std::string fast = outcome_of(with_plain.read(json, a), a);
    const std::string full = outcome_of(simdjson_only.read(json, b), b);
    if (fast != full) {
      CAPTURE(json);
      CHECK(fast == full);
    }
    plain_reads += read_plain_object(json, probe, keys) ? 1 : 0;
    ++compared;
  }
  // The plain pass really took part: many mutations leave a plain object.
  CHECK(plain_reads > compared / 20);
  MESSAGE(plain_reads << " of " << compared << " inputs read by the plain pass");
}

TEST_CASE("strings are written the same whatever their length and wherever the special bytes fall") {
  // Random strings from pieces whose escaped form is known on its own, so the expected
  // output is the pieces' forms in order: this covers the word-at-a-time plain prefix
  // (a special byte at every position of a word, before, in and after it).
  struct Piece {
    std::string in, out;
  };
  const std::vector<Piece> pieces{
      {"a", "a"}, {"Z", "Z"}, {"-", "-"}, {"0", "0"}, {"~", "~"}, {"\x7f", "\x7f"}, {" ", " "},
      {"\"", "\\\""}, {"\\", "\\\\"}, {"\n", "\\n"}, {"\x01", "\\u0001"}, {"\x1f", "\\u001f"},
      {"\xc3\xa9", "\xc3\xa9"}, {"\xe2\x82\xac", "\xe2\x82\xac"}, {"\xf0\x9f\x8e\x9f", "\xf0\x9f\x8e\x9f"},
      {"\xff", "\xef\xbf\xbd"}, {"\xc3", "\xef\xbf\xbd"},  // never UTF-8; a lead byte with no continuation
  };
  std::mt19937_64 rng(8);
  for (int round = 0; round < 20'000; ++round) {
    std::string in, expected = "\"";
    const size_t plain_run = rng() % 20;  // a long plain start, then anything
    for (size_t i = 0; i < plain_run; ++i) {
      in += 'p';
      expected += 'p';
    }
    for (size_t n = rng() % 12; n > 0; --n) {
      const Piece& p = pieces[rng() % pieces.size()];
      in += p.in;
      expected += p.out;
    }
    expected += '"';
    std::string out;
    append_json_string(out, in);
    if (out != expected) {
      CAPTURE(in);
      REQUIRE(out == expected);
    }
  }
}
