#include "processor/metrics/thread_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <stdexcept>

namespace couponflow::processor {

namespace {
prometheus::Labels to_prometheus(const MetricLabels& labels) {
  prometheus::Labels out;
  for (const auto& [k, v] : labels) out.emplace(k, v);
  return out;
}
}  // namespace

/// The registry's families, by metric name (a name has one type).
struct ThreadMetrics::Families {
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histograms;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges;
};

ThreadMetrics::ThreadMetrics(std::shared_ptr<prometheus::Registry> registry, MetricLabels gauge_labels)
    : registry_(std::move(registry)), gauge_labels_(std::move(gauge_labels)), families_(std::make_unique<Families>()) {}

ThreadMetrics::~ThreadMetrics() {
  // The registry may outlive this thread (it belongs to the process): take its series
  // out of it, so a stopped thread does not keep reporting its last values.
  if (!registry_) return;
  for (auto& [k, e] : gauges_) {
    if (e->target != nullptr) families_->gauges.at(e->name)->Remove(static_cast<prometheus::Gauge*>(e->target));
  }
}

std::string ThreadMetrics::key(const std::string& name, const MetricLabels& labels) {
  std::string k = name;
  for (const auto& [label, value] : labels) {
    k += '\0';
    k += label;
    k += '=';
    k += value;
  }
  return k;
}

MetricCounter& ThreadMetrics::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
  auto& entry = counters_[key(name, labels)];
  if (!entry) {
    entry = std::make_unique<CounterEntry>(CounterEntry{name, labels, {}, 0, nullptr});
    help_.emplace(name, help);
  }
  return entry->cell;
}

LocalHistogram& ThreadMetrics::histogram(const std::string& name, const std::string& help,
                                         const MetricLabels& labels, const std::vector<double>& bounds) {
  auto& entry = histograms_[key(name, labels)];
  if (!entry) {
    entry = std::make_unique<HistogramEntry>(HistogramEntry{name, labels, LocalHistogram(bounds), nullptr});
    help_.emplace(name, help);
  }
  return entry->cell;
}

GaugeCell& ThreadMetrics::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return gauge(name, help, labels, true);
}

GaugeCell& ThreadMetrics::instance_gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return gauge(name, help, labels, false);
}

GaugeCell& ThreadMetrics::gauge(const std::string& name, const std::string& help, const MetricLabels& labels,
                                bool per_thread) {
  const std::string k = key(name, labels);
  auto& entry = gauges_[k];
  if (!entry) {
    entry = std::make_unique<GaugeEntry>(GaugeEntry{name, labels, {}, nullptr, per_thread});
    entry->cell.key_ = k;
    help_.emplace(name, help);
    ++gauge_counts_[name];
  }
  return entry->cell;
}

void ThreadMetrics::remove(GaugeCell& gauge) {
  auto it = gauges_.find(gauge.key_);
  if (it == gauges_.end()) return;
  if (it->second->target != nullptr) {
    families_->gauges.at(it->second->name)->Remove(static_cast<prometheus::Gauge*>(it->second->target));
  }
  --gauge_counts_[it->second->name];
  gauges_.erase(it);
}

size_t ThreadMetrics::gauge_count(const std::string& name) const {
  auto it = gauge_counts_.find(name);
  return it == gauge_counts_.end() ? 0 : it->second;
}

void ThreadMetrics::publish() {
  if (!registry_) return;
  for (auto& [k, e] : counters_) {
    const uint64_t now = e->cell.value();
    if (now == e->published && e->target != nullptr) continue;
    if (e->target == nullptr) {
      auto*& family = families_->counters[e->name];
      if (family == nullptr) {
        family = &prometheus::BuildCounter().Name(e->name).Help(help_.at(e->name)).Register(*registry_);
      }
      e->target = &family->Add(to_prometheus(e->labels));
    }
    static_cast<prometheus::Counter*>(e->target)->Increment(static_cast<double>(now - e->published));
    e->published = now;
  }
  for (auto& [k, e] : histograms_) {
    if (e->cell.pending() == 0 && e->target != nullptr) continue;
    if (e->target == nullptr) {
      auto*& family = families_->histograms[e->name];
      if (family == nullptr) {
        family = &prometheus::BuildHistogram().Name(e->name).Help(help_.at(e->name)).Register(*registry_);
      }
      e->target = &family->Add(to_prometheus(e->labels), e->cell.bounds());
    }
    if (e->cell.pending() > 0) {
      static_cast<prometheus::Histogram*>(e->target)->ObserveMultiple(e->cell.counts(), e->cell.sum());
    }
    e->cell.drain();
  }
  for (auto& [k, e] : gauges_) {
    if (e->target == nullptr) {
      auto*& family = families_->gauges[e->name];
      if (family == nullptr) {
        family = &prometheus::BuildGauge().Name(e->name).Help(help_.at(e->name)).Register(*registry_);
      }
      auto labels = to_prometheus(e->labels);
      if (e->per_thread) {
        for (const auto& [label, value] : gauge_labels_) labels[label] = value;
      }
      e->target = &family->Add(labels);
    }
    static_cast<prometheus::Gauge*>(e->target)->Set(e->cell.value());
  }
}

uint64_t ThreadMetrics::counter_value(const std::string& name, const MetricLabels& labels) const {
  auto it = counters_.find(key(name, labels));
  return it == counters_.end() ? 0 : it->second->cell.value();
}

uint64_t ThreadMetrics::counter_sum(const std::string& name) const {
  uint64_t sum = 0;
  for (const auto& [k, e] : counters_) {
    if (e->name == name) sum += e->cell.value();
  }
  return sum;
}

const GaugeCell* ThreadMetrics::find_gauge(const std::string& name, const MetricLabels& labels) const {
  auto it = gauges_.find(key(name, labels));
  return it == gauges_.end() ? nullptr : &it->second->cell;
}

const std::vector<double>& ThreadMetrics::fast_latency_buckets() {
  static const std::vector<double> buckets{1e-6,   2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4,
                                           2.5e-4, 5e-4,   1e-3,   1e-2, 1e-1};
  return buckets;
}

const std::vector<double>& ThreadMetrics::slow_latency_buckets() {
  static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,      2.5,   5,    10,    30,   60,  600};
  return buckets;
}

}  // namespace couponflow::processor
