#pragma once

#include <schsim/core/timeline/event.hpp>

#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace schsim::timeline {

/// What a recorder keeps of the events it is given.
enum class retention {
  all,            ///< every event, for snapshot(): the harness checks the whole timeline
  observers_only  ///< none: each event goes to the observers and is dropped (`schsim serve`
                  ///< streams it to a JSONL file; its memory no longer grows with traffic)
};

/**
 * @brief The run's append-only event record; thread-safe.
 *
 * Observers registered with subscribe() are called synchronously, on the recording thread,
 * after the event is stored and outside the lock (the scenario engine uses this to wait for
 * "N connections handshaken", and may record events of its own from the callback).
 *
 * @par Object lifetimes
 * An observer is handed the stored event itself, not a copy. Events are never moved or
 * removed, so that reference stays valid for the recorder's lifetime, even while other threads
 * record (a deque keeps its elements in place as it grows). With retention::observers_only the
 * reference is valid only during the call.
 */
class recorder {
 public:
  using observer = std::function<void(const event&)>;

  explicit recorder(retention keep = retention::all) : keep_(keep) {}

  void record(event e);
  /// Every event kept; always empty with retention::observers_only.
  [[nodiscard]] auto snapshot() const -> std::vector<event>;
  /// How many events were recorded, kept or not.
  [[nodiscard]] auto size() const -> std::size_t;
  /// Returns an id for unsubscribe().
  auto subscribe(observer fn) -> std::size_t;
  void unsubscribe(std::size_t id);

 private:
  retention keep_;
  mutable std::mutex mutex_;
  std::size_t recorded_ = 0;
  // Blocks of 256 events: growing never moves the timeline (a vector doubled and moved every
  // event, 19% of a recorded redis-benchmark run) and allocates once per 256 events, where
  // std::deque's 512-byte blocks hold two.
  using event_store = boost::container::deque<
      event, void, boost::container::deque_options_t<boost::container::block_size<256U>>>;
  event_store events_;
  using observer_list = std::vector<std::pair<std::size_t, observer>>;
  // Copy-on-write, so record() reads the list without holding the lock while observers run.
  std::shared_ptr<const observer_list> observers_ = std::make_shared<const observer_list>();
  std::size_t next_observer_id_ = 1;
};

}  // namespace schsim::timeline
