#pragma once
// Reading request targets: path segments and query parameters, percent-decoded.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace couponflow::ops {

/// Decodes %XX escapes; nullopt for a malformed escape or a decoded NUL byte. '+' stays
/// '+' (it means a space only in form bodies, not in paths).
std::optional<std::string> percent_decode(std::string_view text);
/// Encodes everything but unreserved characters (RFC 3986), for building paths.
std::string percent_encode(std::string_view text);

/// The decoded segments of a path ("/a/b%2Fc" -> {"a", "b/c"}); nullopt if a segment
/// does not decode or the path does not start with '/'. Empty segments are kept
/// ("/a//b" -> {"a", "", "b"}), so callers can refuse them.
std::optional<std::vector<std::string>> path_segments(std::string_view path);

/// The decoded value of parameter `name` in a query string ("a=1&b=2"); nullopt if
/// absent or undecodable; "" for "name" or "name=".
std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

}  // namespace couponflow::ops
