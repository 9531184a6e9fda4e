#include <schsim/simulator/blocking.hpp>

#include <algorithm>

namespace schsim::simulator {

void blocking_registry::block(blocked_command cmd) {
  const std::uint64_t conn = cmd.conn;
  unblock(conn);  // a connection blocks on one command at a time
  const std::uint64_t order = next_order_++;
  for (const auto& key : cmd.keys) {
    auto& queue = waiting_[key_ref{cmd.db, key}];
    if (std::find(queue.begin(), queue.end(), conn) == queue.end()) {
      queue.push_back(conn);  // BLPOP k k waits once on k
    }
  }
  if (cmd.deadline) {
    deadlines_.emplace(*cmd.deadline, order, conn);
  }
  blocked_.emplace(conn, parked{std::move(cmd), order});
}

auto blocking_registry::unblock(std::uint64_t conn) -> std::optional<blocked_command> {
  const auto it = blocked_.find(conn);
  if (it == blocked_.end()) {
    return std::nullopt;
  }
  parked p = std::move(it->second);
  blocked_.erase(it);
  for (const auto& key : p.cmd.keys) {
    const auto w = waiting_.find(key_ref{p.cmd.db, key});
    if (w == waiting_.end()) {
      continue;
    }
    std::erase(w->second, conn);
    if (w->second.empty()) {
      waiting_.erase(w);
    }
  }
  if (p.cmd.deadline) {
    deadlines_.erase({*p.cmd.deadline, p.order, conn});
  }
  return std::move(p.cmd);
}

auto blocking_registry::find(std::uint64_t conn) const -> const blocked_command* {
  const auto it = blocked_.find(conn);
  return it == blocked_.end() ? nullptr : &it->second.cmd;
}

void blocking_registry::signal_ready(int db, std::string_view key) {
  if (blocked_.empty()) {
    return;  // the common case: one branch per write
  }
  key_ref ref{db, std::string(key)};
  if (!waiting_.contains(ref) || ready_set_.contains(ref)) {
    return;
  }
  ready_set_.insert(ref);
  ready_.push_back(std::move(ref));
}

auto blocking_registry::take_ready() -> std::vector<std::pair<int, std::string>> {
  std::vector<key_ref> taken;
  taken.swap(ready_);
  ready_set_.clear();
  return taken;
}

auto blocking_registry::waiters(int db, std::string_view key) const -> std::vector<std::uint64_t> {
  const auto it = waiting_.find(key_ref{db, std::string(key)});
  if (it == waiting_.end()) {
    return {};
  }
  return {it->second.begin(), it->second.end()};
}

auto blocking_registry::next_deadline() const -> std::optional<time_point> {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return std::get<0>(*deadlines_.begin());
}

auto blocking_registry::take_expired(time_point now) -> std::vector<blocked_command> {
  std::vector<blocked_command> expired;
  while (!deadlines_.empty() && std::get<0>(*deadlines_.begin()) <= now) {
    const std::uint64_t conn = std::get<2>(*deadlines_.begin());
    if (auto cmd = unblock(conn)) {
      expired.push_back(std::move(*cmd));
    } else {
      deadlines_.erase(deadlines_.begin());  // cannot happen: unblock() erases it
    }
  }
  return expired;
}

}  // namespace schsim::simulator
