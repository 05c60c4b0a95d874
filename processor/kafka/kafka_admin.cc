#include "processor/kafka/kafka_admin.h"

#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

/// Throws what an admin request's overall error means: a timeout may pass, the rest
/// will not.
void throw_on_error(rd_kafka_event_t* event, const char* what) {
  if (event == nullptr) throw RetriableError(fmt::format("{}: the cluster did not answer in time", what));
  const rd_kafka_resp_err_t err = rd_kafka_event_error(event);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const std::string message = fmt::format("{}: {}", what, rd_kafka_event_error_string(event));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) throw RetriableError(message);
  throw FatalError(message);
}

}  // namespace

struct KafkaAdmin::Impl {
  detail::Handle rk;
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue;
  int timeout_ms = 15'000;
  std::optional<bool> supported;

  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(rd_kafka_admin_op_t op) const {
    std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> o(rd_kafka_AdminOptions_new(rk.get(), op));
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(o.get(), timeout_ms, err, sizeof err);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
      rd_kafka_AdminOptions_set_operation_timeout(o.get(), timeout_ms, err, sizeof err);
    }
    return o;
  }
  Event wait(rd_kafka_event_type_t type) const {
    // The result arrives within the request timeout; the margin covers queueing.
    for (;;) {
      Event event(rd_kafka_queue_poll(queue.get(), timeout_ms + 2'000));
      if (!event || rd_kafka_event_type(event.get()) == type) return event;
    }
  }
};

KafkaAdmin::KafkaAdmin(const ClientProperties& properties, int timeout_ms) : impl_(std::make_unique<Impl>()) {
  ClientProperties props{{"allow.auto.create.topics", "false"}};
  props.merge(properties);
  impl_->rk = detail::new_handle(RD_KAFKA_PRODUCER, detail::make_conf(props));
  impl_->queue.reset(rd_kafka_queue_new(impl_->rk.get()));
  impl_->timeout_ms = timeout_ms;
}

KafkaAdmin::~KafkaAdmin() = default;

bool KafkaAdmin::supported() {
  if (!impl_->supported) {
    char* id = rd_kafka_clusterid(impl_->rk.get(), impl_->timeout_ms);
    if (id == nullptr) throw RetriableError("the cluster did not say its id in time");
    impl_->supported = !std::string_view(id).starts_with("mockCluster");
    rd_kafka_mem_free(impl_->rk.get(), id);
  }
  return *impl_->supported;
}

std::map<std::string, processor::TopicDescription> KafkaAdmin::describe_topics(const std::vector<std::string>& topics) {
  std::map<std::string, processor::TopicDescription> out;
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(impl_->rk.get(), 1, nullptr, &md, impl_->timeout_ms)) {
    throw RetriableError("cluster metadata: " + detail::error_text(err));
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (std::find(topics.begin(), topics.end(), t.topic) == topics.end()) continue;
    processor::TopicDescription& d = out[t.topic];
    d.partitions = t.partition_cnt;
    d.replication_factor = t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0;
  }
  rd_kafka_metadata_destroy(md);
  if (out.empty()) return out;

  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& [name, d] : out) resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  rd_kafka_DescribeConfigs(impl_->rk.get(), resources.data(), resources.size(),
                           impl_->options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS).get(), impl_->queue.get());
  for (auto* r : resources) rd_kafka_ConfigResource_destroy(r);
  Event event = impl_->wait(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
  throw_on_error(event.get(), "describing topic configurations");
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event.get()), &count);
  for (size_t i = 0; i < count; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(described[i]);
    if (auto err = rd_kafka_ConfigResource_error(described[i])) {
      throw FatalError(fmt::format("describing topic {}: {}", name, detail::error_text(err)));
    }
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** config = rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t e = 0; e < entries; ++e) {
      const char* value = rd_kafka_ConfigEntry_value(config[e]);
      if (value != nullptr) out[name].configs[rd_kafka_ConfigEntry_name(config[e])] = value;
    }
  }
  return out;
}

std::vector<std::string> KafkaAdmin::create_topics(const std::vector<processor::NewTopic>& topics) {
  std::vector<rd_kafka_NewTopic_t*> requests;
  auto release = [&] {
    for (auto* t : requests) rd_kafka_NewTopic_destroy(t);
  };
  char err[512];
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* request = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, err, sizeof err);
    if (request == nullptr) {
      release();
      throw FatalError(fmt::format("topic {}: {}", t.name, err));
    }
    requests.push_back(request);
    for (const auto& [key, value] : t.configs) {
      if (auto e = rd_kafka_NewTopic_set_config(request, key.c_str(), value.c_str())) {
        release();
        throw FatalError(fmt::format("topic {}: {}={}: {}", t.name, key, value, detail::error_text(e)));
      }
    }
  }
  rd_kafka_CreateTopics(impl_->rk.get(), requests.data(), requests.size(),
                        impl_->options(RD_KAFKA_ADMIN_OP_CREATETOPICS).get(), impl_->queue.get());
  release();
  Event event = impl_->wait(RD_KAFKA_EVENT_CREATETOPICS_RESULT);
  throw_on_error(event.get(), "creating topics");
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  std::vector<std::string> existing;
  for (size_t i = 0; i < count; ++i) {
    const std::string name = rd_kafka_topic_result_name(results[i]);
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      existing.push_back(name);
    } else if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      throw FatalError(fmt::format("creating topic {}: {}", name, message ? message : detail::error_text(e)));
    }
  }
  return existing;
}

processor::GroupDescription KafkaAdmin::describe_group(const std::string& group) {
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(impl_->rk.get(), groups, 1,
                                  impl_->options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS).get(), impl_->queue.get());
  Event event = impl_->wait(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
  throw_on_error(event.get(), "describing the consumer group");
  size_t count = 0;
  const rd_kafka_ConsumerGroupDescription_t** described =
      rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(event.get()), &count);
  processor::GroupDescription out;
  out.state = "Dead";
  for (size_t i = 0; i < count; ++i) {
    const auto* d = described[i];
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      throw FatalError(fmt::format("describing group {}: {}", group, rd_kafka_error_string(e)));
    }
    out.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(d); ++m) {
      const rd_kafka_MemberDescription_t* member = rd_kafka_ConsumerGroupDescription_member(d, m);
      processor::GroupMember gm;
      auto text = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
      gm.member_id = text(rd_kafka_MemberDescription_consumer_id(member));
      gm.client_id = text(rd_kafka_MemberDescription_client_id(member));
      gm.host = text(rd_kafka_MemberDescription_host(member));
      gm.instance_id = text(rd_kafka_MemberDescription_group_instance_id(member));
      if (const auto* assignment = rd_kafka_MemberDescription_assignment(member)) {
        if (const auto* list = rd_kafka_MemberAssignment_partitions(assignment)) {
          for (int p = 0; p < list->cnt; ++p) {
            gm.assignment.push_back({list->elems[p].topic, Partition{list->elems[p].partition}});
          }
        }
      }
      out.members.push_back(std::move(gm));
    }
  }
  return out;
}

}  // namespace couponflow::kafka
