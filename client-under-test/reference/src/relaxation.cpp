#include <schsim/refclient/relaxation.hpp>

#include <algorithm>

namespace schsim::refclient {

relaxation_tracker::relaxation_tracker(std::chrono::milliseconds normal,
                                       std::chrono::milliseconds relaxed,
                                       std::chrono::milliseconds backstop, broken_set broken)
    : normal_{normal}, relaxed_{relaxed}, backstop_{backstop}, broken_{broken} {}

auto relaxation_tracker::relaxed_timeout() const -> std::chrono::milliseconds {
  return std::max(relaxed_, normal_);
}

auto relaxation_tracker::expired(const window& w, time_point now) const -> bool {
  if (broken_.has(broken_mode::relax_forever)) return false;
  return now >= w.opened_at + backstop_;
}

void relaxation_tracker::prune(time_point now) {
  std::erase_if(windows_, [&](const window& w) { return expired(w, now); });
}

auto relaxation_tracker::on_notification(const maint::notification& n, time_point now)
    -> relax_change {
  prune(now);
  const auto k = maint::kind_of(n);
  const auto seq = maint::seq_of(n);
  if (maint::opens_window(k)) {
    const bool repeated = std::any_of(windows_.begin(), windows_.end(), [&](const window& w) {
      return w.opener == k && w.seq == seq;
    });
    if (repeated) return relax_change::ignored;
    windows_.push_back(window{k, seq, now});
    return relax_change::opened;
  }
  if (maint::closes_window(k)) {
    if (broken_.has(broken_mode::relax_forever)) return relax_change::ignored;
    // The oldest open window of the matching kind: the end pairs with the earliest start.
    const auto it = std::find_if(windows_.begin(), windows_.end(), [&](const window& w) {
      return maint::closing_kind(w.opener) == k;
    });
    if (it == windows_.end()) return relax_change::ignored;
    windows_.erase(it);
    return relax_change::closed;
  }
  return relax_change::none;
}

void relaxation_tracker::relax_until(time_point until) {
  if (broken_.has(broken_mode::relax_forever)) until = time_point::max();
  if (!until_ || until > *until_) until_ = until;
}

auto relaxation_tracker::open_windows(time_point now) const -> std::size_t {
  return static_cast<std::size_t>(std::count_if(windows_.begin(), windows_.end(),
                                                [&](const window& w) { return !expired(w, now); }));
}

auto relaxation_tracker::relaxed(time_point now) const -> bool {
  if (broken_.has(broken_mode::no_relax)) return false;
  return open_windows(now) > 0 || (until_ && now < *until_);
}

auto relaxation_tracker::timeout(time_point now) const -> std::chrono::milliseconds {
  return relaxed(now) ? relaxed_timeout() : normal_;
}

auto relaxation_tracker::next_change(time_point now) const -> std::optional<time_point> {
  if (broken_.has(broken_mode::no_relax)) return std::nullopt;
  std::optional<time_point> next;
  auto consider = [&](time_point t) {
    if (t > now && t != time_point::max() && (!next || t < *next)) next = t;
  };
  if (until_) consider(*until_);
  if (!broken_.has(broken_mode::relax_forever)) {
    for (const auto& w : windows_) consider(w.opened_at + backstop_);
  }
  return next;
}

}  // namespace schsim::refclient
