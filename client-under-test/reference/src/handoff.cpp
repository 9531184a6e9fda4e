#include <schsim/core/overloaded.hpp>
#include <schsim/refclient/handoff.hpp>

#include <algorithm>
#include <utility>

namespace schsim::refclient {

namespace {

using schsim::overloaded;

auto ms_since_epoch(time_point t) -> long long {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// How long after the grace period the broken late_reconnect mode starts its handoff.
constexpr std::chrono::milliseconds late_start_after_grace{500};
/// How long the broken handoff_backoff mode waits before a handoff's first dial.
constexpr std::chrono::milliseconds first_dial_backoff{2000};
/// Operations are remembered this long after their grace ended, to recognise replays.
constexpr std::chrono::seconds op_memory{60};

}  // namespace

auto operator<<(std::ostream& os, const planner_action& a) -> std::ostream& {
  std::visit(
      overloaded{
          [&](const start_handoff& s) {
            os << "start_handoff{conn " << s.conn << " -> " << s.target << ", seq " << s.seq
               << ", close by " << ms_since_epoch(s.close_deadline) << "ms}";
          },
          [&](const schedule_timer& s) {
            os << "schedule_timer{" << s.token << " at " << ms_since_epoch(s.at) << "ms}";
          },
          [&](const remap_target& r) { os << "remap{" << r.from << " -> " << r.to << "}"; },
          [&](const moving_ignored& i) { os << "ignored{conn " << i.conn << ": " << i.why << "}"; },
      },
      a);
  return os;
}

auto operator<<(std::ostream& os, const handoff_action& a) -> std::ostream& {
  std::visit(overloaded{
                 [&](const handoff_dial& d) {
                   os << "dial{" << d.target << ", attempt " << d.attempt
                      << (d.scope == handshake_scope::skip ? ", no handshake" : "") << "}";
                 },
                 [&](const handoff_swap& s) {
                   os << "swap{buffered "
                      << (s.buffered == buffered_disposition::resume ? "resume" : "drop")
                      << ", inflight "
                      << (s.inflight == inflight_disposition::none
                              ? "none"
                              : (s.inflight == inflight_disposition::fail ? "fail" : "resend"))
                      << "}";
                 },
                 [&](const handoff_close_old&) { os << "close_old"; },
                 [&](const handoff_abandon& ab) { os << "abandon{" << ab.reason << "}"; },
             },
             a);
  return os;
}

// ---------------------------------------------------------------------------------------------

handoff_planner::handoff_planner(planner_params params)
    : params_{std::move(params)}, target_{params_.configured} {}

auto handoff_planner::close_deadline_for(time_point now, std::int64_t time_s) const -> time_point {
  if (time_s <= 0) return now;
  const std::chrono::milliseconds grace{time_s * 1000};
  const auto margin = std::min<std::chrono::milliseconds>(std::chrono::seconds{1}, grace / 4);
  return now + grace - margin;
}

void handoff_planner::prune(time_point now) {
  for (auto it = ops_.begin(); it != ops_.end();) {
    if (!it->second.timer && now > it->second.grace_end + op_memory) {
      it = ops_.erase(it);
    } else {
      ++it;
    }
  }
}

void handoff_planner::forget(conn_id conn) {
  for (auto& [key, op] : ops_) {
    op.covered.erase(conn);
    std::erase(op.waiting, conn);
  }
}

auto handoff_planner::screen(conn_id receiver, const maint::moving& m,
                             const std::vector<conn_view>& pool, const conn_view*& rv,
                             std::optional<address>& target) const
    -> std::optional<moving_ignored> {
  if (params_.broken.has(broken_mode::ignore_moving)) {
    return moving_ignored{receiver, "broken mode ignore-moving"};
  }
  const auto it =
      std::find_if(pool.begin(), pool.end(), [&](const conn_view& c) { return c.id == receiver; });
  if (it == pool.end() || !it->endpoint) {
    return moving_ignored{receiver, "connection has no socket"};
  }
  rv = &*it;
  if (m.endpoint) {
    target = parse_address(*m.endpoint);
    if (!target) return moving_ignored{receiver, "unparsable endpoint '" + *m.endpoint + "'"};
  }
  return std::nullopt;
}

auto handoff_planner::replay_ignored(conn_id receiver, const maint::moving& m, const conn_view& rv,
                                     const std::optional<address>& target, operation* op)
    -> std::optional<moving_ignored> {
  if (op != nullptr && op->covered.contains(receiver)) {
    return moving_ignored{receiver, "duplicate (seq " + std::to_string(m.seq) + ", endpoint " +
                                        (m.endpoint ? *m.endpoint : "null") + ")"};
  }
  if (target && *target == *rv.endpoint) {
    // A replay to a connection already at the target (late joiners get the active MOVING).
    if (op != nullptr) op->covered.insert(receiver);
    return moving_ignored{receiver, "already connected to " + target->to_string()};
  }
  if (rv.handing_off) return moving_ignored{receiver, "a handoff is already under way"};
  return std::nullopt;
}

auto handoff_planner::new_operation(const maint::moving& m, const std::optional<address>& target,
                                    const conn_view& rv, time_point now) const -> operation {
  operation op;
  op.target = target;
  op.source = rv.endpoint;
  op.received_at = now;
  op.grace_end = now + std::chrono::seconds{std::max<std::int64_t>(0, m.time_s)};
  op.close_deadline = close_deadline_for(now, m.time_s);
  return op;
}

auto handoff_planner::cover_affected(conn_id receiver, const conn_view& rv,
                                     const std::vector<conn_view>& pool, operation& op)
    -> std::vector<conn_id> {
  std::vector<conn_id> affected{receiver};
  for (const auto& c : pool) {
    if (c.id != receiver && c.endpoint == rv.endpoint && !c.handing_off &&
        !op.covered.contains(c.id)) {
      affected.push_back(c.id);
    }
  }
  for (auto id : affected) op.covered.insert(id);
  return affected;
}

auto handoff_planner::delayed_start(const maint::moving& m, bool null_endpoint,
                                    const operation& op) const -> std::optional<time_point> {
  if (params_.broken.has(broken_mode::late_reconnect)) {
    return op.grace_end + late_start_after_grace;
  }
  if (null_endpoint && !params_.broken.has(broken_mode::ignore_null_delay)) {
    return op.received_at + std::chrono::milliseconds{std::max<std::int64_t>(0, m.time_s) * 500};
  }
  return std::nullopt;
}

void handoff_planner::defer_start(const op_key& key, operation& op,
                                  const std::vector<conn_id>& affected, time_point at,
                                  std::vector<planner_action>& out) {
  op.waiting.insert(op.waiting.end(), affected.begin(), affected.end());
  if (!op.timer) {
    op.timer = next_token_++;
    timers_[*op.timer] = key;
    out.emplace_back(schedule_timer{*op.timer, at});
  }
}

auto handoff_planner::on_moving(conn_id receiver, const maint::moving& m,
                                const std::vector<conn_view>& pool, time_point now)
    -> std::vector<planner_action> {
  prune(now);
  const conn_view* rv = nullptr;
  std::optional<address> target;
  if (auto ignored = screen(receiver, m, pool, rv, target)) return {std::move(*ignored)};
  const op_key key{m.seq, m.endpoint.value_or("")};
  auto found = ops_.find(key);
  if (auto ignored = replay_ignored(receiver, m, *rv, target,
                                    found == ops_.end() ? nullptr : &found->second)) {
    return {std::move(*ignored)};
  }
  if (found == ops_.end()) found = ops_.emplace(key, new_operation(m, target, *rv, now)).first;
  auto& op = found->second;
  if (!target && op.fired_at && rv->opened_at >= *op.fired_at) {
    // Opened after the null-endpoint reconnect point: it already reaches the new place.
    op.covered.insert(receiver);
    return {moving_ignored{receiver, "connected after the reconnect point"}};
  }

  std::vector<planner_action> out;
  if (target && target_ == *rv->endpoint) {
    out.emplace_back(remap_target{target_, *target});
    target_ = *target;
  }
  const auto affected = cover_affected(receiver, *rv, pool, op);
  const auto start_at = delayed_start(m, !target, op);
  if (start_at && now < *start_at) {
    defer_start(key, op, affected, *start_at, out);
    return out;
  }
  for (auto id : affected) {
    out.emplace_back(start_handoff{id, target.value_or(target_), m.seq, op.close_deadline});
  }
  return out;
}

auto handoff_planner::on_timer(std::uint64_t token, const std::vector<conn_view>& pool,
                               time_point now) -> std::vector<planner_action> {
  const auto t = timers_.find(token);
  if (t == timers_.end()) return {};
  const auto key = t->second;
  timers_.erase(t);
  const auto found = ops_.find(key);
  if (found == ops_.end()) return {};
  auto& op = found->second;
  op.timer.reset();
  op.fired_at = now;
  std::vector<planner_action> out;
  for (auto id : op.waiting) {
    const auto c =
        std::find_if(pool.begin(), pool.end(), [&](const conn_view& v) { return v.id == id; });
    if (c == pool.end() || c->handing_off) continue;
    out.emplace_back(start_handoff{id, op.target.value_or(target_), key.seq, op.close_deadline});
  }
  op.waiting.clear();
  return out;
}

// ---------------------------------------------------------------------------------------------

handoff_fsm::handoff_fsm(handoff_params params) : params_{std::move(params)} {}

auto handoff_fsm::start(const address& target, time_point close_deadline, time_point now)
    -> std::vector<handoff_action> {
  target_ = target;
  started_at_ = now;
  close_deadline_ = close_deadline;
  // resend_written does not wait for the old socket: what is in flight is written again.
  old_drained_ = params_.broken.has(broken_mode::resend_written);
  if (params_.broken.has(broken_mode::handoff_backoff)) {
    // The retry wait taken before the first attempt too: on_timer dials attempt 1 at retry_at_.
    attempt_ = 0;
    phase_ = phase::waiting_retry;
    retry_at_ = now + first_dial_backoff;
    return on_timer(now);
  }
  attempt_ = 1;
  phase_ = phase::dialing;
  std::vector<handoff_action> out{handoff_dial{
      target_, attempt_,
      params_.broken.has(broken_mode::skip_handoff_handshake) ? handshake_scope::skip
                                                              : handshake_scope::full}};
  auto more = on_timer(now);
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

auto handoff_fsm::try_swap() -> std::vector<handoff_action> {
  phase_ = phase::finished;
  handoff_swap swap;
  swap.buffered = params_.broken.has(broken_mode::drop_buffered) ? buffered_disposition::drop
                                                                 : buffered_disposition::resume;
  if (old_closed_) {
    swap.inflight = inflight_disposition::none;
  } else if (params_.broken.has(broken_mode::resend_written)) {
    swap.inflight = inflight_disposition::resend;
  } else {
    swap.inflight = old_drained_ ? inflight_disposition::none : inflight_disposition::fail;
  }
  return {swap};
}

auto handoff_fsm::dial_or_abandon(time_point now, std::string why) -> std::vector<handoff_action> {
  const auto give_up_at = started_at_ + params_.handoff_timeout;
  if (attempt_ >= params_.max_retries || now + params_.retry_delay >= give_up_at) {
    phase_ = phase::finished;
    return {handoff_abandon{why + " (attempt " + std::to_string(attempt_) + " of " +
                            std::to_string(params_.max_retries) + ")"}};
  }
  phase_ = phase::waiting_retry;
  retry_at_ = now + params_.retry_delay;
  return {};
}

auto handoff_fsm::on_dial_result(bool ok, time_point now) -> std::vector<handoff_action> {
  if (phase_ != phase::dialing) return {};
  if (!ok) return dial_or_abandon(now, "dial failed");
  phase_ = phase::new_ready;
  if (old_drained_ || old_closed_) return try_swap();
  return on_timer(now);
}

auto handoff_fsm::on_new_lost(time_point now) -> std::vector<handoff_action> {
  if (phase_ != phase::new_ready) return {};
  return dial_or_abandon(now, "new connection lost before the swap");
}

auto handoff_fsm::on_old_drained(time_point now) -> std::vector<handoff_action> {
  (void)now;
  if (phase_ == phase::finished || old_drained_) return {};
  old_drained_ = true;
  if (phase_ == phase::new_ready) return try_swap();
  return {};
}

auto handoff_fsm::on_timer(time_point now) -> std::vector<handoff_action> {
  std::vector<handoff_action> out;
  if (phase_ == phase::finished || phase_ == phase::idle) return out;
  if (phase_ == phase::waiting_retry && now >= retry_at_) {
    ++attempt_;
    phase_ = phase::dialing;
    out.emplace_back(handoff_dial{target_, attempt_,
                                  params_.broken.has(broken_mode::skip_handoff_handshake)
                                      ? handshake_scope::skip
                                      : handshake_scope::full});
  }
  if ((phase_ == phase::dialing || phase_ == phase::waiting_retry) &&
      now >= started_at_ + params_.handoff_timeout) {
    phase_ = phase::finished;
    out.emplace_back(
        handoff_abandon{"handoff timeout after " + std::to_string(attempt_) + " attempt(s)"});
    return out;
  }
  if (!old_drained_ && !old_closed_ && now >= close_deadline_) {
    if (phase_ == phase::new_ready) {
      auto swap = try_swap();
      out.insert(out.end(), swap.begin(), swap.end());
    } else {
      old_closed_ = true;
      out.emplace_back(handoff_close_old{});
    }
  }
  return out;
}

auto handoff_fsm::next_deadline() const -> std::optional<time_point> {
  if (phase_ == phase::finished || phase_ == phase::idle) return std::nullopt;
  std::optional<time_point> next;
  auto consider = [&](time_point t) {
    if (!next || t < *next) next = t;
  };
  if (phase_ == phase::waiting_retry) consider(retry_at_);
  if (phase_ == phase::dialing || phase_ == phase::waiting_retry) {
    consider(started_at_ + params_.handoff_timeout);
  }
  if (!old_drained_ && !old_closed_) consider(close_deadline_);
  return next;
}

}  // namespace schsim::refclient
