#include "ops/instance_events_reader.h"

#include <array>
#include <fstream>
#include <string_view>

#include "topology/coupon/json_object.h"

namespace couponflow::ops {
namespace {

enum Field : size_t { kTime, kEvent, kWhat, kAddress, kPartition, kFrom, kTo, kStore, kFromOffset, kToOffset,
                      kRecords, kBytes, kMillis, kFieldCount };
using Fields = std::array<coupon::JsonField, kFieldCount>;

Fields event_fields() {
  using coupon::JsonField;
  using coupon::JsonType;
  return {JsonField{"time_ms", JsonType::kInt64},     JsonField{"event", JsonType::kString},
          JsonField{"what", JsonType::kString},       JsonField{"address", JsonType::kString},
          JsonField{"partition", JsonType::kInt64},   JsonField{"from", JsonType::kString},
          JsonField{"to", JsonType::kString},         JsonField{"store", JsonType::kString},
          JsonField{"from_offset", JsonType::kInt64}, JsonField{"to_offset", JsonType::kInt64},
          JsonField{"records", JsonType::kInt64},     JsonField{"bytes", JsonType::kInt64},
          JsonField{"millis", JsonType::kInt64}};
}

/// The event on one line, or nullopt when the line is not one this reader knows.
std::optional<InstanceEvent> parse_line(std::string_view line, coupon::JsonObjectReader& reader, Fields& fields) {
  if (reader.read(line, fields) || !fields[kEvent].present) return std::nullopt;
  const auto kind = processor::instance_event_kind_from_string(fields[kEvent].text);
  if (!kind) return std::nullopt;
  // Absent fields keep InstanceEvent's defaults.
  const auto text = [&](Field f) { return fields[f].present ? std::move(fields[f].text) : std::string(); };
  const auto number = [&](Field f, int64_t otherwise) { return fields[f].present ? fields[f].number : otherwise; };
  const auto state = [&](Field f) {
    return fields[f].present ? processor::task_state_from_string(fields[f].text) : std::nullopt;
  };
  InstanceEvent e;
  e.time_ms = number(kTime, 0);
  e.kind = *kind;
  e.what = text(kWhat);
  e.address = text(kAddress);
  e.partition = static_cast<int>(number(kPartition, -1));
  e.from = state(kFrom);
  e.to = state(kTo);
  e.store = text(kStore);
  e.from_offset = number(kFromOffset, 0);
  e.to_offset = number(kToOffset, 0);
  e.records = number(kRecords, 0);
  e.bytes = number(kBytes, 0);
  e.millis = number(kMillis, 0);
  return e;
}

}  // namespace

const std::vector<InstanceEvent>& InstanceEventsFile::read() {
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) return events_;
  const std::streamoff end = in.tellg();
  if (end < 0) return events_;  // not a file that can be read (a directory, say)
  const auto size = static_cast<uint64_t>(end);
  if (size < consumed_) {  // shorter than what was read: another file now, read from its start
    consumed_ = 0;
    events_.clear();
  }
  if (size == consumed_) return events_;
  in.seekg(static_cast<std::streamoff>(consumed_));
  std::string text(size - consumed_, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));

  Fields fields = event_fields();
  coupon::JsonObjectReader reader;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    if (auto e = parse_line(std::string_view(text).substr(start, end - start), reader, fields)) {
      events_.push_back(std::move(*e));
    }
  }
  consumed_ += start;  // the bytes up to the last newline; a partial line is read again next time
  return events_;
}

std::vector<InstanceEvent> read_instance_events(const std::filesystem::path& path) {
  InstanceEventsFile file(path);
  return file.read();
}

}  // namespace couponflow::ops
