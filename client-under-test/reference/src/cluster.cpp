#include <schsim/refclient/cluster.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace schsim::refclient {

// --- slot map -------------------------------------------------------------------------------

auto slot_map::index_of(const address& node) -> std::uint16_t {
  const auto it = std::find(nodes_.begin(), nodes_.end(), node);
  if (it != nodes_.end()) return static_cast<std::uint16_t>(it - nodes_.begin());
  nodes_.push_back(node);
  return static_cast<std::uint16_t>(nodes_.size() - 1);
}

auto slot_map::owner(std::uint16_t slot) const -> std::optional<address> {
  if (slot >= cluster::slot_count) return std::nullopt;
  const auto i = owner_[slot];
  if (i == unknown) return std::nullopt;
  return nodes_[i];
}

void slot_map::assign(const cluster::slot_set& slots, const address& node) {
  if (slots.empty()) return;
  const auto i = index_of(node);
  for (const auto& r : slots.ranges()) {
    for (std::uint32_t s = r.first; s <= r.last; ++s) owner_[s] = i;
  }
}

void slot_map::assign(std::uint16_t slot, const address& node) {
  if (slot >= cluster::slot_count) return;
  owner_[slot] = index_of(node);
}

auto slot_map::nodes() const -> std::vector<address> {
  std::vector<bool> used(nodes_.size(), false);
  for (const auto i : owner_) {
    if (i != unknown) used[i] = true;
  }
  std::vector<address> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (used[i]) out.push_back(nodes_[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

auto slot_map::slots_of(const address& node) const -> cluster::slot_set {
  cluster::slot_set out;
  const auto it = std::find(nodes_.begin(), nodes_.end(), node);
  if (it == nodes_.end()) return out;
  const auto i = static_cast<std::uint16_t>(it - nodes_.begin());
  for (std::uint32_t s = 0; s < cluster::slot_count; ++s) {
    if (owner_[s] == i) out.add(static_cast<std::uint16_t>(s));
  }
  return out;
}

auto slot_map::covered() const -> std::size_t {
  return static_cast<std::size_t>(
      std::count_if(owner_.begin(), owner_.end(), [](auto i) { return i != unknown; }));
}

// --- CLUSTER SLOTS --------------------------------------------------------------------------

namespace {

auto as_integer(const resp3::value& v) -> std::optional<std::int64_t> {
  if (v.kind == resp3::type::integer) return v.integer;
  // Tolerated: a proxy that renders numbers as strings.
  if (v.is_string()) {
    std::int64_t n = 0;
    const auto* end = v.text.data() + v.text.size();
    auto [p, ec] = std::from_chars(v.text.data(), end, n);
    if (ec == std::errc{} && p == end && !v.text.empty()) return n;
  }
  return std::nullopt;
}

auto is_list(const resp3::value& v) -> bool {
  return v.kind == resp3::type::array || v.kind == resp3::type::set;
}

}  // namespace

auto parse_cluster_slots(const resp3::value& reply, const address& queried)
    -> std::variant<slot_map, cluster_slots_error> {
  if (reply.is_error()) return cluster_slots_error{"CLUSTER SLOTS failed: " + reply.text};
  if (!is_list(reply)) {
    return cluster_slots_error{"CLUSTER SLOTS: expected an array, got " +
                               resp3::to_debug_string(reply)};
  }
  slot_map map;
  cluster::slot_set seen;
  for (std::size_t row = 0; row < reply.elements.size(); ++row) {
    const auto& e = reply.elements[row];
    const auto where = "CLUSTER SLOTS row " + std::to_string(row) + ": ";
    if (!is_list(e) || e.elements.size() < 3) {
      return cluster_slots_error{where + "expected [start, end, master, ...], got " +
                                 resp3::to_debug_string(e)};
    }
    const auto first = as_integer(e.elements[0]);
    const auto last = as_integer(e.elements[1]);
    if (!first || !last || *first < 0 || *last < *first || *last >= cluster::slot_count) {
      return cluster_slots_error{where + "bad slot range " + resp3::to_debug_string(e.elements[0]) +
                                 "-" + resp3::to_debug_string(e.elements[1])};
    }
    const auto& master = e.elements[2];
    if (!is_list(master) || master.elements.size() < 2) {
      return cluster_slots_error{where + "expected [host, port, ...], got " +
                                 resp3::to_debug_string(master)};
    }
    const auto& host_value = master.elements[0];
    if (!host_value.is_string() && host_value.kind != resp3::type::null) {
      return cluster_slots_error{where + "bad host " + resp3::to_debug_string(host_value)};
    }
    const auto port = as_integer(master.elements[1]);
    if (!port || *port <= 0 || *port > 65535) {
      return cluster_slots_error{where + "bad port " + resp3::to_debug_string(master.elements[1])};
    }
    std::string host = host_value.kind == resp3::type::null ? std::string{} : host_value.text;
    if (host.empty() || host == "?") host = queried.host;
    const auto range = cluster::slot_set::of(static_cast<std::uint16_t>(*first),
                                             static_cast<std::uint16_t>(*last));
    if (seen.intersects(range)) {
      return cluster_slots_error{where + "slots " + range.to_string() + " listed twice"};
    }
    seen.add(range);
    map.assign(range, address{std::move(host), static_cast<std::uint16_t>(*port)});
  }
  return map;
}

// --- redirects ------------------------------------------------------------------------------

auto parse_redirect(std::string_view text, const address& answered_by) -> std::optional<redirect> {
  redirect r;
  if (text.starts_with("MOVED ")) {
    r.type = redirect::kind::moved;
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    r.type = redirect::kind::ask;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot_text = text.substr(0, space);
  unsigned slot = 0;
  auto [p, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
  if (ec != std::errc{} || p != slot_text.data() + slot_text.size() ||
      slot >= cluster::slot_count) {
    return std::nullopt;
  }
  r.slot = static_cast<std::uint16_t>(slot);
  auto endpoint = text.substr(space + 1);
  while (!endpoint.empty() && endpoint.back() == ' ') endpoint.remove_suffix(1);
  if (endpoint.starts_with(':')) {
    // ":6380": the node does not know its own host; it is the one we are talking to.
    auto parsed = parse_address("h" + std::string{endpoint});
    if (!parsed) return std::nullopt;
    r.target = address{answered_by.host, parsed->port};
    return r;
  }
  auto parsed = parse_address(endpoint);
  if (!parsed) return std::nullopt;
  r.target = std::move(*parsed);
  return r;
}

auto next_redirect_step(std::string_view error_text, const address& answered_by, int hops,
                        int max_redirects) -> redirect_step {
  auto r = parse_redirect(error_text, answered_by);
  if (!r) return not_a_redirect{};
  if (hops >= max_redirects) {
    return redirects_exhausted{command_error{
        error_class::server,
        "too many redirections (" + std::to_string(hops) + "), last: " + std::string{error_text}}};
  }
  return follow_redirect{std::move(*r)};
}

// --- routing --------------------------------------------------------------------------------

namespace {

auto upper(std::string_view s) -> std::string {
  std::string out{s};
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

auto is_keyless(std::string_view name) -> bool {
  // Commands that take no key whatever their arguments; any node serves them.
  static constexpr std::string_view keyless[] = {
      "PING",        "ECHO",         "HELLO",   "AUTH",     "CLIENT",    "CLUSTER",   "INFO",
      "DBSIZE",      "TIME",         "CONFIG",  "COMMAND",  "FLUSHALL",  "FLUSHDB",   "SELECT",
      "READONLY",    "READWRITE",    "ASKING",  "QUIT",     "RESET",     "LASTSAVE",  "SAVE",
      "BGSAVE",      "DEBUG",        "SCRIPT",  "FUNCTION", "RANDOMKEY", "KEYS",      "SCAN",
      "WAIT",        "MULTI",        "EXEC",    "DISCARD",  "PUBLISH",   "SUBSCRIBE", "PSUBSCRIBE",
      "UNSUBSCRIBE", "PUNSUBSCRIBE", "SLOWLOG", "LATENCY",  "ROLE",      "SWAPDB",    "MONITOR"};
  return std::find(std::begin(keyless), std::end(keyless), name) != std::end(keyless);
}

}  // namespace

auto command_key(std::span<const std::string> args) -> std::optional<std::string_view> {
  if (args.size() < 2) return std::nullopt;
  const auto name = upper(args[0]);
  if (is_keyless(name)) return std::nullopt;
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" ||
      name == "FCALL" || name == "FCALL_RO") {
    if (args.size() < 4) return std::nullopt;
    long numkeys = 0;
    auto [p, ec] = std::from_chars(args[2].data(), args[2].data() + args[2].size(), numkeys);
    if (ec != std::errc{} || numkeys <= 0) return std::nullopt;
    return std::string_view{args[3]};
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if (upper(args[i]) == "STREAMS") return std::string_view{args[i + 1]};
    }
    return std::nullopt;
  }
  if (name == "OBJECT" || name == "MEMORY" || name == "XINFO") {
    if (args.size() < 3) return std::nullopt;
    return std::string_view{args[2]};
  }
  return std::string_view{args[1]};
}

auto command_slot(std::span<const std::string> args) -> std::optional<std::uint16_t> {
  const auto key = command_key(args);
  if (!key) return std::nullopt;
  return cluster::key_slot(*key);
}

// --- topology refresher ---------------------------------------------------------------------

auto to_string(smigrated_verdict v) -> std::string_view {
  switch (v) {
    case smigrated_verdict::reload:
      return "reload";
    case smigrated_verdict::duplicate:
      return "duplicate";
    case smigrated_verdict::in_progress:
      return "in_progress";
  }
  return "?";
}

topology_refresher::topology_refresher(topology_params params) : params_{params} {}

void topology_refresher::prune(time_point now) {
  std::erase_if(handled_, [&](const auto& e) { return now - e.second >= params_.seq_memory; });
}

auto topology_refresher::on_smigrated(std::int64_t seq, time_point now,
                                      std::vector<topology_action>& actions) -> smigrated_verdict {
  prune(now);
  if (handled_.contains(seq)) return smigrated_verdict::duplicate;
  const auto pending = [&](const std::vector<std::int64_t>& v) {
    return std::find(v.begin(), v.end(), seq) != v.end();
  };
  if (pending(in_flight_seqs_) || pending(queued_seqs_)) return smigrated_verdict::in_progress;
  queued_seqs_.push_back(seq);
  auto more = request(now, true);
  actions.insert(actions.end(), more.begin(), more.end());
  return smigrated_verdict::reload;
}

auto topology_refresher::on_moved(time_point now) -> std::vector<topology_action> {
  return request(now, false);
}

auto topology_refresher::request(time_point now, bool urgent) -> std::vector<topology_action> {
  switch (phase_) {
    case phase::idle:
      if (urgent || !ever_done_ || now >= last_done_ + params_.cooldown) return launch();
      phase_ = phase::waiting;
      wake_at_ = last_done_ + params_.cooldown;
      return {};
    case phase::waiting:
    case phase::retry_wait:
      if (urgent) return launch();
      return {};
    case phase::running:
      dirty_ = true;
      dirty_urgent_ = dirty_urgent_ || urgent;
      return {};
  }
  return {};
}

auto topology_refresher::launch() -> std::vector<topology_action> {
  attempt_ = phase_ == phase::retry_wait ? attempt_ + 1 : 1;
  phase_ = phase::running;
  dirty_ = false;
  dirty_urgent_ = false;
  in_flight_seqs_.insert(in_flight_seqs_.end(), queued_seqs_.begin(), queued_seqs_.end());
  queued_seqs_.clear();
  return {start_reload{attempt_}};
}

auto topology_refresher::on_reload_done(bool ok, time_point now) -> std::vector<topology_action> {
  if (phase_ != phase::running) return {};
  last_done_ = now;
  ever_done_ = true;
  std::vector<topology_action> out;
  if (ok) {
    ++reloads_;
    for (const auto seq : in_flight_seqs_) handled_[seq] = now;
    in_flight_seqs_.clear();
    phase_ = phase::idle;
    attempt_ = 0;
  } else if (attempt_ < params_.max_attempts) {
    phase_ = phase::retry_wait;
    wake_at_ = now + params_.retry_delay;
    return out;  // the retry covers requests that came meanwhile
  } else {
    out.push_back(reload_gave_up{std::move(in_flight_seqs_)});
    in_flight_seqs_.clear();
    phase_ = phase::idle;
    attempt_ = 0;
  }
  if (dirty_) {
    const bool urgent = dirty_urgent_;
    dirty_ = false;
    dirty_urgent_ = false;
    auto more = request(now, urgent);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

auto topology_refresher::on_timer(time_point now) -> std::vector<topology_action> {
  if ((phase_ == phase::waiting || phase_ == phase::retry_wait) && now >= wake_at_) return launch();
  return {};
}

auto topology_refresher::next_deadline() const -> std::optional<time_point> {
  if (phase_ == phase::waiting || phase_ == phase::retry_wait) return wake_at_;
  return std::nullopt;
}

}  // namespace schsim::refclient
