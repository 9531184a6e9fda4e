#include <schsim/simulator/cluster_state.hpp>

#include <algorithm>
#include <stdexcept>

namespace schsim::simulator {
namespace {

// FNV-1a 64: cheap, stable across platforms and runs (std::hash is neither promised).
auto fnv1a(std::string_view bytes, std::uint64_t seed) -> std::uint64_t {
  std::uint64_t h = 14695981039346656037ULL ^ seed;
  for (const char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// splitmix64's finaliser: spreads FNV's weak low bits over the whole word.
auto mix(std::uint64_t x) -> std::uint64_t {
  x ^= x >> 30U;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27U;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31U;
  return x;
}

}  // namespace

auto slot_migration::progress(time_point now) const -> double {
  if (migrate_for.count() <= 0) {
    return 1.0;
  }
  const auto elapsed = std::chrono::duration<double>(now - started_at);
  const auto total = std::chrono::duration<double>(migrate_for);
  return std::clamp(elapsed / total, 0.0, 1.0);
}

void cluster_state::add_node(std::string name, std::string host, std::uint16_t port,
                             schsim::cluster::slot_set slots) {
  auto id = node_id(name);
  nodes_.push_back(
      cluster_node{std::move(name), std::move(host), port, std::move(id), std::move(slots)});
}

auto cluster_state::find(std::string_view name) const -> const cluster_node* {
  const auto it = std::ranges::find(nodes_, name, &cluster_node::name);
  return it == nodes_.end() ? nullptr : &*it;
}

auto cluster_state::find_mutable(std::string_view name) -> cluster_node* {
  const auto it = std::ranges::find(nodes_, name, &cluster_node::name);
  return it == nodes_.end() ? nullptr : &*it;
}

auto cluster_state::owner(std::uint16_t slot) const -> const cluster_node* {
  const auto it =
      std::ranges::find_if(nodes_, [&](const auto& n) { return n.slots.contains(slot); });
  return it == nodes_.end() ? nullptr : &*it;
}

auto cluster_state::migration_of(std::uint16_t slot) const -> const slot_migration* {
  const auto it =
      std::ranges::find_if(migrations_, [&](const auto& m) { return m.slots.contains(slot); });
  return it == migrations_.end() ? nullptr : &*it;
}

auto cluster_state::migration_of_mutable(std::uint16_t slot) -> slot_migration* {
  const auto it =
      std::ranges::find_if(migrations_, [&](const auto& m) { return m.slots.contains(slot); });
  return it == migrations_.end() ? nullptr : &*it;
}

auto cluster_state::members() const -> std::vector<const cluster_node*> {
  std::vector<const cluster_node*> out;
  for (const auto& n : nodes_) {
    const bool migrating = std::ranges::any_of(
        migrations_, [&](const auto& m) { return m.from == n.name || m.to == n.name; });
    if (!n.slots.empty() || migrating) {
      out.push_back(&n);
    }
  }
  return out;
}

void cluster_state::begin_migration(const std::string& from, const std::string& to,
                                    const schsim::cluster::slot_set& slots, time_point now,
                                    std::chrono::milliseconds migrate_for) {
  if (find(from) == nullptr || find(to) == nullptr) {
    throw std::invalid_argument("schsim cluster: unknown node in migration " + from + " -> " + to);
  }
  // A slot is in at most one migration: a new one for the same slots replaces the old.
  for (auto& m : migrations_) {
    m.slots.remove(slots);
  }
  std::erase_if(migrations_, [](const auto& m) { return m.slots.empty(); });
  migrations_.push_back(slot_migration{from, to, slots, now, migrate_for, {}});
}

void cluster_state::complete_migration(const std::string& from, const std::string& to,
                                       const schsim::cluster::slot_set& slots) {
  auto* dest = find_mutable(to);
  if (find(from) == nullptr || dest == nullptr) {
    throw std::invalid_argument("schsim cluster: unknown node in migration " + from + " -> " + to);
  }
  for (auto& n : nodes_) {
    n.slots.remove(slots);
  }
  dest->slots.add(slots);
  for (auto& m : migrations_) {
    m.slots.remove(slots);
  }
  std::erase_if(migrations_, [](const auto& m) { return m.slots.empty(); });
}

void cluster_state::set_asking(std::uint64_t conn) { asking_.insert(conn); }

auto cluster_state::take_asking(std::uint64_t conn) -> bool { return asking_.erase(conn) > 0; }

auto cluster_state::route(std::string_view node, bool asking,
                          std::span<const std::string_view> keys, time_point now,
                          const std::function<bool(std::string_view)>& exists) -> route_decision {
  using kind = route_decision::kind;
  if (keys.empty()) {
    return {};
  }
  const auto slot = schsim::cluster::key_slot(keys.front());
  for (const auto key : keys.subspan(1)) {
    if (schsim::cluster::key_slot(key) != slot) {
      return {kind::crossslot, slot, nullptr};
    }
  }
  const auto* owning = owner(slot);
  if (owning == nullptr) {
    return {kind::unowned, slot, nullptr};
  }
  auto* migration = migration_of_mutable(slot);
  if (owning->name == node) {
    if (migration == nullptr || migration->from != node) {
      return {kind::serve, slot, nullptr};
    }
    const double progress = migration->progress(now);
    std::size_t here = 0;
    for (const auto key : keys) {
      const bool still_here = exists(key) && !migration->moved_keys.contains(std::string(key)) &&
                              key_position(key) >= progress;
      here += still_here ? 1 : 0;
    }
    if (here == keys.size()) {
      return {kind::serve, slot, nullptr};
    }
    if (here == 0) {
      return {kind::ask, slot, find(migration->to)};
    }
    return {kind::tryagain, slot, nullptr};
  }
  if (migration != nullptr && migration->to == node && asking) {
    for (const auto key : keys) {
      migration->moved_keys.emplace(key);
    }
    return {kind::serve, slot, nullptr};
  }
  return {kind::moved, slot, owning};
}

auto cluster_state::node_id(std::string_view name) -> std::string {
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (std::uint64_t round = 0; id.size() < 40; ++round) {
    auto h = mix(fnv1a(name, round));
    for (int nibble = 0; nibble < 16 && id.size() < 40; ++nibble) {
      id.push_back(hex[h & 0xFU]);
      h >>= 4U;
    }
  }
  return id;
}

auto cluster_state::key_position(std::string_view key) -> double {
  // 53 bits: exactly representable in a double, uniform in [0, 1).
  const auto h = mix(fnv1a(key, 0x5eed)) >> 11U;
  return static_cast<double>(h) / static_cast<double>(1ULL << 53U);
}

}  // namespace schsim::simulator
