#pragma once
// JSON string literals for whatever bytes come: results, verify's report, log lines.

#include <string>
#include <string_view>

namespace couponflow {

/// Appends `s` to `out` as a JSON string literal (quotes included): quotes, backslashes
/// and control characters escaped, and each byte that is not part of valid UTF-8
/// replaced by U+FFFD, so the output is valid JSON whatever `s` holds.
void append_json_string(std::string& out, std::string_view s);

}  // namespace couponflow
