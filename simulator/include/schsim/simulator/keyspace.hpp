#pragma once

#include <schsim/core/clock.hpp>

#include <boost/container/string.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace schsim::simulator {

/// What a key holds (TYPE's answer; `none` for a missing key).
enum class value_type : std::uint8_t { none, string, list, stream };
/// TYPE's word for it: "none", "string", "list", "stream".
auto type_name(value_type t) -> std::string_view;

/// A stream entry ID, `ms-seq`.
struct stream_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const stream_id&) const = default;
  [[nodiscard]] auto to_string() const -> std::string;
};
struct stream_entry {
  stream_id id;
  std::vector<std::string> fields;  ///< field, value, field, value, ...
};

/// Which end of a list (LPUSH/LPOP: left, RPUSH/RPOP: right).
enum class list_end : std::uint8_t { left, right };

/**
 * @brief The simulated deployment's data: 16 databases of strings, lists and streams with
 * optional expiry.
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
  enum class arith_error { none, not_an_integer, overflow, wrong_type };
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
    /// Asked for the old value of a key that holds no string: nothing written (SET ... GET).
    bool wrong_type = false;
  };

  /// The string at `key`; nullptr when it is missing or holds another type (then
  /// `*wrong_type`, if given, is set).
  [[nodiscard]] auto get(int db, std::string_view key, time_point now, bool* wrong_type = nullptr)
      -> const std::string*;
  [[nodiscard]] auto type_of(int db, std::string_view key, time_point now) -> value_type;
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
  /// PERSIST: drops the key's deadline; false when it is missing or has none.
  auto persist(int db, std::string_view key, time_point now) -> bool;
  /// The key's deadline: nullopt if the key does not exist, a default time_point if it has none.
  [[nodiscard]] auto deadline(int db, std::string_view key, time_point now)
      -> std::optional<std::optional<time_point>>;

  // -- lists (a list that becomes empty is removed, as in Redis) --------------------------------
  struct list_result {
    bool wrong_type = false;
    std::size_t length = 0;  ///< the list's length after the call
  };
  /// LPUSH / RPUSH: each element in turn at `end` (LPUSH a b leaves b first); creates the key.
  auto push(int db, std::string_view key, std::span<const std::string_view> elements, list_end end,
            time_point now) -> list_result;
  struct pop_result {
    bool wrong_type = false;
    bool found = false;  ///< the key existed
    std::vector<std::string> elements;
  };
  /// LPOP / RPOP: up to `count` elements from `end`, in pop order.
  auto pop(int db, std::string_view key, list_end end, std::size_t count, time_point now)
      -> pop_result;
  [[nodiscard]] auto list_length(int db, std::string_view key, time_point now) -> list_result;
  /// LRANGE with Redis's index rules (negative from the end, clamped); wrong_type in the result.
  auto list_range(int db, std::string_view key, std::int64_t start, std::int64_t stop,
                  time_point now) -> pop_result;

  // -- streams ----------------------------------------------------------------------------------
  enum class stream_add_status { added, wrong_type, id_not_greater, id_zero };
  struct stream_add_result {
    stream_add_status status = stream_add_status::added;
    stream_id id;
  };
  /// XADD: `id` nullopt for `*` (ms from `now`, seq after the top item's), else that ID, which
  /// must be greater than the stream's top item (and than 0-0). `seq_auto`: `<ms>-*`.
  auto stream_add(int db, std::string_view key, std::optional<stream_id> id, bool seq_auto,
                  std::span<const std::string_view> fields, time_point now) -> stream_add_result;
  struct stream_read {
    bool wrong_type = false;
    bool found = false;
    stream_id last;  ///< the top item's ID (0-0 for a missing stream)
    std::size_t length = 0;
    std::vector<stream_entry> entries;  ///< the requested range, copied
  };
  /// The entries with `from <= id <= to` (at most `count`, 0: all); `from_exclusive` makes the
  /// lower bound strict (XREAD's "after this ID").
  auto stream_range(int db, std::string_view key, stream_id from, stream_id to, std::size_t count,
                    time_point now, bool from_exclusive = false) -> stream_read;

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
  /// A list or a stream; strings stay inline in `entry::value` (the hot path allocates nothing
  /// more for them).
  struct aggregate {
    std::deque<std::string> list;
    std::vector<stream_entry> stream;
    stream_id stream_last;
  };
  struct entry {
    std::string value;
    std::optional<time_point> expires_at;
    value_type type = value_type::string;
    std::unique_ptr<aggregate> boxed;  ///< lists and streams
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
  /// A new, empty entry of `type` at `key` (which must be absent).
  auto create(int db, std::string_view key, value_type type) -> entry&;

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
