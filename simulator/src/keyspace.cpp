#include <schsim/simulator/keyspace.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
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

/// LRANGE's index rules: negative counts from the end; the range is clamped to the list.
auto clamp_range(std::int64_t start, std::int64_t stop, std::size_t size)
    -> std::optional<std::pair<std::size_t, std::size_t>> {
  const auto n = static_cast<std::int64_t>(size);
  if (start < 0) {
    start = std::max<std::int64_t>(n + start, 0);
  }
  if (stop < 0) {
    stop = n + stop;
  }
  if (start > stop || start >= n) {
    return std::nullopt;
  }
  stop = std::min(stop, n - 1);
  return std::pair{static_cast<std::size_t>(start), static_cast<std::size_t>(stop)};
}

}  // namespace

auto type_name(value_type t) -> std::string_view {
  switch (t) {
    case value_type::none:
      return "none";
    case value_type::string:
      return "string";
    case value_type::list:
      return "list";
    case value_type::stream:
      return "stream";
  }
  return "none";
}

auto stream_id::to_string() const -> std::string {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

auto keyspace::create(int db, std::string_view key, value_type type) -> entry& {
  auto& t = dbs_.at(static_cast<std::size_t>(db));
  entry& e = t.try_emplace(stored_key(key.data(), key.size())).first->second;
  e.type = type;
  if (type != value_type::string) {
    e.boxed = std::make_unique<aggregate>();
  }
  return e;
}

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

auto keyspace::get(int db, std::string_view key, time_point now, bool* wrong_type)
    -> const std::string* {
  const entry* e = find_live(db, key, now);
  if (e != nullptr && e->type != value_type::string) {
    if (wrong_type != nullptr) {
      *wrong_type = true;
    }
    return nullptr;
  }
  return e != nullptr ? &e->value : nullptr;
}

auto keyspace::type_of(int db, std::string_view key, time_point now) -> value_type {
  const entry* e = find_live(db, key, now);
  return e != nullptr ? e->type : value_type::none;
}

auto keyspace::set(int db, std::string_view key, std::string_view value, const set_options& opts,
                   time_point now, previous_value want) -> set_result {
  set_result result;
  entry* e = find_live(db, key, now);
  if (want == previous_value::fetch && e != nullptr) {
    if (e->type != value_type::string) {
      result.wrong_type = true;
      return result;
    }
    result.previous = e->value;
  }
  if ((opts.condition == set_condition::if_absent && e != nullptr) ||
      (opts.condition == set_condition::if_present && e == nullptr)) {
    return result;
  }
  if (e == nullptr) {
    auto& t = dbs_.at(static_cast<std::size_t>(db));
    e = &t.try_emplace(stored_key(key.data(), key.size())).first->second;
  } else if (e->type != value_type::string) {
    e->type = value_type::string;  // SET overwrites a key of any type
    e->boxed.reset();
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
  if (e != nullptr && e->type != value_type::string) {
    return {arith_error::wrong_type, 0};
  }
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

auto keyspace::persist(int db, std::string_view key, time_point now) -> bool {
  entry* e = find_live(db, key, now);
  if (e == nullptr || !e->expires_at) {
    return false;
  }
  e->expires_at.reset();
  touch(db, key);
  return true;
}

auto keyspace::push(int db, std::string_view key, std::span<const std::string_view> elements,
                    list_end end, time_point now) -> list_result {
  entry* e = find_live(db, key, now);
  if (e != nullptr && e->type != value_type::list) {
    return {true, 0};
  }
  if (e == nullptr) {
    e = &create(db, key, value_type::list);
  }
  auto& list = e->boxed->list;
  for (const auto element : elements) {
    if (end == list_end::left) {
      list.emplace_front(element);
    } else {
      list.emplace_back(element);
    }
  }
  touch(db, key);
  return {false, list.size()};
}

auto keyspace::pop(int db, std::string_view key, list_end end, std::size_t count, time_point now)
    -> pop_result {
  pop_result result;
  entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return result;
  }
  result.found = true;
  if (e->type != value_type::list) {
    result.wrong_type = true;
    return result;
  }
  auto& list = e->boxed->list;
  while (count-- > 0 && !list.empty()) {
    if (end == list_end::left) {
      result.elements.push_back(std::move(list.front()));
      list.pop_front();
    } else {
      result.elements.push_back(std::move(list.back()));
      list.pop_back();
    }
  }
  if (!result.elements.empty()) {
    if (list.empty()) {
      auto& t = dbs_.at(static_cast<std::size_t>(db));
      t.erase(t.find(key));
    }
    touch(db, key);
  }
  return result;
}

auto keyspace::list_length(int db, std::string_view key, time_point now) -> list_result {
  const entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return {};
  }
  if (e->type != value_type::list) {
    return {true, 0};
  }
  return {false, e->boxed->list.size()};
}

auto keyspace::list_range(int db, std::string_view key, std::int64_t start, std::int64_t stop,
                          time_point now) -> pop_result {
  pop_result result;
  const entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return result;
  }
  result.found = true;
  if (e->type != value_type::list) {
    result.wrong_type = true;
    return result;
  }
  const auto& list = e->boxed->list;
  if (const auto range = clamp_range(start, stop, list.size())) {
    const auto first = list.begin() + static_cast<std::ptrdiff_t>(range->first);
    const auto last = list.begin() + static_cast<std::ptrdiff_t>(range->second) + 1;
    result.elements.assign(first, last);
  }
  return result;
}

auto keyspace::stream_add(int db, std::string_view key, std::optional<stream_id> id, bool seq_auto,
                          std::span<const std::string_view> fields, time_point now)
    -> stream_add_result {
  entry* e = find_live(db, key, now);
  if (e != nullptr && e->type != value_type::stream) {
    return {stream_add_status::wrong_type, {}};
  }
  const stream_id top = e != nullptr ? e->boxed->stream_last : stream_id{};
  stream_id next;
  if (!id) {
    const auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    next = ms > top.ms ? stream_id{ms, 0} : stream_id{top.ms, top.seq + 1};
  } else if (seq_auto) {
    if (id->ms < top.ms) {
      return {stream_add_status::id_not_greater, {}};
    }
    next = id->ms == top.ms ? stream_id{top.ms, top.seq + 1} : stream_id{id->ms, 0};
  } else {
    next = *id;
  }
  if (next == stream_id{}) {
    return {stream_add_status::id_zero, {}};
  }
  if (next <= top) {
    return {stream_add_status::id_not_greater, {}};
  }
  if (e == nullptr) {
    e = &create(db, key, value_type::stream);
  }
  e->boxed->stream.push_back(stream_entry{next, {fields.begin(), fields.end()}});
  e->boxed->stream_last = next;
  touch(db, key);
  return {stream_add_status::added, next};
}

auto keyspace::stream_range(int db, std::string_view key, stream_id from, stream_id to,
                            std::size_t count, time_point now, bool from_exclusive) -> stream_read {
  stream_read result;
  const entry* e = find_live(db, key, now);
  if (e == nullptr) {
    return result;
  }
  result.found = true;
  if (e->type != value_type::stream) {
    result.wrong_type = true;
    return result;
  }
  const auto& entries = e->boxed->stream;
  result.last = e->boxed->stream_last;
  result.length = entries.size();
  auto it = std::lower_bound(entries.begin(), entries.end(), from,
                             [](const stream_entry& x, stream_id id) { return x.id < id; });
  if (from_exclusive && it != entries.end() && it->id == from) {
    ++it;
  }
  for (; it != entries.end() && it->id <= to; ++it) {
    if (count > 0 && result.entries.size() == count) {
      break;
    }
    result.entries.push_back(*it);
  }
  return result;
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
