#include <schsim/simulator/keyspace.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace schsim::simulator {

namespace {

/// Redis's string2ll: strict base-10, no spaces, no leading '+', no leading zeros.
auto parse_strict_int(std::string_view s, std::int64_t& out) -> bool {
  if (s.empty() || s.size() > 20) {
    return false;
  }
  if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0'))) {
    return false;
  }
  if (s[0] == '+') {
    return false;
  }
  const auto* first = s.data();
  const auto* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc{} && ptr == last;
}

}  // namespace

auto keyspace::find_live(int db, std::string_view key, time_point now) -> entry* {
  auto& t = dbs_.at(static_cast<std::size_t>(db));
  auto it = t.find(key);
  if (it == t.end()) {
    return nullptr;
  }
  if (it->second.expires_at && *it->second.expires_at <= now) {
    t.erase(it);
    touch(db, key);
    return nullptr;
  }
  return &it->second;
}

auto keyspace::get(int db, std::string_view key, time_point now) -> const std::string* {
  const entry* e = find_live(db, key, now);
  return e != nullptr ? &e->value : nullptr;
}

auto keyspace::set(int db, std::string_view key, std::string_view value, const set_options& opts,
                   time_point now, previous_value want) -> set_result {
  set_result result;
  entry* e = find_live(db, key, now);
  if (want == previous_value::fetch && e != nullptr) {
    result.previous = e->value;
  }
  if ((opts.condition == set_condition::if_absent && e != nullptr) ||
      (opts.condition == set_condition::if_present && e == nullptr)) {
    return result;
  }
  if (e == nullptr) {
    auto& t = dbs_.at(static_cast<std::size_t>(db));
    e = &t.try_emplace(stored_key(key.data(), key.size())).first->second;
  }
  e->value.assign(value);
  switch (opts.ttl) {
    case ttl_policy::clear:
      e->expires_at.reset();
      break;
    case ttl_policy::keep:
      break;
    case ttl_policy::set:
      e->expires_at = opts.expires_at;
      break;
  }
  result.written = true;
  touch(db, key);
  return result;
}

auto keyspace::del(int db, std::string_view key, time_point now) -> bool {
  auto& t = dbs_.at(static_cast<std::size_t>(db));
  auto it = t.find(key);
  if (it == t.end()) {
    return false;
  }
  const bool live = !(it->second.expires_at && *it->second.expires_at <= now);
  t.erase(it);
  touch(db, key);
  return live;
}

auto keyspace::exists(int db, std::string_view key, time_point now) -> bool {
  return find_live(db, key, now) != nullptr;
}

auto keyspace::incr_by(int db, std::string_view key, std::int64_t delta, time_point now)
    -> arith_result {
  entry* e = find_live(db, key, now);
  std::int64_t current = 0;
  if (e != nullptr && !parse_strict_int(e->value, current)) {
    return {arith_error::not_an_integer, 0};
  }
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if ((delta < 0 && current < 0 && delta < min - current) ||
      (delta > 0 && current > 0 && delta > max - current)) {
    return {arith_error::overflow, 0};
  }
  const std::int64_t updated = current + delta;
  if (e == nullptr) {
    auto& t = dbs_.at(static_cast<std::size_t>(db));
    e = &t.try_emplace(stored_key(key.data(), key.size())).first->second;
  }
  // INCR keeps the TTL, like Redis. Written in place: the value's buffer is reused.
  std::array<char, 24> digits{};
  const auto written = std::to_chars(digits.data(), digits.data() + digits.size(), updated);
  e->value.assign(digits.data(), written.ptr);
  touch(db, key);
  return {arith_error::none, updated};
}

auto keyspace::expire_at(int db, std::string_view key, time_point deadline, time_point now)
    -> bool {
  entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return false;
  }
  if (deadline <= now) {
    del(db, key, now);
    return true;
  }
  e->expires_at = deadline;
  touch(db, key);
  return true;
}

auto keyspace::deadline(int db, std::string_view key, time_point now)
    -> std::optional<std::optional<time_point>> {
  const entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return std::nullopt;
  }
  return e->expires_at;
}

void keyspace::purge_expired(int db, time_point now) {
  boost::unordered::erase_if(dbs_.at(static_cast<std::size_t>(db)), [&](const auto& kv) {
    const bool expired = kv.second.expires_at && *kv.second.expires_at <= now;
    if (expired) {
      touch(db, view_of(kv.first));
    }
    return expired;
  });
}

auto keyspace::size(int db, time_point now) -> std::size_t {
  purge_expired(db, now);
  return dbs_.at(static_cast<std::size_t>(db)).size();
}

auto keyspace::expiring(int db, time_point now) -> std::size_t {
  purge_expired(db, now);
  std::size_t n = 0;
  for (const auto& [k, e] : dbs_.at(static_cast<std::size_t>(db))) {
    n += e.expires_at ? 1 : 0;
  }
  return n;
}

void keyspace::flush(int db) {
  touch_flushed(db);
  dbs_.at(static_cast<std::size_t>(db)).clear();
}

void keyspace::flush_all() {
  touch_flushed(-1);
  for (auto& t : dbs_) {
    t.clear();
  }
}

void keyspace::touch(int db, std::string_view key) {
  if (watchers_.empty()) {
    return;  // the common case: one branch per write
  }
  const auto it = watchers_.find(watched_key{db, std::string(key)});
  if (it == watchers_.end()) {
    return;
  }
  for (const auto conn : it->second) {
    watches_[conn].broken = true;
  }
}

void keyspace::touch_flushed(int db) {
  for (const auto& [key, conns] : watchers_) {
    const auto& t = dbs_.at(static_cast<std::size_t>(key.first));
    if ((db == -1 || key.first == db) && t.find(std::string_view(key.second)) != t.end()) {
      for (const auto conn : conns) {
        watches_[conn].broken = true;
      }
    }
  }
}

void keyspace::watch(std::uint64_t conn, int db, std::string_view key, time_point now) {
  // An already expired key is removed first: its removal is no change the watcher missed.
  find_live(db, key, now);
  auto& state = watches_[conn];
  watched_key wk{db, std::string(key)};
  if (std::find(state.keys.begin(), state.keys.end(), wk) != state.keys.end()) {
    return;
  }
  watchers_[wk].push_back(conn);
  state.keys.push_back(std::move(wk));
}

void keyspace::unwatch(std::uint64_t conn) {
  const auto it = watches_.find(conn);
  if (it == watches_.end()) {
    return;
  }
  for (const auto& wk : it->second.keys) {
    const auto w = watchers_.find(wk);
    if (w == watchers_.end()) {
      continue;
    }
    std::erase(w->second, conn);
    if (w->second.empty()) {
      watchers_.erase(w);
    }
  }
  watches_.erase(it);
}

auto keyspace::watch_broken(std::uint64_t conn, time_point now) -> bool {
  const auto it = watches_.find(conn);
  if (it == watches_.end()) {
    return false;
  }
  // A watched key that expired since is a change too (Redis 7: isWatchedKeyExpired); looking
  // it up removes it, which breaks the watch.
  const auto keys = it->second.keys;
  for (const auto& [db, key] : keys) {
    find_live(db, key, now);
  }
  return watches_[conn].broken;
}

}  // namespace schsim::simulator
