#include "processor/partition_guard.h"

#include <fmt/format.h>

#include "common/errors.h"

namespace couponflow::processor {
namespace {
constexpr const char* kMigration =
    "to change the partition count, stop every instance, create new topics with the new count (input, "
    "catalog and changelogs), republish the catalog to them, and start a new application (a new "
    "--application-id) on them once the old one has drained (docs/design.md, section 3)";
}  // namespace

int32_t check_partitioning(const std::string& primary, const std::vector<std::string>& topics,
                           const std::map<std::string, int32_t>& observed, std::optional<int32_t> expected) {
  const auto it = observed.find(primary);
  if (it == observed.end()) throw FatalError("topic " + primary + " does not exist");
  const int32_t count = it->second;
  if (expected && count != *expected) {
    throw FatalError(fmt::format(
        "{} now has {} partitions but this application's state was built for {}: its coupons would be "
        "counted again from zero in other partitions, so processing stops; {}",
        primary, count, *expected, kMigration));
  }
  for (const auto& topic : topics) {
    const auto t = observed.find(topic);
    if (t == observed.end()) throw FatalError("topic " + topic + " does not exist");
    if (t->second != count) {
      throw FatalError(fmt::format("{} has {} partitions but {} has {}: they must be co-partitioned; {}", topic,
                                   t->second, primary, count, kMigration));
    }
  }
  return count;
}

}  // namespace couponflow::processor
