#include "topology/coupon/issued_state.h"

#include <cstring>

namespace couponflow::coupon {

void holding_key(std::string& out, std::string_view coupon_id, std::string_view user_id) {
  const auto n = static_cast<uint32_t>(coupon_id.size());
  out.clear();
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(coupon_id);
  out.append(user_id);
}

std::optional<std::string_view> coupon_of_holding_key(std::string_view key) {
  if (key.size() < 4) return std::nullopt;
  const auto* b = reinterpret_cast<const unsigned char*>(key.data());
  const uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  if (key.size() - 4 < n) return std::nullopt;
  return key.substr(4, n);
}

void encode_holding(std::string& out, int64_t issue_no, std::string_view identity) {
  out.resize(sizeof issue_no);
  std::memcpy(out.data(), &issue_no, sizeof issue_no);
  out.append(identity);
}

std::optional<Holding> decode_holding(std::string_view bytes) {
  Holding h;
  if (bytes.size() < sizeof h.issue_no) return std::nullopt;
  std::memcpy(&h.issue_no, bytes.data(), sizeof h.issue_no);
  h.identity = bytes.substr(sizeof h.issue_no);
  return h;
}

std::string encode_count(int64_t count) {
  std::string out(sizeof count, '\0');
  std::memcpy(out.data(), &count, sizeof count);
  return out;
}

int64_t decode_count(std::optional<std::string_view> bytes) {
  int64_t count = 0;
  if (bytes && bytes->size() == sizeof count) std::memcpy(&count, bytes->data(), sizeof count);
  return count;
}

state::StoreSpec issued_store_spec() {
  state::ViewSpec counts{
      std::string(kCountsView),
      [](std::string_view key, std::optional<std::string_view> value, state::KeyValueStore& view) {
        auto coupon = coupon_of_holding_key(key);
        if (!value) {
          // Holdings are deleted only all at once (couponflow reset empties the
          // store): each takes one off, and the last leaves the coupon with none.
          if (!coupon) return;
          const int64_t count = decode_count(view.get(*coupon));
          if (count > 1) {
            view.put(*coupon, encode_count(count - 1));
          } else {
            view.remove(*coupon);
          }
          return;
        }
        auto holding = decode_holding(*value);
        if (!coupon || !holding) return;
        if (holding->issue_no > decode_count(view.get(*coupon))) {
          view.put(*coupon, encode_count(holding->issue_no));
        }
      }};
  return state::StoreSpec{std::string(kIssuedStore), {std::move(counts)}, std::nullopt};
}

}  // namespace couponflow::coupon
