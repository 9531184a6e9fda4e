#pragma once

#include <schsim/core/clock.hpp>

#include <boost/container/string.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace schsim::simulator {

/**
 * @brief The simulated deployment's data: 16 databases of strings with optional expiry.
 *
 * Sans-I/O: every call that can observe expiry takes `now`, so tests step time by hand. Expired
 * keys are removed lazily when touched (and by purge_expired()), as Redis does.
 *
 * @par Object lifetimes
 * Pointers returned by get() point into the table and stay valid only until the next call on
 * this keyspace: the table is open-addressed (boost::unordered_flat_map), so adding any key can
 * move every stored entry. Callers copy what they need (into a reply) before the next call.
 */
class keyspace {
 public:
  static constexpr int database_count = 16;

  /// Why an arithmetic update failed, mapped by the handler to Redis's error texts.
  enum class arith_error { none, not_an_integer, overflow };
  struct arith_result {
    arith_error error = arith_error::none;
    std::int64_t value = 0;
  };

  /// Options of SET (EX/PX/EXAT/PXAT/NX/XX/KEEPTTL). `expires_at` empty with keep_ttl false
  /// clears any TTL, as a plain SET does.
  enum class set_condition { always, if_absent, if_present };
  enum class ttl_policy { clear, keep, set };
  struct set_options {
    set_condition condition = set_condition::always;
    ttl_policy ttl = ttl_policy::clear;
    time_point expires_at{};  ///< for ttl_policy::set
  };
  struct set_result {
    bool written = false;
    std::optional<std::string> previous;  ///< old value, filled only when asked for
  };

  [[nodiscard]] auto get(int db, std::string_view key, time_point now) -> const std::string*;
  /// Whether set() copies out the value it replaces (SET ... GET).
  enum class previous_value { ignore, fetch };
  auto set(int db, std::string_view key, std::string_view value, const set_options& opts,
           time_point now, previous_value want = previous_value::ignore) -> set_result;
  /// True if the key existed (and was removed).
  auto del(int db, std::string_view key, time_point now) -> bool;
  [[nodiscard]] auto exists(int db, std::string_view key, time_point now) -> bool;
  /// INCRBY semantics: a missing key counts as 0; the result is stored as decimal text.
  auto incr_by(int db, std::string_view key, std::int64_t delta, time_point now) -> arith_result;

  /// Sets the expiry of an existing key; a deadline at or before `now` deletes it. False when
  /// the key does not exist.
  auto expire_at(int db, std::string_view key, time_point deadline, time_point now) -> bool;
  /// The key's deadline: nullopt if the key does not exist, a default time_point if it has none.
  [[nodiscard]] auto deadline(int db, std::string_view key, time_point now)
      -> std::optional<std::optional<time_point>>;

  /// Keys in `db` that have not expired (purges expired ones first).
  auto size(int db, time_point now) -> std::size_t;
  /// Keys with a deadline in `db` (after purging).
  auto expiring(int db, time_point now) -> std::size_t;
  void flush(int db);
  void flush_all();
  void purge_expired(int db, time_point now);

  /// WATCH: connection `conn` watches `key` in `db`. Any later write, delete, flush or expiry of
  /// it breaks the watch (Redis's CLIENT_DIRTY_CAS), whichever connection or endpoint does it.
  void watch(std::uint64_t conn, int db, std::string_view key, time_point now);
  /// UNWATCH, EXEC, DISCARD, RESET and a closed connection: forgets `conn`'s watches.
  void unwatch(std::uint64_t conn);
  /// Whether a key `conn` watches changed or expired since it was watched.
  auto watch_broken(std::uint64_t conn, time_point now) -> bool;

 private:
  struct entry {
    std::string value;
    std::optional<time_point> expires_at;
  };
  // Keys up to 22 bytes live inside the table's slot (boost::container::string's short-string
  // buffer, where std::string holds 15), so a lookup's key comparison reads the slot it has
  // already loaded instead of chasing a pointer to a heap copy of the key: redis-benchmark's
  // "key:000000012345" is 16 bytes.
  using stored_key = boost::container::string;
  static auto view_of(const stored_key& k) noexcept -> std::string_view {
    return {k.data(), k.size()};
  }
  struct string_hash {
    using is_transparent = void;
    auto operator()(std::string_view s) const noexcept -> std::size_t {
      return std::hash<std::string_view>{}(s);
    }
    auto operator()(const stored_key& k) const noexcept -> std::size_t {
      return (*this)(view_of(k));
    }
  };
  struct string_equal {
    using is_transparent = void;
    template <typename A, typename B>
    auto operator()(const A& a, const B& b) const noexcept -> bool {
      return as_view(a) == as_view(b);
    }

   private:
    static auto as_view(std::string_view s) noexcept -> std::string_view { return s; }
    static auto as_view(const stored_key& k) noexcept -> std::string_view { return view_of(k); }
  };
  // Open addressing, entries stored inline: one probe of a cache line of metadata per lookup,
  // instead of a node allocation per key and a pointer chase per lookup (29% of a pipelined
  // redis-benchmark run went into std::unordered_map, bench/RESULTS.md).
  using table = boost::unordered_flat_map<stored_key, entry, string_hash, string_equal>;

  /// The live entry for `key`, erasing it first if it has expired.
  auto find_live(int db, std::string_view key, time_point now) -> entry*;

  /// Marks every connection watching `key` broken (a no-op while nobody watches anything).
  void touch(int db, std::string_view key);
  /// A flush of `db` (-1: every database): breaks the watches of keys that exist there.
  void touch_flushed(int db);

  std::array<table, database_count> dbs_;
  using watched_key = std::pair<int, std::string>;
  std::map<watched_key, std::vector<std::uint64_t>> watchers_;  // key -> watching connections
  struct watch_state {
    std::vector<watched_key> keys;
    bool broken = false;
  };
  std::unordered_map<std::uint64_t, watch_state> watches_;  // connection -> its watches
};

}  // namespace schsim::simulator
