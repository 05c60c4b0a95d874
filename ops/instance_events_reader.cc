#include "ops/instance_events_reader.h"

#include <array>
#include <fstream>
#include <iterator>

#include "topology/coupon/json_object.h"

namespace couponflow::ops {

std::vector<InstanceEvent> read_instance_events(const std::filesystem::path& path) {
  std::vector<InstanceEvent> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  enum Field : size_t { kTime, kEvent, kWhat, kAddress, kPartition, kFrom, kTo, kStore, kFromOffset, kToOffset,
                        kRecords, kBytes, kMillis, kFieldCount };
  using coupon::JsonField;
  using coupon::JsonType;
  std::array<JsonField, kFieldCount> fields{
      JsonField{"time_ms", JsonType::kInt64},   JsonField{"event", JsonType::kString},
      JsonField{"what", JsonType::kString},     JsonField{"address", JsonType::kString},
      JsonField{"partition", JsonType::kInt64}, JsonField{"from", JsonType::kString},
      JsonField{"to", JsonType::kString},       JsonField{"store", JsonType::kString},
      JsonField{"from_offset", JsonType::kInt64}, JsonField{"to_offset", JsonType::kInt64},
      JsonField{"records", JsonType::kInt64},   JsonField{"bytes", JsonType::kInt64},
      JsonField{"millis", JsonType::kInt64}};
  coupon::JsonObjectReader reader;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    for (auto& f : fields) f.present = false;
    if (reader.read(std::string_view(text).substr(start, end - start), fields) || !fields[kEvent].present) continue;
    InstanceEvent e;
    e.time_ms = fields[kTime].number;
    e.event = fields[kEvent].text;
    e.what = fields[kWhat].present ? fields[kWhat].text : "";
    e.address = fields[kAddress].present ? fields[kAddress].text : "";
    e.partition = fields[kPartition].present ? static_cast<int>(fields[kPartition].number) : -1;
    e.from = fields[kFrom].present ? fields[kFrom].text : "";
    e.to = fields[kTo].present ? fields[kTo].text : "";
    e.store = fields[kStore].present ? fields[kStore].text : "";
    e.from_offset = fields[kFromOffset].present ? fields[kFromOffset].number : 0;
    e.to_offset = fields[kToOffset].present ? fields[kToOffset].number : 0;
    e.records = fields[kRecords].present ? fields[kRecords].number : 0;
    e.bytes = fields[kBytes].present ? fields[kBytes].number : 0;
    e.millis = fields[kMillis].present ? fields[kMillis].number : 0;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace couponflow::ops
