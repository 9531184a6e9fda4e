#include <schsim/core/maint/codec.hpp>

#include <algorithm>
#include <utility>

namespace schsim::maint {

namespace {

using resp3::type;
using resp3::value;

struct flag_entry {
  std::string_view name;
  bool dialect::*flag;
};

// "canonical" and "simple-strings" are not single flags; apply_dialect_flag handles them.
constexpr flag_entry single_flags[] = {
    {"simple-string-name", &dialect::simple_string_name},
    {"simple-string-arguments", &dialect::simple_string_arguments},
    {"null-string", &dialect::null_as_string},
    {"moving-3-elements", &dialect::moving_three_elements},
    {"smigrated-pairs", &dialect::smigrated_pairs},
    {"slots-as-arguments", &dialect::slots_as_arguments},
};

class encoder {
 public:
  explicit encoder(const dialect& d) : d_(d) {}

  auto name(kind k) const -> value {
    std::string n(wire_name(k));
    return d_.simple_string_name ? value::simple(std::move(n)) : value::bulk(std::move(n));
  }
  auto text(std::string s) const -> value {
    return d_.simple_string_arguments ? value::simple(std::move(s)) : value::bulk(std::move(s));
  }

  auto operator()(const moving& m) const -> std::vector<value> {
    std::vector<value> items{name(kind::moving), value::number_of(m.seq),
                             value::number_of(m.time_s)};
    if (m.endpoint) {
      items.push_back(text(*m.endpoint));
    } else if (d_.moving_three_elements) {
      // Leaving the element out wins over "null": there is nothing left to spell.
    } else if (d_.null_as_string) {
      items.push_back(text("null"));
    } else {
      items.push_back(value::nil());
    }
    return items;
  }
  auto operator()(const migrating& m) const -> std::vector<value> {
    return {name(kind::migrating), value::number_of(m.seq), value::number_of(m.time_s),
            text(format_shard_ids(m.shard_ids))};
  }
  auto operator()(const migrated& m) const -> std::vector<value> {
    return {name(kind::migrated), value::number_of(m.seq), text(format_shard_ids(m.shard_ids))};
  }
  auto operator()(const failing_over& m) const -> std::vector<value> {
    return {name(kind::failing_over), value::number_of(m.seq), value::number_of(m.time_s),
            text(format_shard_ids(m.shard_ids))};
  }
  auto operator()(const failed_over& m) const -> std::vector<value> {
    return {name(kind::failed_over), value::number_of(m.seq), text(format_shard_ids(m.shard_ids))};
  }
  auto operator()(const smigrating& m) const -> std::vector<value> {
    std::vector<value> items{name(kind::smigrating), value::number_of(m.seq)};
    if (d_.slots_as_arguments && !m.slots.empty()) {
      for (const auto& r : m.slots) {
        items.push_back(text(format_slot_list({r})));
      }
    } else {
      // With no slots the arguments form still sends one (empty) argument, so the frame keeps
      // the 3 elements every parser requires.
      items.push_back(text(format_slot_list(m.slots)));
    }
    return items;
  }
  auto operator()(const smigrated& m) const -> std::vector<value> {
    std::vector<value> entries;
    entries.reserve(m.entries.size());
    for (const auto& e : m.entries) {
      std::vector<value> fields;
      if (!d_.smigrated_pairs) {
        fields.push_back(text(e.source));
      }
      fields.push_back(text(e.destination));
      fields.push_back(text(format_slot_list(e.slots)));
      entries.push_back(value::array_of(std::move(fields)));
    }
    return {name(kind::smigrated), value::number_of(m.seq), value::array_of(std::move(entries))};
  }

 private:
  const dialect& d_;
};

auto text_of(const value& v) -> std::optional<std::string_view> {
  if (v.is_string()) {
    return std::string_view(v.text);
  }
  return std::nullopt;
}

using decode_result = std::variant<notification, decode_error>;

auto describe_value(const value& v) -> std::string {
  return std::string(resp3::to_string(v.kind)) + " " + resp3::to_debug_string(v);
}

/// Reads the shared fields of every notification and holds the first error met.
class reader {
 public:
  reader(std::string_view name, const std::vector<value>& items) : name_(name), items_(items) {}

  auto arity(std::size_t min, std::size_t max) -> bool {
    if (items_.size() >= min && items_.size() <= max) {
      return true;
    }
    const std::string expected =
        min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return fail("expected " + expected + " elements, got " + std::to_string(items_.size()));
  }

  auto integer(std::size_t i, std::string_view field, std::int64_t& out) -> bool {
    if (items_[i].kind != type::integer) {
      return fail(std::string(field) + " is not an integer: " + describe_value(items_[i]));
    }
    out = items_[i].integer;
    return true;
  }

  auto shard_ids(std::size_t i, std::vector<std::string>& out) -> bool {
    const value& v = items_[i];
    if (const auto t = text_of(v)) {
      auto ids = parse_shard_ids(*t);
      if (!ids) {
        return fail("shard ids are not a JSON array of strings: " + describe_value(v));
      }
      out = std::move(*ids);
      return true;
    }
    // Not a form any server is known to send, but unambiguous: an array of ids.
    if (v.kind == type::array || v.kind == type::set) {
      for (const auto& e : v.elements) {
        if (const auto t = text_of(e)) {
          out.emplace_back(*t);
        } else if (e.kind == type::integer) {
          out.push_back(std::to_string(e.integer));
        } else {
          return fail("bad shard id: " + describe_value(e));
        }
      }
      return true;
    }
    return fail("shard ids are not a string: " + describe_value(v));
  }

  // One slot-list argument: "1,5-7" as a string, or a single slot as an integer.
  auto slots(const value& v, std::vector<slot_range>& out) -> bool {
    if (const auto t = text_of(v)) {
      const auto parsed = parse_slot_list(*t);
      if (!parsed) {
        return fail("bad slot list: " + describe_value(v));
      }
      out.insert(out.end(), parsed->begin(), parsed->end());
      return true;
    }
    if (v.kind == type::integer && v.integer >= 0 && v.integer <= max_slot) {
      const auto s = static_cast<std::uint16_t>(v.integer);
      out.push_back(slot_range{s, s});
      return true;
    }
    return fail("bad slot list: " + describe_value(v));
  }

  auto endpoint(const value& v, std::string_view field, std::string& out) -> bool {
    const auto t = text_of(v);
    if (!t || t->empty()) {
      return fail(std::string(field) + " is not a host:port string: " + describe_value(v));
    }
    out = *t;
    return true;
  }

  auto fail(std::string message) -> bool {
    if (!error_) {
      error_ = decode_error{std::string(name_) + ": " + std::move(message)};
    }
    return false;
  }

  auto take_error() -> decode_result { return std::move(*error_); }

 private:
  std::string_view name_;
  const std::vector<value>& items_;
  std::optional<decode_error> error_;
};

auto decode_moving(reader& r, const std::vector<value>& items) -> std::optional<decode_result> {
  moving m;
  if (!r.arity(3, 4) || !r.integer(1, "seq", m.seq) || !r.integer(2, "time", m.time_s)) {
    return r.take_error();
  }
  if (items.size() == 4) {
    const value& e = items[3];
    // RESP3 null, RESP2 null (parsed as null too) and the string "null" all mean no endpoint.
    const bool none = e.kind == type::null || (e.is_string() && e.text == "null");
    if (!none) {
      std::string endpoint;
      if (!r.endpoint(e, "endpoint", endpoint)) {
        return r.take_error();
      }
      m.endpoint = std::move(endpoint);
    }
  }
  return m;
}

template <class T>
auto decode_window_start(reader& r) -> std::optional<decode_result> {
  T n;
  if (!r.arity(4, 4) || !r.integer(1, "seq", n.seq) || !r.integer(2, "time", n.time_s) ||
      !r.shard_ids(3, n.shard_ids)) {
    return r.take_error();
  }
  return n;
}

template <class T>
auto decode_window_end(reader& r) -> std::optional<decode_result> {
  T n;
  if (!r.arity(3, 3) || !r.integer(1, "seq", n.seq) || !r.shard_ids(2, n.shard_ids)) {
    return r.take_error();
  }
  return n;
}

auto decode_smigrating(reader& r, const std::vector<value>& items) -> std::optional<decode_result> {
  smigrating n;
  // Slots may come as one comma-separated argument or as one argument per slot or range.
  if (!r.arity(3, std::max<std::size_t>(3, items.size())) || !r.integer(1, "seq", n.seq)) {
    return r.take_error();
  }
  for (std::size_t i = 2; i < items.size(); ++i) {
    if (!r.slots(items[i], n.slots)) {
      return r.take_error();
    }
  }
  return n;
}

auto decode_smigrated(reader& r, const std::vector<value>& items) -> std::optional<decode_result> {
  smigrated n;
  if (!r.arity(3, 3) || !r.integer(1, "seq", n.seq)) {
    return r.take_error();
  }
  const value& list = items[2];
  if (list.kind != type::array && list.kind != type::set) {
    r.fail("entries are not an array: " + describe_value(list));
    return r.take_error();
  }
  for (const value& e : list.elements) {
    if (e.kind != type::array || e.elements.size() < 2) {
      r.fail("an entry is not an array of [source, destination, slots]: " + describe_value(e));
      return r.take_error();
    }
    smigrated_entry entry;
    const auto& f = e.elements;
    // A pair [destination, slots] comes from the go-redis and node-redis fakes; the source is
    // unknown then.
    const std::size_t first_slots = f.size() == 2 ? 1 : 2;
    // An empty source is what encode writes for an entry decoded from a pair.
    if (f.size() > 2 && !(f[0].is_string() && f[0].text.empty()) &&
        !r.endpoint(f[0], "entry source", entry.source)) {
      return r.take_error();
    }
    if (!r.endpoint(f[first_slots - 1], "entry destination", entry.destination)) {
      return r.take_error();
    }
    for (std::size_t i = first_slots; i < f.size(); ++i) {
      if (!r.slots(f[i], entry.slots)) {
        return r.take_error();
      }
    }
    n.entries.push_back(std::move(entry));
  }
  return n;
}

}  // namespace

auto dialect_flag_names() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names{
      "canonical",   "simple-string-name", "simple-string-arguments", "simple-strings",
      "null-string", "moving-3-elements",  "smigrated-pairs",         "slots-as-arguments",
  };
  return names;
}

auto apply_dialect_flag(dialect& d, std::string_view name) -> bool {
  if (name == "canonical") {
    return true;  // no drift: leaves the other flags as they are
  }
  if (name == "simple-strings") {
    d.simple_string_name = true;
    d.simple_string_arguments = true;
    return true;
  }
  for (const auto& f : single_flags) {
    if (f.name == name) {
      d.*f.flag = true;
      return true;
    }
  }
  return false;
}

auto describe(const dialect& d) -> std::string {
  std::string out;
  for (const auto& f : single_flags) {
    if (d.*f.flag) {
      out += out.empty() ? "" : ",";
      out += f.name;
    }
  }
  return out.empty() ? std::string("canonical") : out;
}

auto encode(const notification& n, const dialect& d) -> resp3::value {
  return value::push_of(std::visit(encoder(d), n));
}

auto decode(const resp3::value& push) -> std::optional<std::variant<notification, decode_error>> {
  if (push.kind != type::push || push.elements.empty()) {
    return std::nullopt;
  }
  const auto name = text_of(push.elements.front());
  if (!name) {
    return std::nullopt;
  }
  // Wire names only, matched case-sensitively: "moving" is not a maintenance push.
  std::optional<kind> k;
  for (int i = 0; i <= static_cast<int>(kind::smigrated); ++i) {
    if (*name == wire_name(static_cast<kind>(i))) {
      k = static_cast<kind>(i);
    }
  }
  if (!k) {
    return std::nullopt;
  }
  const auto& items = push.elements;
  reader r(*name, items);
  switch (*k) {
    case kind::moving:
      return decode_moving(r, items);
    case kind::migrating:
      return decode_window_start<migrating>(r);
    case kind::failing_over:
      return decode_window_start<failing_over>(r);
    case kind::migrated:
      return decode_window_end<migrated>(r);
    case kind::failed_over:
      return decode_window_end<failed_over>(r);
    case kind::smigrating:
      return decode_smigrating(r, items);
    case kind::smigrated:
      return decode_smigrated(r, items);
  }
  return std::nullopt;
}

}  // namespace schsim::maint
