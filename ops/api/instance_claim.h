#pragma once
// What a processor instance advertises about itself, so that the api finds the instance
// that runs a partition through Kafka alone: a record of the topic
// "<application-id>-instances" (compacted, keyed by the instance's query address).
//
//   {"instance":"a","address":"10.0.0.7:9464","updatedAt":1700000000000,
//    "running":"0@1700000000000,3@1700000000500","restoring":"5"}
//
// `running` lists the partitions whose task runs here, each with the time this instance
// saw it start running; `restoring` those whose task is restoring. Lists are strings so
// the record is a flat object (read with the same hardened reader as requests). An
// instance that stops cleanly advertises empty lists.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace couponflow::ops {

std::string instances_topic(std::string_view application_id);

struct InstanceClaim {
  std::string instance;  // --instance-id, or the address when none was given
  std::string address;   // HOST:PORT of its query endpoint
  int64_t updated_at = 0;
  struct Running {
    int32_t partition;
    int64_t since;  // epoch ms this instance saw the task start running
    bool operator==(const Running&) const = default;
  };
  std::vector<Running> running;  // ordered by partition
  std::vector<int32_t> restoring;  // ordered
};

std::string encode_claim(const InstanceClaim& claim);
/// nullopt with `error` set for anything that is not a claim (never throws).
std::optional<InstanceClaim> parse_claim(std::string_view json, std::string& error);

}  // namespace couponflow::ops
