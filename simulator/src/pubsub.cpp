#include <schsim/simulator/pubsub.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace schsim::simulator {

namespace {

auto glob_lower(char c) -> char {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

void append_header(std::string& out, char type, std::size_t n) {
  std::array<char, 24> buf{};
  buf[0] = type;
  auto [ptr, ec] = std::to_chars(buf.data() + 1, buf.data() + buf.size() - 2, n);
  *ptr++ = '\r';
  *ptr++ = '\n';
  out.append(buf.data(), static_cast<std::size_t>(ptr - buf.data()));
}

void append_bulk(std::string& out, std::string_view s) {
  append_header(out, '$', s.size());
  out.append(s);
  out.append("\r\n");
}

/// Pub/Sub frames are pushes in RESP3 and plain arrays in RESP2.
void append_frame_header(std::string& out, resp3::protocol proto, std::size_t n) {
  append_header(out, proto == resp3::protocol::resp3 ? '>' : '*', n);
}

constexpr auto subscribe_word(subscription_kind kind) -> std::string_view {
  switch (kind) {
    case subscription_kind::channel:
      return "subscribe";
    case subscription_kind::pattern:
      return "psubscribe";
    case subscription_kind::shard:
      return "ssubscribe";
  }
  return "subscribe";
}

constexpr auto unsubscribe_word(subscription_kind kind) -> std::string_view {
  switch (kind) {
    case subscription_kind::channel:
      return "unsubscribe";
    case subscription_kind::pattern:
      return "punsubscribe";
    case subscription_kind::shard:
      return "sunsubscribe";
  }
  return "unsubscribe";
}

auto glob_eq(char a, char b, bool nocase) -> bool {
  return nocase ? glob_lower(a) == glob_lower(b) : a == b;
}

/// Whether `c` lies in the range `lo`-`hi`, given in either order.
auto in_glob_range(char lo, char hi, char c, bool nocase) -> bool {
  if (lo > hi) {
    std::swap(lo, hi);
  }
  if (nocase) {
    lo = glob_lower(lo);
    hi = glob_lower(hi);
    c = glob_lower(c);
  }
  return c >= lo && c <= hi;
}

/// Matches `c` against the class whose body starts at `p` (just after '['), leaving `p` on its
/// closing ']', or at the end of a class never closed (Redis's stringmatchlen reads it so).
auto match_glob_class(std::string_view pat, std::size_t& p, char c, bool nocase) -> bool {
  const bool negate = p < pat.size() && pat[p] == '^';
  if (negate) {
    ++p;
  }
  bool matched = false;
  while (p < pat.size() && pat[p] != ']') {
    if (pat[p] == '\\' && p + 1 < pat.size()) {
      ++p;
      matched = matched || glob_eq(pat[p], c, nocase);
    } else if (p + 2 < pat.size() && pat[p + 1] == '-') {
      matched = matched || in_glob_range(pat[p], pat[p + 2], c, nocase);
      p += 2;
    } else {
      matched = matched || glob_eq(pat[p], c, nocase);
    }
    ++p;
  }
  return negate ? !matched : matched;
}

/// The '*' at `p` (a run of them counts as one): whether the rest of the pattern matches the
/// text from `s` on, at any of its suffixes.
auto match_glob_star(std::string_view pat, std::size_t p, std::string_view str, std::size_t s,
                     bool nocase) -> bool {
  while (p + 1 < pat.size() && pat[p + 1] == '*') {
    ++p;
  }
  if (p + 1 == pat.size()) {
    return true;
  }
  for (std::size_t k = s; k <= str.size(); ++k) {
    if (glob_match(pat.substr(p + 1), str.substr(k), nocase)) {
      return true;
    }
  }
  return false;
}

}  // namespace

auto glob_match(std::string_view pat, std::string_view str, bool nocase) -> bool {
  std::size_t p = 0;
  std::size_t s = 0;
  while (p < pat.size()) {
    switch (pat[p]) {
      case '*':
        return match_glob_star(pat, p, str, s, nocase);
      case '?':
        if (s >= str.size()) {
          return false;
        }
        ++s;
        break;
      case '[':
        if (s >= str.size()) {
          return false;
        }
        ++p;
        if (!match_glob_class(pat, p, str[s], nocase)) {
          return false;
        }
        ++s;
        break;
      case '\\':
        if (p + 1 < pat.size()) {
          ++p;
        }
        [[fallthrough]];
      default:
        if (s >= str.size() || !glob_eq(pat[p], str[s], nocase)) {
          return false;
        }
        ++s;
        break;
    }
    ++p;
  }
  return s == str.size();
}

auto payload_seq(std::string_view payload) -> std::optional<std::int64_t> {
  constexpr std::string_view prefix = "seq:";
  if (!payload.starts_with(prefix) || payload.size() == prefix.size()) {
    return std::nullopt;
  }
  std::int64_t n = 0;
  const char* last = payload.data() + payload.size();
  const auto [ptr, ec] = std::from_chars(payload.data() + prefix.size(), last, n);
  if (ec != std::errc{} || ptr != last || n < 0) {
    return std::nullopt;
  }
  return n;
}

void append_subscription_reply(std::string& out, resp3::protocol proto, std::string_view kind,
                               std::optional<std::string_view> channel, std::size_t count) {
  append_frame_header(out, proto, 3);
  append_bulk(out, kind);
  if (channel) {
    append_bulk(out, *channel);
  } else {
    out.append(proto == resp3::protocol::resp3 ? "_\r\n" : "$-1\r\n");
  }
  append_header(out, ':', count);
}

void append_pubsub_message(std::string& out, resp3::protocol proto, bool sharded,
                           const std::optional<std::string>& pattern, std::string_view channel,
                           std::string_view payload) {
  if (pattern) {
    append_frame_header(out, proto, 4);
    append_bulk(out, "pmessage");
    append_bulk(out, *pattern);
  } else {
    append_frame_header(out, proto, 3);
    append_bulk(out, sharded ? "smessage" : "message");
  }
  append_bulk(out, channel);
  append_bulk(out, payload);
}

// ---------------------------------------------------------------------------------------------
// Registry

auto pubsub_registry::names_of(connection_subscriptions& subs, subscription_kind kind)
    -> std::set<std::string, std::less<>>& {
  switch (kind) {
    case subscription_kind::channel:
      return subs.channels;
    case subscription_kind::pattern:
      return subs.patterns;
    case subscription_kind::shard:
      return subs.shard_channels;
  }
  return subs.channels;
}

auto pubsub_registry::index_of(subscription_kind kind) -> subscriber_map& {
  switch (kind) {
    case subscription_kind::channel:
      return channels_;
    case subscription_kind::pattern:
      return patterns_;
    case subscription_kind::shard:
      return shard_channels_;
  }
  return channels_;
}

void pubsub_registry::subscribe(std::uint64_t conn, std::string_view node, subscription_kind kind,
                                std::span<const std::string_view> names, resp3::protocol proto,
                                std::string& out) {
  auto& subs = connections_[conn];
  subs.node = node;
  auto& mine = names_of(subs, kind);
  auto& index = index_of(kind);
  for (const std::string_view name : names) {
    if (mine.emplace(name).second) {
      auto it = index.find(name);
      if (it == index.end()) {
        it = index.emplace(std::string(name), std::set<std::uint64_t>{}).first;
      }
      it->second.insert(conn);
    }
    append_subscription_reply(out, proto, subscribe_word(kind), name, count(conn, kind));
  }
}

auto pubsub_registry::remove(std::uint64_t conn, subscription_kind kind, std::string_view name)
    -> bool {
  const auto found = connections_.find(conn);
  if (found == connections_.end()) {
    return false;
  }
  auto& mine = names_of(found->second, kind);
  const auto it = mine.find(name);
  if (it == mine.end()) {
    return false;
  }
  auto& index = index_of(kind);
  const auto entry = index.find(name);
  if (entry != index.end()) {
    entry->second.erase(conn);
    if (entry->second.empty()) {
      index.erase(entry);
    }
  }
  mine.erase(it);
  return true;
}

void pubsub_registry::forget_if_empty(std::uint64_t conn) {
  const auto it = connections_.find(conn);
  if (it != connections_.end() && it->second.channels.empty() && it->second.patterns.empty() &&
      it->second.shard_channels.empty()) {
    connections_.erase(it);
  }
}

void pubsub_registry::unsubscribe(std::uint64_t conn, subscription_kind kind,
                                  std::span<const std::string_view> names, resp3::protocol proto,
                                  std::string& out) {
  const std::string_view word = unsubscribe_word(kind);
  if (names.empty()) {
    std::vector<std::string> all;
    if (const auto it = connections_.find(conn); it != connections_.end()) {
      const auto& mine = names_of(it->second, kind);
      all.assign(mine.begin(), mine.end());
    }
    if (all.empty()) {
      append_subscription_reply(out, proto, word, std::nullopt, count(conn, kind));
    }
    for (const auto& name : all) {
      remove(conn, kind, name);
      append_subscription_reply(out, proto, word, name, count(conn, kind));
    }
  } else {
    for (const std::string_view name : names) {
      remove(conn, kind, name);
      append_subscription_reply(out, proto, word, name, count(conn, kind));
    }
  }
  forget_if_empty(conn);
}

void pubsub_registry::drop(std::uint64_t conn) {
  const auto it = connections_.find(conn);
  if (it == connections_.end()) {
    return;
  }
  for (const auto kind :
       {subscription_kind::channel, subscription_kind::pattern, subscription_kind::shard}) {
    const std::vector<std::string> all(names_of(it->second, kind).begin(),
                                       names_of(it->second, kind).end());
    for (const auto& name : all) {
      remove(conn, kind, name);
    }
  }
  connections_.erase(conn);
}

auto pubsub_registry::subscribed(std::uint64_t conn) const -> bool {
  return connections_.contains(conn);
}

auto pubsub_registry::count(std::uint64_t conn, subscription_kind kind) const -> std::size_t {
  const auto it = connections_.find(conn);
  if (it == connections_.end()) {
    return 0;
  }
  const auto& subs = it->second;
  return kind == subscription_kind::shard ? subs.shard_channels.size()
                                          : subs.channels.size() + subs.patterns.size();
}

auto pubsub_registry::node_of(std::uint64_t conn) const -> std::string_view {
  const auto it = connections_.find(conn);
  return it == connections_.end() ? std::string_view() : std::string_view(it->second.node);
}

auto pubsub_registry::publish(std::string_view channel, std::string_view payload) const
    -> publication {
  publication p{false, std::string(channel), std::string(payload), {}};
  if (const auto it = channels_.find(channel); it != channels_.end()) {
    for (const std::uint64_t conn : it->second) {
      p.receivers.push_back({conn, std::nullopt});
    }
  }
  for (const auto& [pattern, conns] : patterns_) {
    if (glob_match(pattern, channel, false)) {
      for (const std::uint64_t conn : conns) {
        p.receivers.push_back({conn, pattern});
      }
    }
  }
  return p;
}

auto pubsub_registry::spublish(std::string_view node, std::string_view channel,
                               std::string_view payload) const -> publication {
  publication p{true, std::string(channel), std::string(payload), {}};
  if (const auto it = shard_channels_.find(channel); it != shard_channels_.end()) {
    for (const std::uint64_t conn : it->second) {
      if (node_of(conn) == node) {
        p.receivers.push_back({conn, std::nullopt});
      }
    }
  }
  return p;
}

auto pubsub_registry::channels(bool sharded, std::string_view node,
                               std::optional<std::string_view> pattern) const
    -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& [name, conns] : sharded ? shard_channels_ : channels_) {
    if (pattern && !glob_match(*pattern, name, false)) {
      continue;
    }
    if (!sharded || numsub(true, node, name) > 0) {
      out.push_back(name);
    }
  }
  return out;
}

auto pubsub_registry::numsub(bool sharded, std::string_view node, std::string_view channel) const
    -> std::size_t {
  const auto& index = sharded ? shard_channels_ : channels_;
  const auto it = index.find(channel);
  if (it == index.end()) {
    return 0;
  }
  if (!sharded) {
    return it->second.size();
  }
  return static_cast<std::size_t>(std::count_if(
      it->second.begin(), it->second.end(), [&](std::uint64_t c) { return node_of(c) == node; }));
}

// ---------------------------------------------------------------------------------------------
// Output limit

auto output_limit_tracker::check(std::size_t pending, time_point now)
    -> std::optional<std::string> {
  if (limit_.hard > 0 && pending >= limit_.hard) {
    return "pubsub output buffer limit: " + std::to_string(pending) + " bytes pending, over the " +
           "hard limit of " + std::to_string(limit_.hard);
  }
  if (limit_.soft == 0 || pending < limit_.soft) {
    over_soft_since_.reset();
    return std::nullopt;
  }
  if (!over_soft_since_) {
    over_soft_since_ = now;
  }
  // Redis closes once the soft limit has held for longer than its seconds.
  if (now - *over_soft_since_ > limit_.soft_for) {
    return "pubsub output buffer limit: over the soft limit of " + std::to_string(limit_.soft) +
           " bytes for " + std::to_string(limit_.soft_for.count()) + " ms";
  }
  return std::nullopt;
}

}  // namespace schsim::simulator
