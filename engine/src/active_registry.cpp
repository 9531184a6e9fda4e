#include <schsim/engine/active_registry.hpp>

#include <algorithm>

namespace schsim::engine {

void active_registry::activate(active_notification n) {
  const auto k = maint::kind_of(n.notification);
  std::erase_if(entries_, [&](const active_notification& e) {
    return maint::kind_of(e.notification) == k && e.endpoint == n.endpoint;
  });
  entries_.push_back(std::move(n));
}

void active_registry::on_sent(maint::kind sent, const std::string& endpoint) {
  if (!maint::closes_window(sent)) {
    return;
  }
  std::erase_if(entries_, [&](const active_notification& e) {
    const auto closer = maint::closing_kind(maint::kind_of(e.notification));
    return closer == sent && (endpoint.empty() || e.endpoint.empty() || e.endpoint == endpoint);
  });
}

void active_registry::clear(std::optional<maint::kind> kind, const std::string& endpoint) {
  std::erase_if(entries_, [&](const active_notification& e) {
    return (!kind || maint::kind_of(e.notification) == *kind) &&
           (endpoint.empty() || e.endpoint == endpoint);
  });
}

void active_registry::expire(time_point now) {
  std::erase_if(entries_,
                [&](const active_notification& e) { return e.expires_at && *e.expires_at <= now; });
}

auto active_registry::for_new_connection(const std::string& endpoint, time_point now)
    -> std::vector<replay> {
  expire(now);
  std::vector<replay> out;
  for (const auto& e : entries_) {
    if (!e.endpoint.empty() && e.endpoint != endpoint) {
      continue;
    }
    replay r{e.origin_step, e.notification, e.dialect, now - e.sent_at,
             maint::time_of(e.notification)};
    // floor(time - elapsed) == time - ceil(elapsed) for whole-second times; written this way so
    // a huge `time` (a negative-payload test) cannot overflow the clock's arithmetic. A
    // non-positive time is replayed as it was sent.
    if (const auto t = maint::time_of(r.notification); t && *t > 0) {
      const auto elapsed = std::chrono::ceil<seconds>(now - e.sent_at).count();
      maint::set_time(r.notification, std::max<std::int64_t>(0, *t - elapsed));
    }
    out.push_back(std::move(r));
  }
  return out;
}

auto active_registry::active(time_point now) const -> std::vector<active_notification> {
  std::vector<active_notification> out;
  for (const auto& e : entries_) {
    if (!e.expires_at || *e.expires_at > now) {
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace schsim::engine
