#include "state/restore_buffer.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace couponflow::state {

void RestoreBuffer::append(std::string_view key, std::optional<std::string_view> value) {
  if (key.size() > std::numeric_limits<uint32_t>::max() || (value && value->size() > std::numeric_limits<uint32_t>::max())) {
    throw std::length_error("restore buffer: entry over 4 GiB");
  }
  const Entry e{bytes_.size(), static_cast<uint32_t>(key.size()), value ? static_cast<uint32_t>(value->size()) : 0,
                value.has_value()};
  bytes_.append(key);
  if (value) bytes_.append(*value);
  if (indexed_) index_.insert_or_assign(std::string(key), static_cast<uint32_t>(entries_.size()));
  entries_.push_back(e);
}

std::optional<bool> RestoreBuffer::contains(std::string_view key) {
  if (!indexed_) {
    for (uint32_t i = 0; i < entries_.size(); ++i) index_.insert_or_assign(std::string(key_of(entries_[i])), i);
    indexed_ = true;
  }
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return std::nullopt;
  return entries_[it->second].present;
}

std::vector<RestoreBuffer::Latest> RestoreBuffer::latest_sorted() const {
  // Changelog keys share long prefixes (a coupon id, a user prefix): comparing the
  // eight bytes after the prefix common to the batch as one integer settles most
  // comparisons without a memcmp over the shared part.
  size_t common = entries_.empty() ? 0 : key_of(entries_[0]).size();
  for (const Entry& e : entries_) {
    const std::string_view first = key_of(entries_[0]), key = key_of(e);
    common = std::min({common, key.size()});
    size_t i = 0;
    while (i < common && first[i] == key[i]) ++i;
    common = i;
  }
  struct Item {
    uint64_t head;  // big-endian bytes [common, common + 8) of the key, zero-padded
    uint32_t index;
  };
  std::vector<Item> items(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const std::string_view key = key_of(entries_[i]);
    uint64_t head = 0;
    for (size_t b = 0; b < 8; ++b) {
      head <<= 8;
      if (common + b < key.size()) head |= static_cast<unsigned char>(key[common + b]);
    }
    items[i] = {head, i};
  }
  std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    if (a.head != b.head) return a.head < b.head;
    const std::string_view ka = key_of(entries_[a.index]), kb = key_of(entries_[b.index]);
    const size_t skip = std::min({common + 8, ka.size(), kb.size()});
    const int c = ka.substr(skip).compare(kb.substr(skip));
    // Equal 8-byte heads of different lengths: the zero padding cannot tell "k" from
    // "k\0", the length can (a prefix sorts first).
    if (c != 0) return c < 0;
    return a.index < b.index;  // the same key: changelog order
  });
  std::vector<Latest> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const Entry& e = entries_[items[i].index];
    // Only the last write of a key counts: the next item is the same key written later.
    if (i + 1 < items.size() && key_of(entries_[items[i + 1].index]) == key_of(e)) continue;
    out.push_back({key_of(e), e.present ? std::optional<std::string_view>(value_of(e)) : std::nullopt});
  }
  return out;
}

void RestoreBuffer::clear() {
  bytes_.clear();
  entries_.clear();
  index_.clear();
  indexed_ = false;
}

}  // namespace couponflow::state
