#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/overloaded.hpp>
#include <schsim/core/scenario/limits.hpp>
#include <schsim/core/scenario/validate.hpp>
#include <schsim/scenario_io/load.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <utility>
#include <variant>

#include <toml++/toml.h>

namespace schsim::scenario_io {
namespace {

namespace sc = schsim::scenario;
using std::chrono::milliseconds;

/// Sets `field` when its key was given; otherwise the model's default stays.
template <class Field, class Value>
void assign_if(Field& field, std::optional<Value> value) {
  if (value) {
    field = std::move(*value);
  }
}

auto type_name(const toml::node& n) -> std::string_view {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

auto edit_distance(std::string_view a, std::string_view b) -> std::size_t {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diag = up;
    }
  }
  return row[b.size()];
}

auto join(const std::vector<std::string>& items) -> std::string {
  std::string out;
  for (const auto& i : items) {
    out += out.empty() ? "" : ", ";
    out += i;
  }
  return out;
}

// "did you mean 'x'?" when one candidate is close, else the list of candidates.
auto suggest(std::string_view wrong, const std::vector<std::string>& candidates,
             std::string_view list_intro) -> std::string {
  const std::string* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    const auto d = edit_distance(wrong, c);
    if (best == nullptr || d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  if (best != nullptr && best_distance <= std::max<std::size_t>(2, wrong.size() / 3)) {
    return "did you mean '" + *best + "'?";
  }
  return std::string(list_intro) + join(candidates);
}

// Collects diagnostics for one file.
class context {
 public:
  explicit context(std::string file) : file_(std::move(file)) {}

  void error(const toml::source_region& where, std::string message, std::string hint = {}) {
    errors_.push_back(diagnostic{file_, where.begin.line, where.begin.column, std::move(message),
                                 std::move(hint)});
  }
  void error_at_start(std::string message, std::string hint = {}) {
    errors_.push_back(diagnostic{file_, 1, 1, std::move(message), std::move(hint)});
  }
  [[nodiscard]] auto failed() const -> bool { return !errors_.empty(); }
  auto take_errors() -> std::vector<diagnostic> { return std::move(errors_); }
  [[nodiscard]] auto file() const -> const std::string& { return file_; }

 private:
  std::string file_;
  std::vector<diagnostic> errors_;
};

/**
 * Reads one TOML table. Every key asked for is remembered, so finish() can report the keys
 * nobody asked for as unknown, with the asked-for keys as suggestions. Getters return nullopt
 * when the key is absent or has the wrong type (after recording an error).
 */
class table_reader {
 public:
  table_reader(const toml::table& t, std::string what, context& ctx)
      : table_(t), what_(std::move(what)), ctx_(ctx) {}
  table_reader(const table_reader&) = delete;
  auto operator=(const table_reader&) -> table_reader& = delete;

  [[nodiscard]] auto table() const -> const toml::table& { return table_; }
  [[nodiscard]] auto what() const -> const std::string& { return what_; }
  auto ctx() -> context& { return ctx_; }

  auto node(std::string_view key) -> const toml::node* {
    known_.emplace(key);
    return table_.get(key);
  }
  auto has(std::string_view key) -> bool { return node(key) != nullptr; }

  void error_here(std::string message, std::string hint = {}) {
    ctx_.error(table_.source(), std::move(message), std::move(hint));
  }
  void error_at(const toml::node& n, std::string message, std::string hint = {}) {
    ctx_.error(n.source(), std::move(message), std::move(hint));
  }
  // A required key is absent. If the table has a key spelled almost like it, that typo is the
  // real mistake: report it there (and not again as unknown in finish()).
  void missing(std::string_view key, std::string hint) {
    for (auto&& [k, v] : table_) {
      const std::string name(k.str());
      if (!known_.contains(name) && !typos_.contains(name) &&
          edit_distance(name, key) <= std::max<std::size_t>(2, key.size() / 4)) {
        typos_.insert(name);
        ctx_.error(k.source(), "unknown key '" + name + "' in " + what_,
                   "did you mean '" + std::string(key) + "'?");
        return;
      }
    }
    error_here(what_ + " needs '" + std::string(key) + "'", std::move(hint));
  }
  void wrong_type(std::string_view key, const toml::node& n, std::string_view expected,
                  std::string hint = {}) {
    if (hint.empty()) {
      hint = "scenarios/README.md lists every key of " + what_ + " with its type";
    }
    error_at(n,
             "'" + std::string(key) + "' must be " + std::string(expected) + ", not " +
                 std::string(type_name(n)),
             std::move(hint));
  }

  auto string(std::string_view key) -> std::optional<std::string> {
    const auto* n = node(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* s = n->as_string()) {
      return s->get();
    }
    wrong_type(key, *n, "a string");
    return std::nullopt;
  }
  auto required_string(std::string_view key, std::string hint) -> std::optional<std::string> {
    if (!has(key)) {
      missing(key, std::move(hint));
      return std::nullopt;
    }
    return string(key);
  }
  auto integer(std::string_view key) -> std::optional<std::int64_t> {
    const auto* n = node(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* i = n->as_integer()) {
      return i->get();
    }
    wrong_type(key, *n, "an integer");
    return std::nullopt;
  }
  // An integer in [lo, hi].
  auto integer_in(std::string_view key, std::int64_t lo, std::int64_t hi)
      -> std::optional<std::int64_t> {
    auto v = integer(key);
    if (v && (*v < lo || *v > hi)) {
      error_at(*node(key),
               "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                   std::to_string(hi) + ", not " + std::to_string(*v),
               "pick a value in that range");
      return std::nullopt;
    }
    return v;
  }
  auto boolean(std::string_view key) -> std::optional<bool> {
    const auto* n = node(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* b = n->as_boolean()) {
      return b->get();
    }
    wrong_type(key, *n, "true or false");
    return std::nullopt;
  }
  auto number(std::string_view key) -> std::optional<double> {
    const auto* n = node(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* f = n->as_floating_point()) {
      return f->get();
    }
    if (const auto* i = n->as_integer()) {
      return static_cast<double>(i->get());
    }
    wrong_type(key, *n, "a number");
    return std::nullopt;
  }
  auto subtable(std::string_view key) -> const toml::table* {
    const auto* n = node(key);
    if (n == nullptr) {
      return nullptr;
    }
    if (const auto* t = n->as_table()) {
      return t;
    }
    wrong_type(key, *n, "a table");
    return nullptr;
  }
  // A string or an array of strings.
  auto string_list(std::string_view key) -> std::optional<std::vector<std::string>> {
    const auto* n = node(key);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* s = n->as_string()) {
      return std::vector<std::string>{s->get()};
    }
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      wrong_type(key, *n, "an array of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : *arr) {
      if (const auto* s = item.as_string()) {
        out.push_back(s->get());
      } else {
        error_at(
            item,
            "'" + std::string(key) + "' must hold strings, not " + std::string(type_name(item)),
            "quote it: \"" + std::string(key == "shards" ? "1" : "...") + "\"");
        return std::nullopt;
      }
    }
    return out;
  }

  /**
   * A duration under `key` ("250ms", "2s"), `key_ms` (integer milliseconds) or `key_s` (integer
   * seconds); at most one of them, and at most limits::max_duration.
   */
  auto duration(std::string_view key) -> std::optional<milliseconds> {
    auto d = any_duration(key);
    if (d && *d > sc::limits::max_duration) {
      const std::string k(key);
      const auto* n = node(k) != nullptr ? node(k)
                      : node(k + "_ms")  ? node(k + "_ms")
                                         : node(k + "_s");
      error_at(*n,
               "'" + k + "' is longer than the " +
                   std::to_string(sc::limits::max_duration.count() / 60'000) +
                   " min limit for any duration",
               "durations are between 0 and 1h (scenarios/README.md, Ranges)");
      return std::nullopt;
    }
    return d;
  }

  /// A number in [lo, hi].
  auto number_in(std::string_view key, double lo, double hi) -> std::optional<double> {
    auto v = number(key);
    if (v && !(*v >= lo && *v <= hi)) {
      std::ostringstream text;
      text << "'" << key << "' must be between " << lo << " and " << hi << ", not " << *v;
      error_at(*node(key), text.str(), "scenarios/README.md, Ranges, gives every key's range");
      return std::nullopt;
    }
    return v;
  }

  /// Reads an integer in [lo, hi] into `field` (of any integer type wide enough) when present.
  template <class Field>
  void integer_into(Field& field, std::string_view key, std::int64_t lo, std::int64_t hi) {
    if (auto v = integer_in(key, lo, hi)) {
      field = static_cast<Field>(*v);
    }
  }

 private:
  auto any_duration(std::string_view key) -> std::optional<milliseconds> {
    const std::string k(key);
    const auto* text = node(k);
    const auto* ms = node(k + "_ms");
    const auto* s = node(k + "_s");
    const int given = (text != nullptr) + (ms != nullptr) + (s != nullptr);
    if (given == 0) {
      return std::nullopt;
    }
    if (given > 1) {
      const auto* second = text != nullptr ? (ms != nullptr ? ms : s) : s;
      error_at(*second,
               "'" + k + "' is given more than once (as " + k + ", " + k + "_ms or " + k + "_s)",
               "keep one of them");
      return std::nullopt;
    }
    if (text != nullptr) {
      if (const auto* str = text->as_string()) {
        if (auto d = parse_duration(str->get())) {
          return d;
        }
        error_at(*text, "'" + k + "' is not a duration: \"" + str->get() + "\"",
                 "write a non-negative number with a unit: \"250ms\", \"2s\", \"1.5s\", \"1m\"");
        return std::nullopt;
      }
      if (text->is_integer() || text->is_floating_point()) {
        std::ostringstream v;
        if (text->is_integer()) {
          v << text->as_integer()->get();
        } else {
          v << text->as_floating_point()->get();
        }
        error_at(*text, "'" + k + "' needs a unit",
                 "write " + k + " = \"" + v.str() + "s\" (or \"" + v.str() + "ms\"), or " + k +
                     "_ms = " + v.str());
        return std::nullopt;
      }
      wrong_type(k, *text, "a duration string such as \"2s\"");
      return std::nullopt;
    }
    const auto* n = ms != nullptr ? ms : s;
    const auto* i = n->as_integer();
    const std::string which = k + (ms != nullptr ? "_ms" : "_s");
    if (i == nullptr) {
      wrong_type(which, *n, "an integer", "or use " + k + " = \"1.5s\"");
      return std::nullopt;
    }
    if (i->get() < 0) {
      error_at(*n, "'" + which + "' cannot be negative", "durations are lengths of time");
      return std::nullopt;
    }
    // Longer than any run could be, and far from overflowing the nanosecond clock.
    constexpr std::int64_t max_ms = 1'000'000'000'000;
    if (i->get() > (ms != nullptr ? max_ms : max_ms / 1000)) {
      error_at(*n, "'" + which + "' is too long", "durations are at most about 30 years");
      return std::nullopt;
    }
    return ms != nullptr ? milliseconds{i->get()} : milliseconds{i->get() * 1000};
  }

 public:
  // Reports every key of the table nobody asked for.
  void finish() {
    std::vector<std::string> known(known_.begin(), known_.end());
    for (auto&& [key, value] : table_) {
      if (known_.contains(std::string(key.str())) || typos_.contains(std::string(key.str()))) {
        continue;
      }
      ctx_.error(key.source(), "unknown key '" + std::string(key.str()) + "' in " + what_,
                 suggest(key.str(), known, "allowed here: "));
    }
  }

 private:
  const toml::table& table_;
  std::string what_;
  context& ctx_;
  std::set<std::string, std::less<>> known_;
  std::set<std::string, std::less<>> typos_;
};

// Picks one of `names` (the value's spelling) for an enum.
template <class E>
auto choice(table_reader& r, std::string_view key,
            std::initializer_list<std::pair<std::string_view, E>> names) -> std::optional<E> {
  auto v = r.string(key);
  if (!v) {
    return std::nullopt;
  }
  std::vector<std::string> spelled;
  for (const auto& [name, e] : names) {
    if (*v == name) {
      return e;
    }
    spelled.emplace_back(name);
  }
  r.error_at(*r.node(key), "'" + std::string(key) + "' cannot be \"" + *v + "\"",
             suggest(*v, spelled, "use one of: "));
  return std::nullopt;
}

auto read_dialect(table_reader& r, std::string_view key) -> std::optional<maint::dialect> {
  auto names = r.string_list(key);
  if (!names) {
    return std::nullopt;
  }
  maint::dialect d;
  for (const auto& n : *names) {
    if (n == "canonical") {
      continue;
    }
    if (!maint::apply_dialect_flag(d, n)) {
      std::vector<std::string> known;
      for (auto f : maint::dialect_flag_names()) {
        known.emplace_back(f);
      }
      r.error_at(*r.node(key), "unknown dialect \"" + n + "\"", suggest(n, known, "known: "));
      return std::nullopt;
    }
  }
  return d;
}

// A slot set under `key` ("0-8191,9000"); the error points at the value, naming the item that
// does not parse.
auto read_slot_set(table_reader& r, std::string_view key) -> std::optional<cluster::slot_set> {
  const auto* n = r.node(key);
  if (n == nullptr) {
    return std::nullopt;
  }
  std::string text;
  if (const auto* str = n->as_string()) {
    text = str->get();
  } else if (const auto* i = n->as_integer()) {
    text = std::to_string(i->get());
  } else {
    r.wrong_type(key, *n, "a slot list string such as \"0-8191\"");
    return std::nullopt;
  }
  auto parsed = cluster::parse_slot_set(text);
  if (const auto* err = std::get_if<cluster::slot_parse_error>(&parsed)) {
    r.error_at(*n,
               "bad slot list \"" + text + "\": " + err->message + " (at character " +
                   std::to_string(err->offset + 1) + ")",
               "comma-separated slots and a-b ranges between 0 and 16383, e.g. \"0-8191\"");
    return std::nullopt;
  }
  return std::get<cluster::slot_set>(std::move(parsed));
}

// ---------------------------------------------------------------------------------------------
// Sections

/// A string key that must be given, read into a member.
template <class T>
struct required_string {
  std::string T::*into;
  std::string_view hint;  ///< what to add, e.g. name = "node-a"
};
/// A number key read into a member when given, and refused outside [lo, hi].
template <class T>
struct number_between {
  double T::*into;
  double lo;
  double hi;
};
/// A key that needs more than a plain read (a choice, a range, a nested table).
template <class T>
using custom_read = void (*)(table_reader&, T&);

/**
 * One key of a section and how it is read into `T`: plain keys go into a member of their type
 * when given (absent keys keep the model's default). Each section lists its keys in one table,
 * in the order they are read: the order decides which of several mistakes is reported first.
 */
template <class T>
struct section_key {
  std::string_view key;
  std::variant<std::string T::*, bool T::*, std::vector<std::string> T::*, milliseconds T::*,
               std::optional<milliseconds> T::*, required_string<T>, number_between<T>,
               custom_read<T>>
      read;
};

template <class T>
void read_keys(table_reader& r, T& into, std::span<const section_key<T>> keys) {
  for (const auto& [key, read] : keys) {
    std::visit(overloaded{
                   [&, key = key](std::string T::*m) { assign_if(into.*m, r.string(key)); },
                   [&, key = key](bool T::*m) { assign_if(into.*m, r.boolean(key)); },
                   [&, key = key](std::vector<std::string> T::*m) {
                     assign_if(into.*m, r.string_list(key));
                   },
                   [&, key = key](milliseconds T::*m) { assign_if(into.*m, r.duration(key)); },
                   [&, key = key](std::optional<milliseconds> T::*m) {
                     assign_if(into.*m, r.duration(key));
                   },
                   [&, key = key](const required_string<T>& k) {
                     assign_if(into.*k.into, r.required_string(key, std::string(k.hint)));
                   },
                   [&, key = key](const number_between<T>& k) {
                     assign_if(into.*k.into, r.number_in(key, k.lo, k.hi));
                   },
                   [&](custom_read<T> f) { f(r, into); },
               },
               read);
  }
}

constexpr std::array<section_key<sc::metadata>, 5> metadata_keys{{
    {"id",
     required_string<sc::metadata>{&sc::metadata::id, R"(add id = "my-scenario" (kebab-case))"}},
    {"title", required_string<sc::metadata>{&sc::metadata::title,
                                            R"(add title = "one line shown by schsim list")"}},
    {"description", &sc::metadata::description},
    {"tags", &sc::metadata::tags},
    {"suite_version", &sc::metadata::suite_version},
}};

void read_metadata(context& ctx, const toml::table& root, sc::scenario& s) {
  const auto* n = root.get("scenario");
  if (n == nullptr || !n->is_table()) {
    if (n == nullptr) {
      ctx.error_at_start("missing [scenario] table",
                         "start the file with [scenario] and its id, title and duration");
    } else {
      ctx.error(n->source(), "'scenario' must be a table", "write it as [scenario]");
    }
    return;
  }
  table_reader r(*n->as_table(), "[scenario]", ctx);
  read_keys<sc::metadata>(r, s.meta, metadata_keys);
  assign_if(s.duration, r.duration("duration"));
  if (auto v = r.integer("seed")) {
    if (*v < 0) {
      r.error_at(*r.node("seed"), "the seed cannot be negative",
                 "use the seed schsim printed, or omit it to draw one");
    } else {
      s.seed = static_cast<std::uint64_t>(*v);
    }
  }
  assign_if(s.seq_start, r.integer("seq_start"));
  if (auto d = read_dialect(r, "dialect")) {
    s.dialect = *d;
  }
  r.finish();
}

void read_endpoint_tls(table_reader& r, sc::endpoint& e) {
  assign_if(e.tls, r.boolean("tls"));
  assign_if(e.tls_only, r.boolean("tls_only"));
  assign_if(e.tls_client_auth, r.boolean("tls_client_auth"));
  assign_if(e.tls_cert_names, r.string_list("tls_cert_names"));
  if (e.tls) {
    return;
  }
  for (const char* key : {"tls_only", "tls_client_auth", "tls_cert_names"}) {
    if (const auto* n = r.node(key)) {
      r.error_at(*n, std::string(key) + " needs a TLS endpoint",
                 "add tls = true to this endpoint (or to [topology])");
    }
  }
}

constexpr std::array<section_key<sc::user>, 2> user_keys{{
    {"name", required_string<sc::user>{&sc::user::name, R"(add name = "app")"}},
    {"password", &sc::user::password},
}};

void read_users(table_reader& r, sc::endpoint& e) {
  const auto* users = r.node("users");
  if (users == nullptr) {
    return;
  }
  const auto* arr = users->as_array();
  if (arr == nullptr) {
    r.wrong_type("users", *users, "an array of { name, password } tables");
    return;
  }
  for (const auto& u : *arr) {
    const auto* t = u.as_table();
    if (t == nullptr) {
      r.error_at(u, "each user must be a table", "write { name = \"app\", password = \"pw\" }");
      continue;
    }
    table_reader ur(*t, "user", r.ctx());
    sc::user user;
    read_keys<sc::user>(ur, user, user_keys);
    ur.finish();
    e.users.push_back(std::move(user));
  }
}

constexpr std::array<section_key<sc::endpoint>, 13> endpoint_keys{{
    {"name", required_string<sc::endpoint>{&sc::endpoint::name, R"(add name = "node-a")"}},
    {"host", &sc::endpoint::host},
    {"fqdn", &sc::endpoint::fqdn},
    {"port", [](table_reader& r, sc::endpoint& e) { r.integer_into(e.port, "port", 0, 65535); }},
    {"same_port_as", &sc::endpoint::same_port_as},
    {"sch", &sc::endpoint::sch},
    {"resp3", &sc::endpoint::resp3},
    {"requirepass", &sc::endpoint::requirepass},
    {"users", read_users},
    {"server_version", &sc::endpoint::server_version},
    {"state",
     [](table_reader& r, sc::endpoint& e) {
       assign_if(e.initial_state,
                 choice<sc::endpoint_state>(r, "state",
                                            {{"up", sc::endpoint_state::up},
                                             {"down", sc::endpoint_state::down},
                                             {"not_accepting", sc::endpoint_state::not_accepting},
                                             {"blackhole", sc::endpoint_state::blackhole}}));
     }},
    {"shards", &sc::endpoint::shards},
    {"slots",
     [](table_reader& r, sc::endpoint& e) { assign_if(e.slots, read_slot_set(r, "slots")); }},
}};

void read_endpoint(table_reader& r, sc::endpoint& e) {
  read_keys<sc::endpoint>(r, e, endpoint_keys);
  read_endpoint_tls(r, e);
  r.finish();
}

void read_topology(context& ctx, const toml::table& root, sc::scenario& s) {
  const auto* n = root.get("topology");
  if (n == nullptr) {
    ctx.error_at_start("missing [topology] table",
                       "add [topology] with start = \"node-a\" and a [[topology.endpoint]]");
    return;
  }
  const auto* t = n->as_table();
  if (t == nullptr) {
    ctx.error(n->source(), "'topology' must be a table", "write it as [topology]");
    return;
  }
  table_reader r(*t, "[topology]", ctx);
  assign_if(s.topo.start, r.string("start"));
  assign_if(s.topo.cluster, r.boolean("cluster"));
  // tls = true here is every endpoint's default; an endpoint's own tls overrides it.
  bool all_tls = false;
  assign_if(all_tls, r.boolean("tls"));
  if (const auto* eps = r.node("endpoint")) {
    const auto* arr = eps->as_array();
    if (arr == nullptr) {
      r.wrong_type("endpoint", *eps, "an array of tables", "write each as [[topology.endpoint]]");
    } else {
      for (const auto& item : *arr) {
        const auto* et = item.as_table();
        if (et == nullptr) {
          r.error_at(item, "each endpoint must be a table", "write [[topology.endpoint]]");
          continue;
        }
        table_reader er(*et, "[[topology.endpoint]]", ctx);
        sc::endpoint e;
        e.tls = all_tls;
        read_endpoint(er, e);
        s.topo.endpoints.push_back(std::move(e));
      }
    }
  }
  if (s.topo.start.empty() && !s.topo.endpoints.empty() && !r.has("start")) {
    s.topo.start = s.topo.endpoints.front().name;
  }
  r.finish();
}

constexpr std::array<section_key<sc::client_settings>, 9> client_keys{{
    {"mode",
     [](table_reader& r, sc::client_settings& c) {
       assign_if(c.mode, choice<sc::sch_mode>(r, "mode",
                                              {{"auto", sc::sch_mode::automatic},
                                               {"enabled", sc::sch_mode::enabled},
                                               {"disabled", sc::sch_mode::disabled}}));
     }},
    {"endpoint_type",
     [](table_reader& r, sc::client_settings& c) {
       assign_if(c.moving_endpoint_type,
                 choice<sc::endpoint_type>(r, "endpoint_type",
                                           {{"auto", sc::endpoint_type::automatic},
                                            {"internal-ip", sc::endpoint_type::internal_ip},
                                            {"internal-fqdn", sc::endpoint_type::internal_fqdn},
                                            {"external-ip", sc::endpoint_type::external_ip},
                                            {"external-fqdn", sc::endpoint_type::external_fqdn},
                                            {"none", sc::endpoint_type::none}}));
     }},
    {"protocol",
     [](table_reader& r, sc::client_settings& c) { r.integer_into(c.protocol, "protocol", 2, 3); }},
    {"timeout", &sc::client_settings::timeout},
    {"relaxed_timeout",
     [](table_reader& r, sc::client_settings& c) {
       // "disabled" turns relaxation off (redis-py's relaxed_timeout = -1).
       if (const auto* n = r.node("relaxed_timeout");
           n && n->is_string() && n->as_string()->get() == "disabled") {
         c.relaxed_timeout.reset();
       } else if (auto v = r.duration("relaxed_timeout")) {
         c.relaxed_timeout = *v;
       }
     }},
    {"post_handoff_relaxed", &sc::client_settings::post_handoff_relaxed},
    {"user", &sc::client_settings::user},
    {"password", &sc::client_settings::password},
    {"pool_size",
     [](table_reader& r, sc::client_settings& c) {
       r.integer_into(c.pool_size, "pool_size", 1, sc::limits::max_pool_size);
     }},
}};

void read_client(context& ctx, const toml::table& t, sc::client_settings& c) {
  table_reader r(t, "[client]", ctx);
  read_keys<sc::client_settings>(r, c, client_keys);
  r.finish();
}

void read_mix(table_reader& r, sc::workload& w) {
  const auto* mix = r.subtable("mix");
  if (mix == nullptr) {
    return;
  }
  w.mix.clear();
  for (auto&& [key, value] : *mix) {
    const auto* i = value.as_integer();
    if (i == nullptr || i->get() < 0 || i->get() > sc::limits::max_weight) {
      r.ctx().error(value.source(),
                    "the weight of '" + std::string(key.str()) +
                        "' must be a whole number between 0 and " +
                        std::to_string(sc::limits::max_weight),
                    "e.g. mix = { set = 1, get = 3 }");
      continue;
    }
    w.mix.push_back(
        sc::command_weight{std::string(key.str()), static_cast<std::uint32_t>(i->get())});
  }
}

constexpr std::array<section_key<sc::latency_probe>, 2> probe_keys{{
    {"interval", &sc::latency_probe::interval},
    {"command", &sc::latency_probe::command},
}};

void read_probe(table_reader& r, sc::workload& w) {
  if (const auto* probe = r.subtable("probe")) {
    table_reader pr(*probe, "workload.probe", r.ctx());
    sc::latency_probe p;
    read_keys<sc::latency_probe>(pr, p, probe_keys);
    pr.finish();
    w.probe = p;
  }
}

constexpr std::array<section_key<sc::pubsub_workload>, 3> pubsub_keys{{
    {"channels",
     [](table_reader& r, sc::pubsub_workload& p) {
       r.integer_into(p.channels, "channels", 1, sc::limits::max_pubsub_channels);
     }},
    {"rate",
     number_between<sc::pubsub_workload>{&sc::pubsub_workload::rate, 0, sc::limits::max_rate}},
    {"kind",
     [](table_reader& r, sc::pubsub_workload& p) {
       assign_if(p.kind, choice<sc::subscribe_kind>(r, "kind",
                                                    {{"channel", sc::subscribe_kind::channel},
                                                     {"pattern", sc::subscribe_kind::pattern},
                                                     {"shard", sc::subscribe_kind::shard}}));
     }},
}};

void read_pubsub(table_reader& r, sc::workload& w) {
  if (const auto* table = r.subtable("pubsub")) {
    table_reader pr(*table, "workload.pubsub", r.ctx());
    sc::pubsub_workload p;
    read_keys<sc::pubsub_workload>(pr, p, pubsub_keys);
    pr.finish();
    w.pubsub = p;
  }
}

constexpr std::array<section_key<sc::blocking_workload>, 4> blocking_keys{{
    {"keys",
     [](table_reader& r, sc::blocking_workload& b) {
       r.integer_into(b.keys, "keys", 1, sc::limits::max_blocking_keys);
     }},
    {"rate",
     number_between<sc::blocking_workload>{&sc::blocking_workload::rate, 0, sc::limits::max_rate}},
    {"timeout", number_between<sc::blocking_workload>{&sc::blocking_workload::timeout, 0,
                                                      sc::limits::max_blocking_timeout_s}},
    {"command",
     [](table_reader& r, sc::blocking_workload& b) {
       assign_if(b.command, choice<sc::blocking_command>(r, "command",
                                                         {{"blpop", sc::blocking_command::blpop},
                                                          {"brpop", sc::blocking_command::brpop}}));
     }},
}};

void read_blocking(table_reader& r, sc::workload& w) {
  if (const auto* table = r.subtable("blocking")) {
    table_reader br(*table, "workload.blocking", r.ctx());
    sc::blocking_workload b;
    read_keys<sc::blocking_workload>(br, b, blocking_keys);
    br.finish();
    w.blocking = b;
  }
}

constexpr std::array<section_key<sc::transactions_workload>, 3> transactions_keys{{
    {"rate", number_between<sc::transactions_workload>{&sc::transactions_workload::rate, 0,
                                                       sc::limits::max_rate}},
    {"size",
     [](table_reader& r, sc::transactions_workload& t) {
       r.integer_into(t.size, "size", 1, sc::limits::max_transaction_size);
     }},
    {"watch", &sc::transactions_workload::watch},
}};

void read_transactions(table_reader& r, sc::workload& w) {
  if (const auto* table = r.subtable("transactions")) {
    table_reader tr(*table, "workload.transactions", r.ctx());
    sc::transactions_workload t;
    read_keys<sc::transactions_workload>(tr, t, transactions_keys);
    tr.finish();
    w.transactions = t;
  }
}

constexpr std::array<section_key<sc::workload>, 10> workload_keys{{
    {"rate", number_between<sc::workload>{&sc::workload::rate, 0, sc::limits::max_rate}},
    {"duration", &sc::workload::duration},
    {"mix", read_mix},
    {"keys", [](table_reader& r,
                sc::workload& w) { r.integer_into(w.keys, "keys", 1, sc::limits::max_keys); }},
    {"key_prefix", &sc::workload::key_prefix},
    {"value_size",
     [](table_reader& r, sc::workload& w) {
       r.integer_into(w.value_size, "value_size", 0, sc::limits::max_value_size);
     }},
    {"probe", read_probe},
    {"pubsub", read_pubsub},
    {"blocking", read_blocking},
    {"transactions", read_transactions},
}};

void read_workload(context& ctx, const toml::table& t, sc::workload& w) {
  table_reader r(t, "[workload]", ctx);
  read_keys<sc::workload>(r, w, workload_keys);
  r.finish();
}

void read_reconnects(table_reader& r, sc::expectations& x) {
  if (const auto* band = r.subtable("reconnects")) {
    table_reader br(*band, "expect.reconnects", r.ctx());
    sc::count_band b;
    br.integer_into(b.min, "min", 0, sc::limits::max_count);
    if (br.has("max")) {
      br.integer_into(b.max.emplace(), "max", 0, sc::limits::max_count);
    }
    br.finish();
    x.reconnects = b;
  }
}

constexpr std::array<section_key<sc::expectations>, 12> expect_keys{{
    {"checks", &sc::expectations::checks},
    {"handshake",
     [](table_reader& r, sc::expectations& x) {
       assign_if(x.handshake,
                 choice<sc::handshake_outcome>(r, "handshake",
                                               {{"any", sc::handshake_outcome::any},
                                                {"accepted", sc::handshake_outcome::accepted},
                                                {"rejected", sc::handshake_outcome::rejected},
                                                {"not_sent", sc::handshake_outcome::not_sent}}));
     }},
    {"connect",
     [](table_reader& r, sc::expectations& x) {
       assign_if(x.connect,
                 choice<sc::connect_outcome>(r, "connect",
                                             {{"any", sc::connect_outcome::any},
                                              {"succeeds", sc::connect_outcome::succeeds},
                                              {"fails", sc::connect_outcome::fails}}));
     }},
    {"handoff_within", &sc::expectations::handoff_within},
    {"topology_refresh_within", &sc::expectations::topology_refresh_within},
    {"resubscribe_within", &sc::expectations::resubscribe_within},
    {"timeout_tolerance",
     number_between<sc::expectations>{&sc::expectations::timeout_tolerance, 0, 1}},
    {"max_latency", &sc::expectations::max_latency},
    {"max_error_rate", number_between<sc::expectations>{&sc::expectations::max_error_rate, 0, 1}},
    {"reconnects", read_reconnects},
    {"final_endpoint", &sc::expectations::final_endpoint},
    {"client_may_exit", &sc::expectations::client_may_exit},
}};

void read_expect(context& ctx, const toml::table& t, sc::expectations& x) {
  table_reader r(t, "[expect]", ctx);
  read_keys<sc::expectations>(r, x, expect_keys);
  r.finish();
}

// ---------------------------------------------------------------------------------------------
// Steps

struct step_ctx {
  table_reader& r;
  const sc::scenario& s;
};

auto read_target(step_ctx& c, sc::opt_in_filter default_filter) -> sc::target {
  sc::target t;
  t.filter = default_filter;
  const auto* n = c.r.node("to");
  if (n == nullptr) {
    return t;
  }
  if (const auto* str = n->as_string()) {
    const auto& v = str->get();
    if (v == "all") {
      t.scope = sc::target_scope::all;
    } else if (v == "new") {
      t.scope = sc::target_scope::new_connections;
    } else {
      t.scope = sc::target_scope::endpoint;
      t.endpoint = v;
    }
    return t;
  }
  const auto* tbl = n->as_table();
  if (tbl == nullptr) {
    c.r.wrong_type("to", *n, "\"all\", \"new\", an endpoint name or a table",
                   "e.g. to = \"node-a\" or to = { connection = 1 }");
    return t;
  }
  table_reader tr(*tbl, "'to'", c.r.ctx());
  if (auto v = tr.string("endpoint")) {
    t.endpoint = *v;
    t.scope = sc::target_scope::endpoint;
  }
  if (const auto* conn = tr.node("connection")) {
    t.scope = sc::target_scope::connection;
    if (const auto* i = conn->as_integer()) {
      if (i->get() < 0 || i->get() > sc::limits::max_count) {
        tr.error_at(
            *conn,
            "connection number out of range (0 to " + std::to_string(sc::limits::max_count) + ")",
            "connection = 1 is the first one");
      } else {
        t.ordinal = static_cast<std::uint32_t>(i->get());
      }
    } else if (const auto* s = conn->as_string(); s && s->get() == "last") {
      t.pick = sc::connection_pick::last;
    } else if (s && s->get() == "random") {
      t.pick = sc::connection_pick::random;
    } else {
      tr.error_at(*conn, "'connection' must be a number, \"last\" or \"random\"",
                  "connection = 1 is the first connection opened");
    }
  }
  if (auto v = tr.boolean("new"); v && *v) {
    if (t.scope == sc::target_scope::connection) {
      tr.error_at(*tr.node("new"), "'new' and 'connection' cannot be combined",
                  "new = true targets connections opened later; drop one of the keys");
    }
    t.scope = sc::target_scope::new_connections;
  }
  if (auto v = tr.boolean("opted_in")) {
    t.filter = *v ? sc::opt_in_filter::opted_in : sc::opt_in_filter::any;
  }
  assign_if(t.opened_before, tr.string("opened_before"));
  tr.finish();
  return t;
}

// Default shard ids: the target endpoint's, else the start endpoint's.
auto default_shards(const step_ctx& c, const std::string& endpoint) -> std::vector<std::string> {
  const auto* e = c.s.topo.find(endpoint.empty() ? c.s.topo.start : endpoint);
  return e != nullptr ? e->shards : std::vector<std::string>{"1"};
}

auto read_shards(step_ctx& c, const std::string& endpoint) -> std::vector<std::string> {
  if (auto v = c.r.string_list("shards")) {
    return *v;
  }
  return default_shards(c, endpoint);
}

enum class presence { required, optional };

auto read_time_s(step_ctx& c, std::string_view key, presence need, std::int64_t fallback)
    -> std::int64_t {
  const auto* n = c.r.node(key);
  if (n == nullptr) {
    if (need == presence::required) {
      c.r.missing(key, "give the time in whole seconds, e.g. " + std::string(key) + " = 4");
    }
    return fallback;
  }
  if (const auto* i = n->as_integer()) {
    if (i->get() < 0 || i->get() > sc::limits::max_notification_time_s) {
      c.r.error_at(*n,
                   "'" + std::string(key) + "' must be between 0 and " +
                       std::to_string(sc::limits::max_notification_time_s) + " seconds, not " +
                       std::to_string(i->get()),
                   "scenarios/README.md, Ranges, gives every key's range");
      return fallback;
    }
    return i->get();
  }
  c.r.error_at(*n, "'" + std::string(key) + "' is whole seconds (what goes on the wire)",
               "write " + std::string(key) + " = 4, not a string");
  return fallback;
}

auto read_slots(step_ctx& c, std::string_view key, const toml::node* n)
    -> std::vector<maint::slot_range> {
  std::string text;
  if (const auto* s = n->as_string()) {
    text = s->get();
  } else if (const auto* i = n->as_integer()) {
    text = std::to_string(i->get());
  } else {
    c.r.error_at(*n, "'" + std::string(key) + "' must be a slot list string",
                 "e.g. \"0-8191\" or \"123,789-1000\"");
    return {};
  }
  auto slots = maint::parse_slot_list(text);
  if (!slots) {
    c.r.error_at(*n, "bad slot list \"" + text + "\"",
                 "comma-separated slots and a-b ranges between 0 and 16383, e.g. \"0-8191\"");
    return {};
  }
  return *slots;
}

// `notification`: the kind of push a send step writes.
auto read_notification_kind(step_ctx& c) -> std::optional<maint::kind> {
  const auto kind_name =
      c.r.required_string("notification",
                          "name the notification: moving, migrating, migrated, failing_over, "
                          "failed_over, smigrating or smigrated");
  if (!kind_name) {
    return std::nullopt;
  }
  const auto kind = maint::parse_kind(*kind_name);
  if (!kind) {
    std::vector<std::string> known;
    for (auto k : {maint::kind::moving, maint::kind::migrating, maint::kind::migrated,
                   maint::kind::failing_over, maint::kind::failed_over, maint::kind::smigrating,
                   maint::kind::smigrated}) {
      known.emplace_back(maint::to_string(k));
    }
    c.r.error_at(*c.r.node("notification"), "unknown notification \"" + *kind_name + "\"",
                 suggest(*kind_name, known, "use one of: ") +
                     " (anything else can be sent with action = \"raw\")");
  }
  return kind;
}

auto read_moving(step_ctx& c) -> maint::moving {
  maint::moving m;
  m.time_s = read_time_s(c, "time", presence::required, 0);
  if (auto e = c.r.required_string(
          "endpoint", "name the new endpoint, give \"host:port\", or \"none\" for null")) {
    if (*e != "none") {
      m.endpoint = *e;
    }
  }
  return m;
}

// `slots` of a SMIGRATING or of a SMIGRATED entry, which both require it.
auto read_push_slots(step_ctx& c) -> std::vector<maint::slot_range> {
  if (const auto* n = c.r.node("slots")) {
    return read_slots(c, "slots", n);
  }
  c.r.missing("slots", "e.g. slots = \"0-8191\"");
  return {};
}

auto read_smigrated_entry(step_ctx& c, const toml::table& t) -> maint::smigrated_entry {
  table_reader er(t, "SMIGRATED entry", c.r.ctx());
  step_ctx ec{er, c.s};
  maint::smigrated_entry e;
  e.source = er.required_string("source", "endpoint name or host:port").value_or("");
  e.destination = er.required_string("destination", "endpoint name or host:port").value_or("");
  e.slots = read_push_slots(ec);
  er.finish();
  return e;
}

auto read_smigrated(step_ctx& c) -> maint::smigrated {
  maint::smigrated m;
  const auto* n = c.r.node("entries");
  const auto* arr = n != nullptr ? n->as_array() : nullptr;
  if (n == nullptr) {
    c.r.missing("entries",
                "e.g. entries = [{ source = \"node-a\", destination = "
                "\"node-b\", slots = \"0-8191\" }]");
  } else if (arr == nullptr) {
    c.r.wrong_type("entries", *n, "an array of { source, destination, slots } tables");
  } else {
    for (const auto& item : *arr) {
      if (const auto* t = item.as_table()) {
        m.entries.push_back(read_smigrated_entry(c, *t));
      } else {
        c.r.error_at(item, "each entry must be a table",
                     "{ source = \"node-a\", destination = \"node-b\", slots = \"0-8191\" }");
      }
    }
  }
  return m;
}

// The keys of the notification `kind` sent to `to`.
auto read_notification(step_ctx& c, maint::kind kind, const std::string& to)
    -> maint::notification {
  switch (kind) {
    case maint::kind::moving:
      return read_moving(c);
    case maint::kind::migrating:
      return maint::migrating{.time_s = read_time_s(c, "time", presence::required, 0),
                              .shard_ids = read_shards(c, to)};
    case maint::kind::migrated:
      return maint::migrated{.shard_ids = read_shards(c, to)};
    case maint::kind::failing_over:
      return maint::failing_over{.time_s = read_time_s(c, "time", presence::required, 0),
                                 .shard_ids = read_shards(c, to)};
    case maint::kind::failed_over:
      return maint::failed_over{.shard_ids = read_shards(c, to)};
    case maint::kind::smigrating:
      return maint::smigrating{.slots = read_push_slots(c)};
    case maint::kind::smigrated:
      return read_smigrated(c);
  }
  return {};
}

auto read_send(step_ctx& c) -> std::optional<sc::action> {
  sc::send_action a;
  a.to = read_target(c, sc::opt_in_filter::opted_in);
  const auto kind = read_notification_kind(c);
  if (!kind) {
    return std::nullopt;
  }
  a.notification = read_notification(c, *kind, a.to.endpoint);
  assign_if(a.seq, c.r.integer("seq"));
  assign_if(a.same_seq_as, c.r.string("same_seq_as"));
  if (auto v = c.r.boolean("replay")) {
    a.replay = *v ? sc::replay_policy::always : sc::replay_policy::never;
  }
  assign_if(a.active_for, c.r.duration("active_for"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

auto read_raw(step_ctx& c) -> std::optional<sc::action> {
  sc::raw_action a;
  a.to = read_target(c, sc::opt_in_filter::any);
  const auto bytes = c.r.string("bytes");
  const auto hex = c.r.string("hex");
  if (bytes && hex) {
    c.r.error_at(*c.r.node("hex"), "give either 'bytes' or 'hex', not both", "drop one of them");
    return std::nullopt;
  }
  if (bytes) {
    a.bytes = *bytes;
  } else if (hex) {
    std::string digits;
    for (char ch : *hex) {
      if (ch != ' ' && ch != ':') {
        digits += ch;
      }
    }
    if (digits.size() % 2 != 0) {
      c.r.error_at(*c.r.node("hex"), "odd number of hex digits", "two digits per byte: \"3e 34\"");
      return std::nullopt;
    }
    for (std::size_t i = 0; i < digits.size(); i += 2) {
      unsigned value = 0;
      const auto [p, ec] = std::from_chars(digits.data() + i, digits.data() + i + 2, value, 16);
      if (ec != std::errc{} || p != digits.data() + i + 2) {
        c.r.error_at(*c.r.node("hex"), "'hex' has a character that is not a hex digit",
                     "write bytes as pairs of 0-9a-f, optionally separated by spaces");
        return std::nullopt;
      }
      a.bytes += static_cast<char>(value);
    }
  } else {
    c.r.missing("bytes",
                "bytes = \">2\\r\\n$7\\r\\nmessage\\r\\n...\" (TOML escapes) or hex = "
                "\"3e 32 0d 0a\"");
    return std::nullopt;
  }
  return a;
}

auto read_endpoint_key(step_ctx& c, std::string_view key = "endpoint") -> std::string {
  return c.r.required_string(key, "name one of the topology's endpoints").value_or("");
}

auto read_latency(step_ctx& c) -> std::optional<sc::action> {
  sc::latency_action a;
  a.endpoint = read_endpoint_key(c);
  if (auto v = c.r.duration("delay")) {
    a.delay = *v;
  } else {
    c.r.missing("delay", "how much to delay each reply, e.g. delay = \"200ms\"");
  }
  a.window = c.r.duration("window");
  return a;
}

auto read_stall(step_ctx& c) -> std::optional<sc::action> {
  sc::stall_action a;
  a.endpoint = read_endpoint_key(c);
  a.window = c.r.duration("window");
  return a;
}

auto read_release(step_ctx& c) -> std::optional<sc::action> {
  return sc::release_action{read_endpoint_key(c)};
}

auto read_fragment(step_ctx& c) -> std::optional<sc::action> {
  sc::fragment_action a;
  a.endpoint = read_endpoint_key(c);
  c.r.integer_into(a.chunk_bytes, "chunk", 0, sc::limits::max_chunk_bytes);
  assign_if(a.pause, c.r.duration("pause"));
  a.window = c.r.duration("window");
  return a;
}

auto read_close_how(step_ctx& c, std::string_view key) -> std::optional<sc::close_mode> {
  return choice<sc::close_mode>(c.r, key,
                                {{"fin", sc::close_mode::fin}, {"rst", sc::close_mode::rst}});
}

auto read_close(step_ctx& c) -> std::optional<sc::action> {
  sc::close_action a;
  a.to = read_target(c, sc::opt_in_filter::any);
  assign_if(a.how, read_close_how(c, "how"));
  assign_if(a.point, choice<sc::close_point>(c.r, "point",
                                             {{"between_frames", sc::close_point::between_frames},
                                              {"mid_frame", sc::close_point::mid_frame}}));
  assign_if(a.reason, c.r.string("reason"));
  return a;
}

template <sc::endpoint_state State>
auto read_accept(step_ctx& c) -> std::optional<sc::action> {
  return sc::accept_action{read_endpoint_key(c), State};
}

auto read_clear_active(step_ctx& c) -> std::optional<sc::action> {
  sc::clear_active_action a;
  if (auto v = c.r.string("notification")) {
    a.kind = maint::parse_kind(*v);
    if (!a.kind) {
      c.r.error_at(*c.r.node("notification"), "unknown notification \"" + *v + "\"",
                   "e.g. \"moving\"; omit it to clear every active notification");
      return std::nullopt;
    }
  }
  assign_if(a.endpoint, c.r.string("endpoint"));
  return a;
}

auto read_moving_lifecycle_with(step_ctx& c, std::int64_t default_time)
    -> std::optional<sc::action> {
  sc::moving_lifecycle_action a;
  a.from = read_endpoint_key(c, "from");
  if (auto to = c.r.required_string(
          "to", "name the endpoint to move to, or \"none\" for a null MOVING endpoint")) {
    if (*to != "none") {
      a.to = *to;
    }
  }
  a.time_s = read_time_s(c, "time", presence::optional, default_time);
  assign_if(a.late_close, c.r.duration("late_close"));
  assign_if(a.close_how, read_close_how(c, "close_how"));
  assign_if(a.retire_old, c.r.boolean("retire_old"));
  assign_if(a.seq, c.r.integer("seq"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

auto read_moving_lifecycle(step_ctx& c) -> std::optional<sc::action> {
  return read_moving_lifecycle_with(c, 4);
}

// The fault injector's `bind` announces a 5 s grace (go-redis's proxy FI).
auto read_bind(step_ctx& c) -> std::optional<sc::action> {
  return read_moving_lifecycle_with(c, 5);
}

auto read_rolling_upgrade(step_ctx& c) -> std::optional<sc::action> {
  sc::rolling_upgrade_action a;
  a.from = read_endpoint_key(c, "from");
  a.to = read_endpoint_key(c, "to");
  assign_if(a.shards, c.r.string_list("shards"));
  a.migrating_time_s = read_time_s(c, "migrating_time", presence::optional, a.migrating_time_s);
  assign_if(a.migrate_for, c.r.duration("migrate_for"));
  assign_if(a.latency, c.r.duration("latency"));
  a.moving_time_s = read_time_s(c, "moving_time", presence::optional, a.moving_time_s);
  assign_if(a.late_close, c.r.duration("late_close"));
  assign_if(a.close_how, read_close_how(c, "close_how"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

auto read_maintenance_mode(step_ctx& c) -> std::optional<sc::action> {
  sc::maintenance_mode_action a;
  a.from = read_endpoint_key(c, "from");
  a.to = read_endpoint_key(c, "to");
  assign_if(a.shards, c.r.string_list("shards"));
  a.time_s = read_time_s(c, "time", presence::optional, a.time_s);
  assign_if(a.failover_for, c.r.duration("failover_for"));
  assign_if(a.migrate_for, c.r.duration("migrate_for"));
  assign_if(a.latency, c.r.duration("latency"));
  a.moving_time_s = read_time_s(c, "moving_time", presence::optional, a.moving_time_s);
  assign_if(a.late_close, c.r.duration("late_close"));
  assign_if(a.close_how, read_close_how(c, "close_how"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

auto read_in_place_upgrade(step_ctx& c) -> std::optional<sc::action> {
  sc::in_place_upgrade_action a;
  a.endpoint = read_endpoint_key(c);
  assign_if(a.shards, c.r.string_list("shards"));
  assign_if(a.opener, choice<maint::kind>(c.r, "notification",
                                          {{"migrating", maint::kind::migrating},
                                           {"failing_over", maint::kind::failing_over}}));
  a.time_s = read_time_s(c, "time", presence::optional, a.time_s);
  assign_if(a.restart_after, c.r.duration("restart_after"));
  assign_if(a.downtime, c.r.duration("downtime"));
  assign_if(a.window, c.r.duration("window"));
  assign_if(a.latency, c.r.duration("latency"));
  assign_if(a.close_how, read_close_how(c, "close_how"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

template <class A>
auto read_window_pair(step_ctx& c) -> std::optional<sc::action> {
  A a;
  a.endpoint = read_endpoint_key(c);
  assign_if(a.shards, c.r.string_list("shards"));
  a.time_s = read_time_s(c, "time", presence::optional, a.time_s);
  assign_if(a.duration, c.r.duration("duration"));
  assign_if(a.latency, c.r.duration("latency"));
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
  return a;
}

// -- cluster actions ---------------------------------------------------------------------------

auto read_required_slots(table_reader& r) -> cluster::slot_set {
  if (!r.has("slots")) {
    r.missing("slots", "e.g. slots = \"0-4095\"");
    return {};
  }
  return read_slot_set(r, "slots").value_or(cluster::slot_set{});
}

auto read_node_list(step_ctx& c, std::string_view key) -> std::vector<std::string> {
  if (!c.r.has(key)) {
    c.r.missing(key, "e.g. " + std::string(key) + " = [\"node-b\", \"node-c\"]");
    return {};
  }
  return c.r.string_list(key).value_or(std::vector<std::string>{});
}

auto read_smigrated_to(step_ctx& c) -> sc::smigrated_scope {
  return choice<sc::smigrated_scope>(
             c.r, "smigrated_to",
             {{"source", sc::smigrated_scope::source}, {"all", sc::smigrated_scope::all}})
      .value_or(sc::smigrated_scope::source);
}

auto read_begin_slot_migration(step_ctx& c) -> std::optional<sc::action> {
  sc::begin_slot_migration_action a;
  a.from = read_endpoint_key(c, "from");
  a.to = read_endpoint_key(c, "to");
  a.slots = read_required_slots(c.r);
  assign_if(a.migrate_for, c.r.duration("migrate_for"));
  return a;
}

auto read_complete_slot_migration(step_ctx& c) -> std::optional<sc::action> {
  sc::complete_slot_migration_action a;
  a.from = read_endpoint_key(c, "from");
  a.to = read_endpoint_key(c, "to");
  a.slots = read_required_slots(c.r);
  return a;
}

// The keys every cluster composite shares: how long the migration runs, the reply latency on
// the source during it (where the action has one), who gets the SMIGRATED, and the dialect.
template <class ClusterComposite>
void read_migration_keys(step_ctx& c, ClusterComposite& a) {
  assign_if(a.migrate_for, c.r.duration("migrate_for"));
  if constexpr (requires { a.latency; }) {
    assign_if(a.latency, c.r.duration("latency"));
  }
  a.smigrated_to = read_smigrated_to(c);
  if (c.r.has("dialect")) {
    a.dialect = read_dialect(c.r, "dialect");
  }
}

auto read_slot_migration(step_ctx& c) -> std::optional<sc::action> {
  sc::slot_migration_action a;
  a.from = read_endpoint_key(c, "from");
  a.to = read_endpoint_key(c, "to");
  a.slots = read_required_slots(c.r);
  read_migration_keys(c, a);
  assign_if(a.redeliver_after, c.r.duration("redeliver_after"));
  return a;
}

auto read_remove_node(step_ctx& c) -> std::optional<sc::action> {
  sc::remove_node_action a;
  a.node = read_endpoint_key(c, "node");
  a.to = read_node_list(c, "to");
  read_migration_keys(c, a);
  assign_if(a.retire_after, c.r.duration("retire_after"));
  return a;
}

auto read_add_node(step_ctx& c) -> std::optional<sc::action> {
  sc::add_node_action a;
  a.node = read_endpoint_key(c, "node");
  a.from = read_node_list(c, "from");
  a.slots = read_required_slots(c.r);
  read_migration_keys(c, a);
  return a;
}

auto read_slot_shuffle(step_ctx& c) -> std::optional<sc::action> {
  sc::slot_shuffle_action a;
  const auto* n = c.r.node("moves");
  const auto* arr = n != nullptr ? n->as_array() : nullptr;
  if (n == nullptr) {
    c.r.missing("moves", "moves = [{ from = \"node-a\", to = \"node-b\", slots = \"0-99\" }]");
  } else if (arr == nullptr) {
    c.r.wrong_type("moves", *n, "an array of { from, to, slots } tables");
  } else {
    for (const auto& item : *arr) {
      const auto* t = item.as_table();
      if (t == nullptr) {
        c.r.error_at(item, "each move must be a table",
                     "{ from = \"node-a\", to = \"node-b\", slots = \"0-99\" }");
        continue;
      }
      table_reader mr(*t, "slot move", c.r.ctx());
      sc::slot_move mv;
      mv.from = mr.required_string("from", "the node giving the slots").value_or("");
      mv.to = mr.required_string("to", "the node taking the slots").value_or("");
      mv.slots = read_required_slots(mr);
      mr.finish();
      a.moves.push_back(std::move(mv));
    }
  }
  read_migration_keys(c, a);
  return a;
}

using action_reader = auto(*)(step_ctx&) -> std::optional<sc::action>;

struct action_entry {
  action_info info;
  action_reader read;
};

// The one table of step actions (no self-registration: adding an action means adding a row).
constexpr std::array action_table{
    action_entry{{"send", "send one of the seven notifications"}, &read_send},
    action_entry{{"raw", "write raw bytes (any frame, valid or not)"}, &read_raw},
    action_entry{{"latency", "delay the replies of an endpoint"}, &read_latency},
    action_entry{{"stall", "hold the replies of an endpoint"}, &read_stall},
    action_entry{{"release", "release held replies"}, &read_release},
    action_entry{{"fragment", "split what an endpoint writes into small chunks"}, &read_fragment},
    action_entry{{"close", "close connections (FIN or RST, between frames or mid-frame)"},
                 &read_close},
    action_entry{{"bring_up", "make an endpoint accept and serve"},
                 &read_accept<sc::endpoint_state::up>},
    action_entry{{"refuse", "reset new connections at once"},
                 &read_accept<sc::endpoint_state::down>},
    action_entry{{"stop_accepting", "stop accepting (attempts wait in the backlog)"},
                 &read_accept<sc::endpoint_state::not_accepting>},
    action_entry{{"blackhole", "accept, never answer"},
                 &read_accept<sc::endpoint_state::blackhole>},
    action_entry{{"clear_active", "stop replaying active notifications"}, &read_clear_active},
    action_entry{
        {"moving_lifecycle", "target up, MOVING, old endpoint closes after time + lateness"},
        &read_moving_lifecycle},
    action_entry{{"rolling_upgrade", "Redis Software rolling upgrade (MIGRATING..MOVING)"},
                 &read_rolling_upgrade},
    action_entry{{"in_place_upgrade", "Redis Software in-place upgrade (relaxed, restart)"},
                 &read_in_place_upgrade},
    action_entry{
        {"maintenance_mode", "Redis Software maintenance mode (failover, migrate, MOVING)"},
        &read_maintenance_mode},
    action_entry{{"migrate", "fault injector migrate: MIGRATING, duration, MIGRATED"},
                 &read_window_pair<sc::migrate_action>},
    action_entry{{"failover", "fault injector failover: FAILING_OVER, duration, FAILED_OVER"},
                 &read_window_pair<sc::failover_action>},
    action_entry{{"bind", "fault injector bind: the MOVING lifecycle with time 5"}, &read_bind},
    action_entry{{"begin_slot_migration", "cluster: slots start moving (ASK/MOVED), no push"},
                 &read_begin_slot_migration},
    action_entry{{"complete_slot_migration", "cluster: slots change owner, no push"},
                 &read_complete_slot_migration},
    action_entry{{"slot_migration", "cluster: SMIGRATING, slots move, SMIGRATED"},
                 &read_slot_migration},
    action_entry{{"remove_node", "cluster: a node gives all its slots away and goes down"},
                 &read_remove_node},
    action_entry{{"add_node", "cluster: a spare node comes up and takes slots"}, &read_add_node},
    action_entry{{"slot_shuffle", "cluster: several moves, one SMIGRATED with every triplet"},
                 &read_slot_shuffle},
};

// after = "id" or after = { step = "id", delay = "500ms" }
auto read_after(table_reader& r) -> std::optional<sc::trigger> {
  const auto* n = r.node("after");
  if (const auto* s = n->as_string()) {
    return sc::after_step{s->get(), milliseconds{0}};
  }
  const auto* t = n->as_table();
  if (t == nullptr) {
    r.wrong_type("after", *n, "a table", "after = { step = \"id\", delay = \"500ms\" }");
    return std::nullopt;
  }
  table_reader ar(*t, "'after'", r.ctx());
  sc::after_step a;
  auto ref = ar.required_string("step", "name the step to wait for: step = \"id\"");
  if (auto d = ar.duration("delay")) {
    a.delay = *d;
  }
  ar.finish();
  if (!ref) {
    return std::nullopt;
  }
  a.step = *ref;
  return a;
}

// when = { handshakes|connections|commands = N, endpoint = "...", delay = "..." }
auto read_when(table_reader& r) -> std::optional<sc::trigger> {
  const auto* n = r.node("when");
  const auto* t = n->as_table();
  if (t == nullptr) {
    r.wrong_type("when", *n, "a table", "when = { handshakes = 1, delay = \"500ms\" }");
    return std::nullopt;
  }
  table_reader wr(*t, "'when'", r.ctx());
  sc::when_observed w;
  int counters = 0;
  for (auto [name, counter] : {std::pair{"handshakes", sc::observed_counter::handshakes},
                               std::pair{"connections", sc::observed_counter::connections},
                               std::pair{"commands", sc::observed_counter::commands}}) {
    if (auto v = wr.integer(name)) {
      ++counters;
      if (*v < 0) {
        wr.error_at(*wr.node(name), "a count cannot be negative", "e.g. handshakes = 1");
        continue;
      }
      w.counter = counter;
      w.count = static_cast<std::uint64_t>(*v);
    }
  }
  assign_if(w.endpoint, wr.string("endpoint"));
  if (auto d = wr.duration("delay")) {
    w.delay = *d;
  }
  wr.finish();
  if (counters != 1) {
    wr.error_here("'when' needs exactly one of handshakes, connections and commands",
                  "e.g. when = { handshakes = 2 } waits for two opted-in connections");
    return std::nullopt;
  }
  return w;
}

auto read_trigger(table_reader& r) -> std::optional<sc::trigger> {
  const bool has_at = r.has("at") || r.has("at_ms") || r.has("at_s");
  const bool has_after = r.has("after");
  const bool has_when = r.has("when");
  const int given = int{has_at} + int{has_after} + int{has_when};
  if (given == 0) {
    r.error_here("step has no start time",
                 "add at = \"1s\", after = { step = \"id\", delay = \"500ms\" } or when = { "
                 "handshakes = 1 }");
    return std::nullopt;
  }
  if (given > 1) {
    const auto* second = has_after && has_at ? r.node("after") : r.node("when");
    r.error_at(*second,
               "a step starts either at a time, after a step or when something is "
               "observed, not several",
               "keep one of at, after and when");
    return std::nullopt;
  }
  if (has_at) {
    if (auto d = r.duration("at")) {
      return sc::at_time{*d};
    }
    return std::nullopt;
  }
  return has_after ? read_after(r) : read_when(r);
}

void read_steps(context& ctx, const toml::table& root, sc::scenario& s) {
  const auto* n = root.get("step");
  if (n == nullptr) {
    return;
  }
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    ctx.error(n->source(), "'step' must be an array of tables", "write each step as [[step]]");
    return;
  }
  std::vector<std::string> action_names;
  for (const auto& e : action_table) {
    action_names.emplace_back(e.info.name);
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto* t = (*arr)[i].as_table();
    if (t == nullptr) {
      ctx.error((*arr)[i].source(), "each step must be a table", "write [[step]]");
      continue;
    }
    table_reader r(*t, "[[step]]", ctx);
    sc::step st;
    st.origin = i;
    st.id = r.string("id").value_or("step-" + std::to_string(i + 1));
    r.string("description");  // free text for readers of the file
    auto start = read_trigger(r);
    const auto name = r.required_string(
        "action", "say what the step does, e.g. action = \"send\" (see scenarios/README.md)");
    // Without a readable action the step's other keys cannot be judged: reporting them as
    // unknown would only bury the real mistake.
    bool action_read = false;
    if (name) {
      const auto* entry = std::ranges::find_if(
          action_table, [&](const action_entry& e) { return e.info.name == *name; });
      if (entry == action_table.end()) {
        r.error_at(*r.node("action"), "unknown action \"" + *name + "\"",
                   suggest(*name, action_names, "actions: "));
      } else {
        step_ctx c{r, s};
        if (auto a = entry->read(c)) {
          st.what = std::move(*a);
          action_read = true;
        }
      }
    }
    if (start) {
      st.start = *start;
    }
    if (action_read) {
      r.finish();
    }
    s.steps.push_back(std::move(st));
  }
}

// Finds where a validator path ("step[3].after.step") is in the file: the value itself, its
// `_ms`/`_s` spelling, or the nearest enclosing table that exists.
auto locate(const toml::table& root, std::string path) -> toml::source_region {
  while (!path.empty()) {
    for (const char* suffix : {"", "_ms", "_s"}) {
      auto view = toml::at_path(root, path + suffix);
      if (const auto* n = view.node()) {
        return n->source();
      }
    }
    const auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) {
      break;
    }
    path.resize(cut);
  }
  return toml::source_region{{1, 1}, {1, 1}, {}};
}

auto load_table(const toml::table& root, context& ctx) -> std::optional<sc::scenario> {
  sc::scenario s;
  {
    table_reader r(root, "the file", ctx);
    // Sections are read below; this reader only reports unknown top-level keys.
    for (auto key : {"scenario", "topology", "client", "workload", "expect", "step"}) {
      r.node(key);
    }
    r.finish();
  }
  read_metadata(ctx, root, s);
  read_topology(ctx, root, s);
  auto section = [&](std::string_view name) -> const toml::table* {
    const auto* n = root.get(name);
    if (n == nullptr) {
      return nullptr;
    }
    if (!n->is_table()) {
      ctx.error(n->source(), "'" + std::string(name) + "' must be a table",
                "write it as [" + std::string(name) + "]");
      return nullptr;
    }
    return n->as_table();
  };
  if (const auto* t = section("client")) {
    read_client(ctx, *t, s.client);
  }
  if (const auto* t = section("workload")) {
    read_workload(ctx, *t, s.load);
  }
  if (const auto* t = section("expect")) {
    read_expect(ctx, *t, s.expect);
  }
  read_steps(ctx, root, s);
  if (ctx.failed()) {
    return std::nullopt;
  }
  for (const auto& p : sc::validate(s)) {
    ctx.error(locate(root, p.path), p.message, p.hint);
  }
  if (ctx.failed()) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

auto to_string(const diagnostic& d) -> std::string {
  std::string out = d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) +
                    ": error: " + d.message;
  if (!d.hint.empty()) {
    out += "\n  hint: " + d.hint;
  }
  return out;
}

auto parse_duration(std::string_view text) -> std::optional<milliseconds> {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
    ++i;
  }
  const auto number = text.substr(0, i);
  auto unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') {
    unit.remove_prefix(1);
  }
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      std::ranges::count(number, '.') > 1) {
    return std::nullopt;
  }
  double value = 0;
  const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || p != number.data() + number.size()) {
    return std::nullopt;
  }
  double scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m" || unit == "min") {
    scale = 60'000;
  } else {
    return std::nullopt;
  }
  const double ms = value * scale;
  if (ms > 1e12 || std::abs(ms - std::round(ms)) > 1e-6) {
    return std::nullopt;
  }
  return milliseconds{static_cast<std::int64_t>(std::llround(ms))};
}

auto builtin_actions() -> std::span<const action_info> {
  static const auto infos = [] {
    std::vector<action_info> out;
    for (const auto& e : action_table) {
      out.push_back(e.info);
    }
    return out;
  }();
  return infos;
}

auto load_string(std::string_view toml_text, std::string_view source_name) -> load_result {
  context ctx{std::string(source_name)};
  load_result result;
  try {
    const auto root = toml::parse(toml_text, source_name);
    result.value = load_table(root, ctx);
  } catch (const toml::parse_error& e) {
    ctx.error(e.source(), "TOML syntax: " + std::string(e.description()),
              "see https://toml.io for the syntax");
  }
  result.errors = ctx.take_errors();
  if (!result.errors.empty()) {
    result.value.reset();
  }
  return result;
}

auto load_file(const std::filesystem::path& path) -> load_result {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result r;
    r.errors.push_back(diagnostic{path.string(), 0, 0, "cannot open the file",
                                  "check the path; built-in scenarios are in scenarios/"});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path.string());
}

}  // namespace schsim::scenario_io
