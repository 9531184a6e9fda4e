#include <schsim/core/overloaded.hpp>
#include <schsim/core/timeline/recorder.hpp>

#include <algorithm>

namespace schsim::timeline {

void recorder::record(event e) {
  std::shared_ptr<const observer_list> observers;
  if (keep_ == retention::observers_only) {
    {
      std::lock_guard lock(mutex_);
      ++recorded_;
      observers = observers_;
    }
    for (const auto& [id, fn] : *observers) {
      fn(e);
    }
    return;
  }
  const event* stored = nullptr;
  {
    std::lock_guard lock(mutex_);
    ++recorded_;
    events_.push_back(std::move(e));
    observers = observers_;
    if (observers->empty()) {
      return;
    }
    // Read outside the lock while other threads may append: the deque never moves an element
    // it holds, and nothing writes to an event once stored.
    stored = &events_.back();
  }
  for (const auto& [id, fn] : *observers) {
    fn(*stored);
  }
}

auto recorder::snapshot() const -> std::vector<event> {
  std::lock_guard lock(mutex_);
  return {events_.begin(), events_.end()};
}

auto recorder::size() const -> std::size_t {
  std::lock_guard lock(mutex_);
  return recorded_;
}

auto recorder::subscribe(observer fn) -> std::size_t {
  std::lock_guard lock(mutex_);
  const std::size_t id = next_observer_id_++;
  auto updated = std::make_shared<observer_list>(*observers_);
  updated->emplace_back(id, std::move(fn));
  observers_ = std::move(updated);
  return id;
}

void recorder::unsubscribe(std::size_t id) {
  std::lock_guard lock(mutex_);
  auto updated = std::make_shared<observer_list>(*observers_);
  std::erase_if(*updated, [id](const auto& entry) { return entry.first == id; });
  observers_ = std::move(updated);
}

namespace {
using schsim::overloaded;
}  // namespace

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
                 [](const slot_migration_completed&) { return "slot_migration_completed"; }},
      d);
}

}  // namespace schsim::timeline
