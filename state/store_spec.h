#pragma once
// Declarations of a task's stores, as a topology declares them.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/key_value_store.h"

namespace couponflow::state {

/// Keeps a derived view in step with one write to the store's primary keyspace.
/// Called with the written key and value (nullopt for a delete) and the view to update.
/// A delete reaches the view only if the key was there, so a repeated delete (a
/// tombstone restored twice) changes nothing.
/// It must be a pure function of its arguments and the view's current content: it runs
/// both when a processor writes and when the store is restored from its changelog, and
/// both runs must produce the same view.
using ViewDerivation = std::function<void(std::string_view key,
                                          std::optional<std::string_view> value,
                                          KeyValueStore& view)>;

/// A secondary keyspace derived from the primary one (for example a count per group of
/// keys). A view is never logged: it lives in the same local database as its store,
/// changes in the same atomic write, and is rebuilt from the store's changelog on
/// restore. So a view can never disagree with the data it is derived from.
struct ViewSpec {
  std::string name;
  ViewDerivation derive;
};

struct StoreSpec {
  std::string name;
  std::vector<ViewSpec> views;
  /// Set for a table store: it is written only by the table source reading this topic,
  /// and that topic doubles as its changelog (restored up to the committed input
  /// offset, as Kafka Streams does for source KTables). Unset: the store has its own
  /// changelog topic "<application-id>-<name>-changelog".
  std::optional<std::string> source_topic;
};

inline std::string changelog_topic(std::string_view application_id, const StoreSpec& spec) {
  if (spec.source_topic) return *spec.source_topic;
  std::string topic(application_id);
  topic += '-';
  topic += spec.name;
  topic += "-changelog";
  return topic;
}

}  // namespace couponflow::state
