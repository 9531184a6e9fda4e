#include <schsim/core/overloaded.hpp>
#include <schsim/core/timeline/recorder.hpp>

#include <algorithm>
#include <cstring>
#include <optional>

namespace schsim::timeline {

namespace {

/// Text kept for compact records, in blocks that never move: one allocation per 64 KiB of
/// arguments and summaries instead of one string per argument.
class text_arena {
 public:
  auto store(std::size_t n) -> char* {
    if (n > left_) {
      const std::size_t size = std::max(n, block_bytes);
      blocks_.push_back(std::make_unique<char[]>(size));
      next_ = blocks_.back().get();
      left_ = size;
    }
    char* at = next_;
    next_ += n;
    left_ -= n;
    return at;
  }

 private:
  static constexpr std::size_t block_bytes = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

auto cut(std::string_view arg) -> std::string_view { return arg.substr(0, max_recorded_arg_bytes); }

auto to_event(const command_view& c) -> event {
  command_received d;
  d.index = c.index;
  d.args.reserve(c.args.size());
  for (const auto a : c.args) {
    d.args.emplace_back(cut(a));
  }
  return event{c.t_ns, std::string(c.endpoint), c.conn, std::move(d)};
}

auto to_event(const reply_view& r) -> event {
  return event{r.t_ns, std::string(r.endpoint), r.conn,
               reply_written{r.index, r.error, std::string(r.summary)}};
}

}  // namespace

/// Everything a retention::all recorder keeps, in record order: a fixed 48-byte record per
/// command or reply (its text in the arena) or the position of a full event in events_.
class recorder::compact_store {
 public:
  enum class kind : std::uint8_t { full, command, reply };
  struct entry {
    std::int64_t t_ns = 0;
    std::uint64_t conn = 0;
    std::uint64_t index = 0;     ///< command index, or the position in events_ for kind::full
    const char* text = nullptr;  ///< args as (length byte, bytes)..., or the reply summary
    std::uint32_t text_len = 0;
    std::uint32_t argc = 0;
    std::uint16_t endpoint = 0;  ///< index in endpoints_
    kind what = kind::full;
    bool error = false;
  };

  void add_full(std::size_t position) { entries_.push_back(entry{.index = position}); }

  void add_command(const command_view& c) {
    std::size_t bytes = 0;
    for (const auto a : c.args) {
      bytes += 1 + cut(a).size();
    }
    char* text = arena_.store(bytes);
    char* at = text;
    for (const auto a : c.args) {
      const auto kept = cut(a);
      *at++ = static_cast<char>(static_cast<unsigned char>(kept.size()));
      std::memcpy(at, kept.data(), kept.size());
      at += kept.size();
    }
    entries_.push_back(entry{.t_ns = c.t_ns,
                             .conn = c.conn,
                             .index = c.index,
                             .text = text,
                             .text_len = static_cast<std::uint32_t>(bytes),
                             .argc = static_cast<std::uint32_t>(c.args.size()),
                             .endpoint = endpoint_id(c.endpoint),
                             .what = kind::command});
  }

  void add_reply(const reply_view& r) {
    char* text = arena_.store(r.summary.size());
    std::memcpy(text, r.summary.data(), r.summary.size());
    entries_.push_back(entry{.t_ns = r.t_ns,
                             .conn = r.conn,
                             .index = r.index,
                             .text = text,
                             .text_len = static_cast<std::uint32_t>(r.summary.size()),
                             .endpoint = endpoint_id(r.endpoint),
                             .what = kind::reply,
                             .error = r.error});
  }

  [[nodiscard]] auto materialize(const event_store& events) const -> std::vector<event> {
    std::vector<event> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) {
      switch (e.what) {
        case kind::full:
          out.push_back(events[e.index]);
          break;
        case kind::command:
          out.push_back(command_event(e));
          break;
        case kind::reply:
          out.push_back(event{e.t_ns, endpoints_[e.endpoint], e.conn,
                              reply_written{e.index, e.error, std::string(e.text, e.text_len)}});
          break;
      }
    }
    return out;
  }

 private:
  [[nodiscard]] auto command_event(const entry& e) const -> event {
    command_received d;
    d.index = e.index;
    d.args.reserve(e.argc);
    const char* at = e.text;
    for (std::uint32_t i = 0; i < e.argc; ++i) {
      const auto len = static_cast<std::size_t>(static_cast<unsigned char>(*at++));
      d.args.emplace_back(at, len);
      at += len;
    }
    return event{e.t_ns, endpoints_[e.endpoint], e.conn, std::move(d)};
  }

  // A run has a handful of endpoints; the last one matched is tried first.
  auto endpoint_id(std::string_view name) -> std::uint16_t {
    if (last_endpoint_ < endpoints_.size() && endpoints_[last_endpoint_] == name) {
      return last_endpoint_;
    }
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      if (endpoints_[i] == name) {
        last_endpoint_ = static_cast<std::uint16_t>(i);
        return last_endpoint_;
      }
    }
    endpoints_.emplace_back(name);
    last_endpoint_ = static_cast<std::uint16_t>(endpoints_.size() - 1);
    return last_endpoint_;
  }

  using entry_store = boost::container::deque<
      entry, void, boost::container::deque_options_t<boost::container::block_size<1024U>>>;
  entry_store entries_;
  text_arena arena_;
  std::vector<std::string> endpoints_;
  std::uint16_t last_endpoint_ = 0;
};

recorder::recorder(retention keep)
    : keep_(keep), order_(keep == retention::all ? std::make_unique<compact_store>() : nullptr) {}

recorder::~recorder() = default;

void recorder::record(event e) {
  std::shared_ptr<const subscribers> subs;
  const event* stored = &e;
  {
    std::lock_guard lock(mutex_);
    ++recorded_;
    newest_t_ns_ = std::max(newest_t_ns_, e.t_ns);
    if (keep_ == retention::all) {
      events_.push_back(std::move(e));
      order_->add_full(events_.size() - 1);
      // Read outside the lock while other threads may append: the deque never moves an
      // element it holds, and nothing writes to an event once stored.
      stored = &events_.back();
    }
    subs = subscribers_;
  }
  for (const auto& s : subs->list) {
    if (s.to) {
      s.to->on_event(*stored);
    } else {
      s.fn(*stored);
    }
  }
}

void recorder::record_command(const command_view& c) {
  std::shared_ptr<const subscribers> subs;
  command_view stamped = c;
  {
    std::lock_guard lock(mutex_);
    ++recorded_;
    stamped.t_ns = std::max(c.t_ns, newest_t_ns_);
    newest_t_ns_ = stamped.t_ns;
    if (keep_ == retention::all) {
      order_->add_command(stamped);
    }
    subs = subscribers_;
  }
  if (subs->any_wants_commands) {
    notify_command(*subs, stamped);
  }
}

void recorder::record_reply(const reply_view& r) {
  std::shared_ptr<const subscribers> subs;
  reply_view stamped = r;
  {
    std::lock_guard lock(mutex_);
    ++recorded_;
    stamped.t_ns = std::max(r.t_ns, newest_t_ns_);
    newest_t_ns_ = stamped.t_ns;
    if (keep_ == retention::all) {
      order_->add_reply(stamped);
    }
    subs = subscribers_;
  }
  if (subs->any_wants_commands) {
    notify_reply(*subs, stamped);
  }
}

void recorder::notify_command(const subscribers& subs, const command_view& c) {
  std::optional<event> built;
  if (subs.any_observer_wants_commands) {
    built = to_event(c);
  }
  for (const auto& s : subs.list) {
    if (s.to) {
      s.to->on_command(c);
    } else if (s.wants == interest::everything) {
      s.fn(*built);
    }
  }
}

void recorder::notify_reply(const subscribers& subs, const reply_view& r) {
  std::optional<event> built;
  if (subs.any_observer_wants_commands) {
    built = to_event(r);
  }
  for (const auto& s : subs.list) {
    if (s.to) {
      s.to->on_reply(r);
    } else if (s.wants == interest::everything) {
      s.fn(*built);
    }
  }
}

auto recorder::snapshot() const -> std::vector<event> {
  std::lock_guard lock(mutex_);
  if (!order_) {
    return {};
  }
  return order_->materialize(events_);
}

auto recorder::size() const -> std::size_t {
  std::lock_guard lock(mutex_);
  return recorded_;
}

auto recorder::subscribe(observer fn, interest wants) -> std::size_t {
  return add_subscriber(subscriber{.fn = std::move(fn), .wants = wants});
}

auto recorder::subscribe(std::shared_ptr<sink> s) -> std::size_t {
  return add_subscriber(subscriber{.to = std::move(s)});
}

auto recorder::add_subscriber(subscriber s) -> std::size_t {
  std::lock_guard lock(mutex_);
  s.id = next_subscriber_id_++;
  const std::size_t id = s.id;
  auto updated = std::make_shared<subscribers>(*subscribers_);
  updated->any_wants_commands =
      updated->any_wants_commands || s.to || s.wants == interest::everything;
  updated->any_observer_wants_commands =
      updated->any_observer_wants_commands || (!s.to && s.wants == interest::everything);
  updated->list.push_back(std::move(s));
  subscribers_ = std::move(updated);
  return id;
}

void recorder::unsubscribe(std::size_t id) {
  std::lock_guard lock(mutex_);
  auto updated = std::make_shared<subscribers>();
  for (const auto& s : subscribers_->list) {
    if (s.id == id) {
      continue;
    }
    const bool observer_wants = !s.to && s.wants == interest::everything;
    updated->any_wants_commands = updated->any_wants_commands || s.to || observer_wants;
    updated->any_observer_wants_commands = updated->any_observer_wants_commands || observer_wants;
    updated->list.push_back(s);
  }
  subscribers_ = std::move(updated);
}

namespace {
using schsim::overloaded;
}  // namespace

auto outcome_name(transaction_ended::outcome o) -> const char* {
  switch (o) {
    case transaction_ended::outcome::executed:
      return "executed";
    case transaction_ended::outcome::aborted:
      return "aborted";
    case transaction_ended::outcome::watch_failed:
      return "watch_failed";
    case transaction_ended::outcome::discarded:
      return "discarded";
    case transaction_ended::outcome::closed:
      return "closed";
  }
  return "executed";
}

auto outcome_from_name(std::string_view name) -> transaction_ended::outcome {
  using o = transaction_ended::outcome;
  for (const auto candidate : {o::aborted, o::watch_failed, o::discarded, o::closed}) {
    if (name == outcome_name(candidate)) {
      return candidate;
    }
  }
  return o::executed;
}

auto outcome_name(list_popped::outcome o) -> const char* {
  return o == list_popped::outcome::lost ? "lost" : "written";
}

auto popped_outcome_from_name(std::string_view name) -> list_popped::outcome {
  return name == "lost" ? list_popped::outcome::lost : list_popped::outcome::written;
}

auto kind_name(const detail& d) -> const char* {
  return std::visit(
      overloaded{[](const connection_opened&) { return "connection_opened"; },
                 [](const connection_closed&) { return "connection_closed"; },
                 [](const hello&) { return "hello"; },
                 [](const maint_handshake&) { return "maint_handshake"; },
                 [](const command_received&) { return "command_received"; },
                 [](const reply_written&) { return "reply_written"; },
                 [](const push_written&) { return "push_written"; },
                 [](const protocol_error&) { return "protocol_error"; },
                 [](const step_executed&) { return "step_executed"; },
                 [](const note&) { return "note"; },
                 [](const cluster_redirect&) { return "cluster_redirect"; },
                 [](const slot_migration_started&) { return "slot_migration_started"; },
                 [](const slot_migration_completed&) { return "slot_migration_completed"; },
                 [](const tls_handshake&) { return "tls_handshake"; },
                 [](const transaction_ended&) { return "transaction_ended"; },
                 [](const pubsub_published&) { return "pubsub_published"; },
                 [](const pubsub_delivered&) { return "pubsub_delivered"; },
                 [](const list_pushed&) { return "list_pushed"; },
                 [](const list_popped&) { return "list_popped"; }},
      d);
}

}  // namespace schsim::timeline
