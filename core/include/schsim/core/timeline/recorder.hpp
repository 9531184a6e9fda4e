#pragma once

#include <schsim/core/timeline/event.hpp>

#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::timeline {

/// What a recorder keeps of the events it is given.
enum class retention {
  all,            ///< every event, for snapshot(): the harness checks the whole timeline
  observers_only  ///< none: each event goes to the observers and is dropped (`schsim serve`
                  ///< streams it to a JSONL file; its memory no longer grows with traffic)
};

/// Arguments of command_received are cut to this many bytes each.
inline constexpr std::size_t max_recorded_arg_bytes = 128;

/// A command_received as record_command() is given it: views valid during the call only.
/// `args` are the arguments as received; whoever keeps or renders them cuts each to
/// max_recorded_arg_bytes.
struct command_view {
  std::int64_t t_ns = 0;
  std::string_view endpoint;
  std::uint64_t conn = 0;
  std::uint64_t index = 0;
  std::span<const std::string_view> args;
};

/// A reply_written as record_reply() is given it: views valid during the call only.
struct reply_view {
  std::int64_t t_ns = 0;
  std::string_view endpoint;
  std::uint64_t conn = 0;
  std::uint64_t index = 0;
  bool error = false;
  std::string_view summary;
};

/**
 * @brief Receives every event as it is recorded, commands and replies as views, so no
 * timeline::event is built for them (a JSONL writer renders them straight into its buffer).
 * Called on the recording thread, outside the recorder's lock.
 */
class sink {
 public:
  sink() = default;
  sink(const sink&) = delete;
  auto operator=(const sink&) -> sink& = delete;
  virtual ~sink() = default;
  virtual void on_event(const event& e) = 0;
  virtual void on_command(const command_view& c) = 0;
  virtual void on_reply(const reply_view& r) = 0;
};

/// Which events an observer registered with subscribe() wants.
enum class interest {
  everything,   ///< commands and replies too, each built as an event for the call
  no_commands,  ///< all but command_received/reply_written recorded by record_command/_reply
};

/**
 * @brief The run's append-only event record; thread-safe.
 *
 * Observers registered with subscribe() are called synchronously, on the recording thread,
 * after the event is stored and outside the lock (the scenario engine uses this to wait for
 * "N connections handshaken", and may record events of its own from the callback).
 *
 * Commands and replies, two per command served, come through record_command() and
 * record_reply(): they are kept as compact records (fixed fields, text in an arena that
 * allocates once per 64 KiB, never per command) and become timeline::event only in
 * snapshot(), or for an observer that asked for them. With no observer wanting them and
 * retention::observers_only, nothing is built at all.
 *
 * Stamps never go backwards in record order for commands and replies: a stamp older than the
 * newest one recorded is raised to it (the simulator stamps a batch of commands read together
 * with the time of the read).
 *
 * @par Object lifetimes
 * An observer is handed the stored event itself for events given to record(): events are never
 * moved or removed, so that reference stays valid for the recorder's lifetime, even while other
 * threads record. Events built from a command or reply record, and every event with
 * retention::observers_only, are valid only during the call.
 */
class recorder {
 public:
  using observer = std::function<void(const event&)>;

  explicit recorder(retention keep = retention::all);
  ~recorder();
  recorder(const recorder&) = delete;
  auto operator=(const recorder&) -> recorder& = delete;

  void record(event e);
  /// A command_received, kept compactly (see the class comment).
  void record_command(const command_view& c);
  /// A reply_written, kept compactly.
  void record_reply(const reply_view& r);
  /// Every event kept, in record order; always empty with retention::observers_only.
  [[nodiscard]] auto snapshot() const -> std::vector<event>;
  /// How many events were recorded, kept or not.
  [[nodiscard]] auto size() const -> std::size_t;
  /// Returns an id for unsubscribe().
  auto subscribe(observer fn, interest wants = interest::everything) -> std::size_t;
  /// A sink sees every event from now on; returns an id for unsubscribe().
  auto subscribe(std::shared_ptr<sink> s) -> std::size_t;
  void unsubscribe(std::size_t id);

 private:
  struct subscriber {
    std::size_t id = 0;
    observer fn{};
    interest wants = interest::everything;
    std::shared_ptr<sink> to{};
  };
  struct subscribers {
    std::vector<subscriber> list;
    bool any_wants_commands = false;           // an observer or a sink: commands must reach someone
    bool any_observer_wants_commands = false;  // an event must be built per command
  };
  class compact_store;

  auto add_subscriber(subscriber s) -> std::size_t;
  void notify_command(const subscribers& subs, const command_view& c);
  void notify_reply(const subscribers& subs, const reply_view& r);

  retention keep_;
  mutable std::mutex mutex_;
  std::size_t recorded_ = 0;
  std::int64_t newest_t_ns_ = 0;
  // Blocks of 256 events: growing never moves the timeline (a vector doubled and moved every
  // event, 19% of a recorded redis-benchmark run) and allocates once per 256 events, where
  // std::deque's 512-byte blocks hold two.
  using event_store = boost::container::deque<
      event, void, boost::container::deque_options_t<boost::container::block_size<256U>>>;
  event_store events_;
  // The record order of everything kept: the events above and the compact command and reply
  // records.
  std::unique_ptr<compact_store> order_;
  // Copy-on-write, so record() reads the list without holding the lock while observers run.
  std::shared_ptr<const subscribers> subscribers_ = std::make_shared<const subscribers>();
  std::size_t next_subscriber_id_ = 1;
};

}  // namespace schsim::timeline
