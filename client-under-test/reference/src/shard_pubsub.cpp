#include <schsim/core/cluster/slots.hpp>
#include <schsim/refclient/shard_pubsub.hpp>

#include <algorithm>
#include <map>

namespace schsim::refclient {

auto decode_shard_frame(const resp3::value& v) -> std::optional<shard_frame> {
  if ((v.kind != resp3::type::push && v.kind != resp3::type::array) || v.elements.size() != 3) {
    return std::nullopt;
  }
  const auto& name = v.elements[0].text;
  shard_frame f;
  f.channel = v.elements[1].text;
  if (name == "ssubscribe") {
    f.what = shard_frame::kind::confirmed;
  } else if (name == "sunsubscribe") {
    f.what = shard_frame::kind::ended;
  } else if (name == "smessage") {
    f.what = shard_frame::kind::message;
    f.payload = v.elements[2].text;
  } else {
    return std::nullopt;
  }
  return f;
}

shard_router::shard_router(std::vector<std::string> channels) {
  for (auto& c : channels) {
    const auto slot = cluster::key_slot(c);
    entries_.push_back(entry{std::move(c), slot, std::nullopt, false, std::nullopt});
  }
}

auto shard_router::find(std::string_view channel) -> entry* {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const entry& e) { return e.name == channel; });
  return it == entries_.end() ? nullptr : &*it;
}

auto shard_router::find(std::string_view channel) const -> const entry* {
  return const_cast<shard_router*>(this)->find(channel);
}

auto shard_router::place(const slot_map& map) -> std::vector<placement> {
  std::map<address, std::vector<std::string>> by_node;
  for (auto& e : entries_) {
    if (e.at) continue;
    const auto owner = map.owner(e.slot);
    if (!owner || owner == e.left) continue;  // the map does not know the move yet
    e.at = owner;
    by_node[*owner].push_back(e.name);
  }
  std::vector<placement> out;
  for (auto& [node, names] : by_node) out.push_back(placement{node, std::move(names)});
  return out;
}

auto shard_router::on_confirmed(const address& node, std::string_view channel) -> bool {
  auto* e = find(channel);
  if (e == nullptr || e->at != node) return false;
  e->held = true;
  e->left.reset();
  if (all_held_once_) return false;
  all_held_once_ =
      std::all_of(entries_.begin(), entries_.end(), [](const entry& x) { return x.held; });
  return all_held_once_;
}

auto shard_router::on_dropped(const address& node, std::string_view channel) -> bool {
  auto* e = find(channel);
  if (e == nullptr || e->at != node) return false;
  e->at.reset();
  e->held = false;
  e->left = node;
  return true;
}

auto shard_router::where(std::string_view channel) const -> std::optional<address> {
  const auto* e = find(channel);
  return e == nullptr ? std::nullopt : e->at;
}

auto shard_router::held(std::string_view channel) const -> bool {
  const auto* e = find(channel);
  return e != nullptr && e->held;
}

auto shard_router::waiting() const -> std::size_t {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const entry& e) { return !e.at; }));
}

}  // namespace schsim::refclient
