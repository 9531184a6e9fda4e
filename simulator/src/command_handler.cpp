#include <schsim/simulator/command_handler.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <span>
#include <unordered_map>

namespace schsim::simulator {

namespace {

using std::string_view_literals::operator""sv;

// ---------------------------------------------------------------------------------------------
// Small text helpers

auto to_lower_char(char c) -> char {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

auto iequals(std::string_view a, std::string_view b) -> bool {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower_char(x) == to_lower_char(y);
         });
}

auto to_lower(std::string_view s) -> std::string {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower_char);
  return out;
}

auto to_upper(std::string_view s) -> std::string {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return out;
}

/// Redis's string2ll: strict base-10, no spaces, no '+', no leading zeros.
auto parse_int(std::string_view s, std::int64_t& out) -> bool {
  if (s.empty() || s.size() > 20 || s[0] == '+') {
    return false;
  }
  if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0'))) {
    return false;
  }
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), last, out);
  return ec == std::errc{} && ptr == last;
}

/// Redis refuses client and library names with spaces, newlines or control characters.
auto valid_name(std::string_view name) -> bool {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

// ---------------------------------------------------------------------------------------------
// Reply writer: appends wire bytes straight into the output buffer, so the hot path builds no
// resp3::value.

class reply_writer {
 public:
  reply_writer(std::string& out, resp3::protocol proto) : out_(&out), proto_(proto) {}

  void ok() { out_->append("+OK\r\n"); }
  void simple(std::string_view s) {
    out_->push_back('+');
    out_->append(s);
    out_->append("\r\n");
  }
  /// `text` without the leading '-', e.g. "ERR syntax error".
  void error(std::string_view text) {
    error_ = true;
    out_->push_back('-');
    // A newline inside an error would break framing; Redis replaces them with spaces.
    for (char c : text) {
      out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
    }
    out_->append("\r\n");
  }
  void integer(std::int64_t n) { header(':', n); }
  void bulk(std::string_view s) {
    header('$', static_cast<std::int64_t>(s.size()));
    out_->append(s);
    out_->append("\r\n");
  }
  void null() { out_->append(proto_ == resp3::protocol::resp3 ? "_\r\n" : "$-1\r\n"); }
  /// EXEC of a transaction whose watched key changed: RESP2's null array.
  void null_array() { out_->append(proto_ == resp3::protocol::resp3 ? "_\r\n" : "*-1\r\n"); }
  void array(std::size_t n) { header('*', static_cast<std::int64_t>(n)); }
  void set(std::size_t n) {
    header(proto_ == resp3::protocol::resp3 ? '~' : '*', static_cast<std::int64_t>(n));
  }
  void map(std::size_t pairs) {
    if (proto_ == resp3::protocol::resp3) {
      header('%', static_cast<std::int64_t>(pairs));
    } else {
      header('*', static_cast<std::int64_t>(pairs * 2));
    }
  }
  /// A `txt` verbatim string in RESP3, a bulk string in RESP2 (INFO, CLIENT INFO).
  void verbatim(std::string_view s) {
    if (proto_ == resp3::protocol::resp3) {
      header('=', static_cast<std::int64_t>(s.size() + 4));
      out_->append("txt:");
      out_->append(s);
      out_->append("\r\n");
    } else {
      bulk(s);
    }
  }

  [[nodiscard]] auto errored() const -> bool { return error_; }
  [[nodiscard]] auto buffer() const -> std::string& { return *out_; }
  [[nodiscard]] auto protocol() const -> resp3::protocol { return proto_; }
  void set_protocol(resp3::protocol p) { proto_ = p; }

 private:
  void header(char type, std::int64_t n) {
    std::array<char, 24> buf{};
    buf[0] = type;
    auto [ptr, ec] = std::to_chars(buf.data() + 1, buf.data() + buf.size() - 2, n);
    *ptr++ = '\r';
    *ptr++ = '\n';
    out_->append(buf.data(), static_cast<std::size_t>(ptr - buf.data()));
  }

  std::string* out_;
  resp3::protocol proto_;
  bool error_ = false;
};

constexpr std::string_view not_integer = "ERR value is not an integer or out of range";
constexpr std::string_view wrong_type =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view syntax_error = "ERR syntax error";
constexpr std::string_view wrongpass =
    "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view bad_client_name =
    "ERR Client names cannot contain spaces, newlines or special characters.";

// ---------------------------------------------------------------------------------------------
// Command table

struct context {
  session_state& s;
  std::span<const std::string_view> args;
  time_point now;
  reply_writer& r;
  command_outcome& outcome;
  keyspace& data;
  const endpoint_profile& profile;
  const command_handler::stats* stats;
  /// Cluster mode only: the cluster and this node's name.
  cluster_state* cluster = nullptr;
  std::string_view node{};
  pubsub_registry* pubsub = nullptr;
  blocking_registry* blocking = nullptr;
  /// A command run by EXEC (Redis's CLIENT_DENY_BLOCKING: SSUBSCRIBE refuses).
  bool in_exec = false;
};

using handler_fn = void (*)(context&);

struct command_spec {
  std::string_view name;  ///< lower case, as Redis's fullname ("client|setname")
  int arity;              ///< Redis convention: n exact, -n at least n
  handler_fn fn;
  bool no_auth = false;  ///< runs before authentication
  /// Key positions as Redis's legacy (first, last, step) triple: 0 = no keys, last -1 = to the
  /// end. Cluster mode routes by the slots of these arguments.
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  /// The keys are shard channels: the owner serves them until a migration completes.
  bool shard_channels = false;
};

auto arity_ok(int arity, std::size_t argc) -> bool {
  const auto n = static_cast<std::size_t>(arity < 0 ? -arity : arity);
  return arity < 0 ? argc >= n : argc == n;
}

auto arity_error(std::string_view fullname) -> std::string {
  std::string msg = "ERR wrong number of arguments for '";
  msg.append(fullname);
  msg.append("' command");
  return msg;
}

void wrong_arity(context& c, std::string_view fullname) { c.r.error(arity_error(fullname)); }

// -- connection --------------------------------------------------------------------------------

void cmd_ping(context& c) {
  if (c.args.size() > 2) {
    wrong_arity(c, "ping");
  } else if (c.r.protocol() == resp3::protocol::resp2 && c.pubsub->subscribed(c.s.id)) {
    // RESP2 subscribed mode: PING answers as a message would come, [pong, argument or ""].
    c.r.array(2);
    c.r.bulk("pong");
    c.r.bulk(c.args.size() == 2 ? c.args[1] : std::string_view());
  } else if (c.args.size() == 2) {
    c.r.bulk(c.args[1]);
  } else {
    c.r.simple("PONG");
  }
}

void cmd_echo(context& c) { c.r.bulk(c.args[1]); }

void cmd_select(context& c) {
  std::int64_t db = 0;
  if (!parse_int(c.args[1], db) || db < std::numeric_limits<int>::min() ||
      db > std::numeric_limits<int>::max()) {
    c.r.error(not_integer);
  } else if (c.cluster != nullptr && db != 0) {
    c.r.error("ERR SELECT is not allowed in cluster mode");
  } else if (db < 0 || db >= keyspace::database_count) {
    c.r.error("ERR DB index is out of range");
  } else {
    c.s.db = static_cast<int>(db);
    c.r.ok();
  }
}

void cmd_quit(context& c) {
  c.r.ok();
  c.outcome.then = after_reply::close;
}

/// Checks credentials as Redis's ACL does for the default user (requirepass) and named users.
auto check_credentials(const endpoint_profile& p, std::string_view user, std::string_view pass)
    -> bool {
  if (user == "default") {
    return p.requirepass.empty() || p.requirepass == pass;
  }
  return std::any_of(p.users.begin(), p.users.end(),
                     [&](const acl_user& u) { return u.name == user && u.password == pass; });
}

void cmd_auth(context& c) {
  if (c.args.size() > 3) {
    c.r.error(syntax_error);
    return;
  }
  std::string_view user = "default";
  std::string_view pass = c.args[1];
  if (c.args.size() == 3) {
    user = c.args[1];
    pass = c.args[2];
  } else if (c.profile.requirepass.empty()) {
    c.r.error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
    return;
  }
  if (!check_credentials(c.profile, user, pass)) {
    c.r.error(wrongpass);
    return;
  }
  c.s.authenticated = true;
  c.s.user = std::string(user);
  c.r.ok();
}

void write_hello_map(context& c) {
  c.r.map(7);
  c.r.bulk("server");
  c.r.bulk("redis");
  c.r.bulk("version");
  c.r.bulk(c.profile.server_version);
  c.r.bulk("proto");
  c.r.integer(static_cast<int>(c.s.protocol));
  c.r.bulk("id");
  c.r.integer(static_cast<std::int64_t>(c.s.id));
  c.r.bulk("mode");
  c.r.bulk(c.cluster != nullptr ? "cluster" : "standalone");
  c.r.bulk("role");
  c.r.bulk("master");
  c.r.bulk("modules");
  c.r.array(0);
}

void cmd_hello(context& c) {
  timeline::hello ev;
  auto fail = [&](std::string_view text) {
    c.r.error(text);
    ev.accepted = false;
    ev.error = std::string(text);
    c.outcome.hello = std::move(ev);
  };
  std::int64_t version = 0;
  if (c.args.size() >= 2) {
    if (!parse_int(c.args[1], version)) {
      ev.protover = 0;
      fail("ERR Protocol version is not an integer or out of range");
      return;
    }
    ev.protover = static_cast<int>(std::clamp<std::int64_t>(version, -1, 1000));
    if (version < 2 || version > 3 || (version == 3 && !c.profile.resp3_supported)) {
      fail("NOPROTO unsupported protocol version");
      return;
    }
  } else {
    ev.protover = 2;
  }
  std::optional<std::string_view> user;
  std::string_view pass;
  std::optional<std::string_view> name;
  for (std::size_t j = 2; j < c.args.size(); ++j) {
    const std::size_t more = c.args.size() - 1 - j;
    if (iequals(c.args[j], "auth") && more >= 2) {
      user = c.args[j + 1];
      pass = c.args[j + 2];
      j += 2;
    } else if (iequals(c.args[j], "setname") && more >= 1) {
      name = c.args[j + 1];
      j += 1;
    } else {
      fail("ERR Syntax error in HELLO option '" + std::string(c.args[j]) + "'");
      return;
    }
  }
  if (user) {
    ev.user = std::string(*user);
    if (!check_credentials(c.profile, *user, pass)) {
      fail(wrongpass);
      return;
    }
    c.s.authenticated = true;
    c.s.user = std::string(*user);
  }
  if (!c.s.authenticated) {
    fail(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
        "protocol version at the same time");
    return;
  }
  if (name) {
    if (!valid_name(*name)) {
      fail(bad_client_name);
      return;
    }
    c.s.name = std::string(*name);
  }
  if (version != 0) {
    c.s.protocol = version == 3 ? resp3::protocol::resp3 : resp3::protocol::resp2;
    c.r.set_protocol(c.s.protocol);
  }
  write_hello_map(c);
  ev.accepted = true;
  c.outcome.hello = std::move(ev);
}

auto end_transaction(session_state& s, timeline::transaction_ended::outcome result)
    -> std::optional<timeline::transaction_ended>;

void cmd_reset(context& c) {
  c.outcome.transaction = end_transaction(c.s, timeline::transaction_ended::outcome::discarded);
  c.data.unwatch(c.s.id);
  c.pubsub->drop(c.s.id);  // RESET leaves subscribed mode without confirmations
  c.s.protocol = resp3::protocol::resp2;
  c.r.set_protocol(c.s.protocol);
  c.s.db = 0;
  c.s.name.clear();
  c.s.maint_enabled = false;
  c.s.endpoint_type.reset();
  c.s.authenticated = c.profile.requirepass.empty();
  c.s.user = "default";
  c.r.simple("RESET");
}

// -- CLIENT ------------------------------------------------------------------------------------

auto client_info_line(const context& c) -> std::string {
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(c.now - c.s.opened_at).count();
  std::string line = "id=" + std::to_string(c.s.id) + " addr=" + c.s.peer + " laddr=" + c.s.local +
                     " fd=8 name=" + c.s.name + " age=" + std::to_string(age) +
                     " idle=0 flags=N db=" + std::to_string(c.s.db) +
                     " sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 "
                     "rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info "
                     "user=" +
                     c.s.user + " redir=-1 resp=" + std::to_string(static_cast<int>(c.s.protocol)) +
                     " lib-name=" + c.s.lib_name + " lib-ver=" + c.s.lib_ver + "\n";
  return line;
}

void cmd_client_id(context& c) { c.r.integer(static_cast<std::int64_t>(c.s.id)); }

void cmd_client_setname(context& c) {
  if (!valid_name(c.args[2])) {
    c.r.error(bad_client_name);
    return;
  }
  c.s.name = std::string(c.args[2]);
  c.r.ok();
}

void cmd_client_getname(context& c) {
  if (c.s.name.empty()) {
    c.r.null();
  } else {
    c.r.bulk(c.s.name);
  }
}

void cmd_client_setinfo(context& c) {
  const std::string_view attr = c.args[2];
  const std::string_view val = c.args[3];
  const bool is_name = iequals(attr, "lib-name");
  if (!is_name && !iequals(attr, "lib-ver")) {
    c.r.error("ERR Unrecognized option '" + std::string(attr) + "'");
    return;
  }
  if (!valid_name(val)) {
    c.r.error("ERR " + to_lower(attr) + " cannot contain spaces, newlines or special characters.");
    return;
  }
  (is_name ? c.s.lib_name : c.s.lib_ver) = std::string(val);
  c.r.ok();
}

void cmd_client_info(context& c) { c.r.verbatim(client_info_line(c)); }

void cmd_client_list(context& c) { c.r.verbatim(client_info_line(c)); }

void cmd_client_help(context& c) {
  constexpr std::array lines = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"sv,
      "GETNAME"sv,
      "    Return the name of the current connection."sv,
      "ID"sv,
      "    Return the ID of the current connection."sv,
      "INFO"sv,
      "    Return information about the current client connection."sv,
      "LIST"sv,
      "    Return information about client connections."sv,
      "SETNAME <name>"sv,
      "    Assign the name <name> to the current connection."sv,
      "SETINFO <option> <value>"sv,
      "    Set client meta attr. Options are: LIB-NAME, LIB-VER."sv,
      "MAINT_NOTIFICATIONS (ON|OFF) [moving-endpoint-type <type>]"sv,
      "    Opt in to or out of maintenance push notifications (RESP3 only)."sv,
      "HELP"sv,
      "    Print this help."sv,
  };
  c.r.array(lines.size());
  for (auto l : lines) {
    c.r.simple(l);
  }
}

constexpr std::array endpoint_types = {"internal-ip"sv, "internal-fqdn"sv, "external-ip"sv,
                                       "external-fqdn"sv, "none"sv};

/// CLIENT MAINT_NOTIFICATIONS <ON|OFF> [moving-endpoint-type <type>]..., as sent: read once for
/// both the handshake and the timeline's record of a refused one (SCH off).
struct maint_request {
  bool enable = false;
  bool mode_known = false;                        ///< ON or OFF, any case
  bool pairs_complete = true;                     ///< every option is `moving-endpoint-type <type>`
  std::optional<std::string_view> endpoint_type;  ///< the last one before any malformed option
};

auto parse_maint_request(std::span<const std::string_view> args) -> maint_request {
  maint_request req;
  if (args.size() > 2) {
    req.enable = iequals(args[2], "on");
    req.mode_known = req.enable || iequals(args[2], "off");
  }
  for (std::size_t j = 3; j < args.size(); j += 2) {
    if (!iequals(args[j], "moving-endpoint-type") || j + 1 >= args.size()) {
      req.pairs_complete = false;
      break;
    }
    req.endpoint_type = args[j + 1];
  }
  return req;
}

void cmd_client_maint(context& c) {
  timeline::maint_handshake ev;
  ev.protocol = static_cast<int>(c.s.protocol);
  auto finish_error = [&](std::string_view text) {
    c.r.error(text);
    ev.accepted = false;
    ev.reply = std::string(text);
    c.outcome.maint = std::move(ev);
  };
  const maint_request req = parse_maint_request(c.args);
  const bool on = req.enable;
  ev.enable = on;
  if (!req.mode_known || !req.pairs_complete) {
    finish_error(syntax_error);
    return;
  }
  const std::optional<std::string_view> type = req.endpoint_type;
  if (type) {
    ev.endpoint_type = std::string(*type);
    const bool known = std::any_of(endpoint_types.begin(), endpoint_types.end(),
                                   [&](std::string_view t) { return iequals(t, *type); });
    if (!known) {
      finish_error("ERR invalid moving-endpoint-type '" + std::string(*type) +
                   "', expected one of internal-ip, internal-fqdn, external-ip, external-fqdn, "
                   "none");
      return;
    }
  }
  if (on && c.s.protocol != resp3::protocol::resp3) {
    finish_error("ERR CLIENT MAINT_NOTIFICATIONS ON requires RESP3 (send HELLO 3 first)");
    return;
  }
  c.s.maint_enabled = on;
  if (on) {
    c.s.endpoint_type = type ? std::optional<std::string>(std::string(*type)) : std::nullopt;
  } else {
    c.s.endpoint_type.reset();
  }
  c.r.ok();
  ev.accepted = true;
  ev.reply = "OK";
  c.outcome.maint = std::move(ev);
}

/// The timeline's record of a MAINT_NOTIFICATIONS attempt refused as an unknown subcommand.
auto refused_maint_handshake(std::span<const std::string_view> args, const std::string& text,
                             resp3::protocol protocol) -> timeline::maint_handshake {
  const maint_request req = parse_maint_request(args);
  timeline::maint_handshake ev;
  ev.enable = req.enable;
  if (req.endpoint_type) {
    ev.endpoint_type = std::string(*req.endpoint_type);
  }
  ev.accepted = false;
  ev.reply = text;
  ev.protocol = static_cast<int>(protocol);
  return ev;
}

// -- COMMAND, INFO, CONFIG ---------------------------------------------------------------------

auto command_table() -> const std::unordered_map<std::string_view, command_spec>&;

void write_command_info(context& c, const command_spec& spec) {
  c.r.array(10);
  c.r.bulk(spec.name);
  c.r.integer(spec.arity);
  c.r.set(0);  // flags
  // Real key positions: cluster clients (go-redis) route raw commands by them once their
  // COMMAND cache is warm; zeros would make every key command look keyless.
  c.r.integer(spec.first_key);
  c.r.integer(spec.last_key);
  c.r.integer(spec.key_step);
  c.r.set(0);    // ACL categories
  c.r.set(0);    // tips
  c.r.array(0);  // key specs
  c.r.array(0);  // subcommands
}

void cmd_command(context& c) {
  if (c.args.size() == 1) {
    const auto& table = command_table();
    c.r.array(table.size());
    for (const auto& [name, spec] : table) {
      write_command_info(c, spec);
    }
    return;
  }
  const std::string sub = to_lower(c.args[1]);
  if (sub == "count") {
    if (c.args.size() != 2) {
      wrong_arity(c, "command|count");
      return;
    }
    c.r.integer(static_cast<std::int64_t>(command_table().size()));
  } else if (sub == "docs") {
    // Clients only use DOCS for hints; an empty map keeps redis-cli quiet.
    c.r.map(0);
  } else if (sub == "info") {
    c.r.array(c.args.size() - 2);
    for (std::size_t i = 2; i < c.args.size(); ++i) {
      const auto it = command_table().find(to_lower(c.args[i]));
      if (it == command_table().end()) {
        c.r.null();
      } else {
        write_command_info(c, it->second);
      }
    }
  } else if (sub == "list") {
    c.r.array(command_table().size());
    for (const auto& [name, spec] : command_table()) {
      c.r.bulk(name);
    }
  } else {
    c.r.error("ERR unknown subcommand '" + std::string(c.args[1]).substr(0, 128) +
              "'. Try COMMAND HELP.");
  }
}

void cmd_info(context& c) {
  bool all = c.args.size() == 1;
  auto wants = [&](std::string_view section) {
    if (all) {
      return true;
    }
    for (std::size_t i = 1; i < c.args.size(); ++i) {
      if (iequals(c.args[i], section) || iequals(c.args[i], "all") ||
          iequals(c.args[i], "everything") || iequals(c.args[i], "default")) {
        return true;
      }
    }
    return false;
  };
  const auto port_pos = c.s.local.rfind(':');
  const std::string port =
      port_pos == std::string::npos ? std::string("0") : c.s.local.substr(port_pos + 1);
  std::string text;
  if (wants("server")) {
    std::int64_t uptime = 0;
    if (c.stats != nullptr) {
      uptime =
          std::chrono::duration_cast<std::chrono::seconds>(c.now - c.stats->started_at).count();
    }
    text += "# Server\r\nredis_version:" + c.profile.server_version +
            "\r\nredis_mode:" + (c.cluster != nullptr ? "cluster" : "standalone") +
            "\r\nos:Linux schsim\r\narch_bits:64\r\n"
            "multiplexing_api:epoll\r\nprocess_id:1\r\nrun_id:"
            "0000000000000000000000000000000000000000\r\ntcp_port:" +
            port + "\r\nuptime_in_seconds:" + std::to_string(uptime) +
            "\r\nexecutable:schsim\r\n\r\n";
  }
  if (wants("clients")) {
    text += "# Clients\r\nconnected_clients:" +
            std::to_string(c.stats != nullptr ? c.stats->connected_clients : 1) +
            "\r\nmaxclients:10000\r\nblocked_clients:" + std::to_string(c.blocking->size()) +
            "\r\n\r\n";
  }
  if (wants("stats")) {
    text += "# Stats\r\ntotal_connections_received:" +
            std::to_string(c.stats != nullptr ? c.stats->total_connections : 1) +
            "\r\ntotal_commands_processed:" +
            std::to_string(c.stats != nullptr ? c.stats->total_commands : 0) + "\r\n\r\n";
  }
  if (wants("replication")) {
    text += "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n";
  }
  // Clients read cluster_enabled to tell a cluster node from a standalone server (redis-py's
  // test suite does, before anything else).
  if (wants("cluster")) {
    text += std::string("# Cluster\r\ncluster_enabled:") + (c.cluster != nullptr ? "1" : "0") +
            "\r\n\r\n";
  }
  if (wants("keyspace")) {
    text += "# Keyspace\r\n";
    for (int db = 0; db < keyspace::database_count; ++db) {
      const auto keys = c.data.size(db, c.now);
      if (keys > 0) {
        text += "db" + std::to_string(db) + ":keys=" + std::to_string(keys) +
                ",expires=" + std::to_string(c.data.expiring(db, c.now)) + ",avg_ttl=0\r\n";
      }
    }
    text += "\r\n";
  }
  // Redis drops the blank line after the last section.
  if (text.size() >= 2) {
    text.resize(text.size() - 2);
  }
  c.r.verbatim(text);
}

void cmd_config(context& c) {
  const std::string sub = to_lower(c.args[1]);
  if (sub == "get") {
    if (c.args.size() < 3) {
      wrong_arity(c, "config|get");
      return;
    }
    const auto port_pos = c.s.local.rfind(':');
    const std::string port =
        port_pos == std::string::npos ? std::string("0") : c.s.local.substr(port_pos + 1);
    const std::array<std::pair<std::string_view, std::string>, 12> params = {{
        {"save", ""},
        {"appendonly", "no"},
        {"databases", "16"},
        {"maxmemory", "0"},
        {"maxmemory-policy", "noeviction"},
        {"maxclients", "10000"},
        {"timeout", "0"},
        {"port", port},
        {"bind", "127.0.0.1"},
        {"proto-max-bulk-len", "536870912"},
        {"cluster-enabled", "no"},
        {"client-output-buffer-limit",
         "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 "
         "8388608 60"},
    }};
    std::vector<const std::pair<std::string_view, std::string>*> hits;
    for (const auto& p : params) {
      for (std::size_t i = 2; i < c.args.size(); ++i) {
        if (glob_match(c.args[i], p.first, true)) {
          hits.push_back(&p);
          break;
        }
      }
    }
    c.r.map(hits.size());
    for (const auto* p : hits) {
      c.r.bulk(p->first);
      c.r.bulk(p->second);
    }
  } else if (sub == "set") {
    if (c.args.size() < 4 || c.args.size() % 2 != 0) {
      wrong_arity(c, "config|set");
      return;
    }
    // Accepted and ignored: the simulator has no tunables behind CONFIG.
    c.r.ok();
  } else if (sub == "resetstat") {
    c.r.ok();
  } else {
    c.r.error("ERR unknown subcommand '" + std::string(c.args[1]).substr(0, 128) +
              "'. Try CONFIG HELP.");
  }
}

// -- keyspace ----------------------------------------------------------------------------------

void cmd_dbsize(context& c) { c.r.integer(static_cast<std::int64_t>(c.data.size(c.s.db, c.now))); }

void flush_reply(context& c, void (*flush)(context&)) {
  if (c.args.size() > 2 ||
      (c.args.size() == 2 && !iequals(c.args[1], "async") && !iequals(c.args[1], "sync"))) {
    c.r.error(syntax_error);
    return;
  }
  flush(c);
  c.r.ok();
}

void cmd_flushall(context& c) {
  flush_reply(c, [](context& x) { x.data.flush_all(); });
}

void cmd_flushdb(context& c) {
  flush_reply(c, [](context& x) { x.data.flush(x.s.db); });
}

void cmd_get(context& c) {
  bool other_type = false;
  const std::string* v = c.data.get(c.s.db, c.args[1], c.now, &other_type);
  if (other_type) {
    c.r.error(wrong_type);
  } else if (v == nullptr) {
    c.r.null();
  } else {
    c.r.bulk(*v);
  }
}

/// Deadline `amount` units after now, or nullopt when it overflows (Redis: invalid expire time).
auto deadline_after(time_point now, std::int64_t amount, std::int64_t unit_ms)
    -> std::optional<time_point> {
  constexpr std::int64_t max_ms = std::numeric_limits<std::int64_t>::max() / 1'000'000 / 4;
  if (amount > max_ms / unit_ms || amount < -max_ms / unit_ms) {
    return std::nullopt;
  }
  return now + std::chrono::milliseconds(amount * unit_ms);
}

void cmd_set(context& c) {
  keyspace::set_options opts;
  bool get_old = false;
  bool have_expire = false;
  for (std::size_t j = 3; j < c.args.size(); ++j) {
    const std::string_view opt = c.args[j];
    const bool has_next = j + 1 < c.args.size();
    if (iequals(opt, "nx") && opts.condition != keyspace::set_condition::if_present) {
      opts.condition = keyspace::set_condition::if_absent;
    } else if (iequals(opt, "xx") && opts.condition != keyspace::set_condition::if_absent) {
      opts.condition = keyspace::set_condition::if_present;
    } else if (iequals(opt, "get")) {
      get_old = true;
    } else if (iequals(opt, "keepttl") && !have_expire) {
      opts.ttl = keyspace::ttl_policy::keep;
    } else if ((iequals(opt, "ex") || iequals(opt, "px")) && has_next && !have_expire &&
               opts.ttl != keyspace::ttl_policy::keep) {
      std::int64_t amount = 0;
      if (!parse_int(c.args[j + 1], amount)) {
        c.r.error(not_integer);
        return;
      }
      const auto deadline = deadline_after(c.now, amount, iequals(opt, "ex") ? 1000 : 1);
      if (amount <= 0 || !deadline) {
        c.r.error("ERR invalid expire time in 'set' command");
        return;
      }
      have_expire = true;
      opts.ttl = keyspace::ttl_policy::set;
      opts.expires_at = *deadline;
      ++j;
    } else {
      c.r.error(syntax_error);
      return;
    }
  }
  const auto result =
      c.data.set(c.s.db, c.args[1], c.args[2], opts, c.now,
                 get_old ? keyspace::previous_value::fetch : keyspace::previous_value::ignore);
  if (result.wrong_type) {
    c.r.error(wrong_type);
  } else if (get_old) {
    if (result.previous) {
      c.r.bulk(*result.previous);
    } else {
      c.r.null();
    }
  } else if (result.written) {
    c.r.ok();
  } else {
    c.r.null();
  }
}

void cmd_setnx(context& c) {
  keyspace::set_options opts;
  opts.condition = keyspace::set_condition::if_absent;
  c.r.integer(c.data.set(c.s.db, c.args[1], c.args[2], opts, c.now).written ? 1 : 0);
}

void setex_common(context& c, std::int64_t unit_ms, std::string_view name) {
  std::int64_t amount = 0;
  if (!parse_int(c.args[2], amount)) {
    c.r.error(not_integer);
    return;
  }
  const auto deadline = deadline_after(c.now, amount, unit_ms);
  if (amount <= 0 || !deadline) {
    c.r.error("ERR invalid expire time in '" + std::string(name) + "' command");
    return;
  }
  keyspace::set_options opts;
  opts.ttl = keyspace::ttl_policy::set;
  opts.expires_at = *deadline;
  c.data.set(c.s.db, c.args[1], c.args[3], opts, c.now);
  c.r.ok();
}

void cmd_setex(context& c) { setex_common(c, 1000, "setex"); }
void cmd_psetex(context& c) { setex_common(c, 1, "psetex"); }

void cmd_getset(context& c) {
  const auto result =
      c.data.set(c.s.db, c.args[1], c.args[2], {}, c.now, keyspace::previous_value::fetch);
  if (result.wrong_type) {
    c.r.error(wrong_type);
  } else if (result.previous) {
    c.r.bulk(*result.previous);
  } else {
    c.r.null();
  }
}

void cmd_getdel(context& c) {
  bool other_type = false;
  const std::string* v = c.data.get(c.s.db, c.args[1], c.now, &other_type);
  if (other_type) {
    c.r.error(wrong_type);
    return;
  }
  if (v == nullptr) {
    c.r.null();
    return;
  }
  c.r.bulk(*v);
  c.data.del(c.s.db, c.args[1], c.now);
}

void cmd_append(context& c) {
  bool other_type = false;
  const std::string* v = c.data.get(c.s.db, c.args[1], c.now, &other_type);
  if (other_type) {
    c.r.error(wrong_type);
    return;
  }
  std::string updated = v != nullptr ? *v : std::string();
  updated.append(c.args[2]);
  keyspace::set_options opts;
  opts.ttl = keyspace::ttl_policy::keep;
  c.data.set(c.s.db, c.args[1], updated, opts, c.now);
  c.r.integer(static_cast<std::int64_t>(updated.size()));
}

void cmd_strlen(context& c) {
  bool other_type = false;
  const std::string* v = c.data.get(c.s.db, c.args[1], c.now, &other_type);
  if (other_type) {
    c.r.error(wrong_type);
    return;
  }
  c.r.integer(v != nullptr ? static_cast<std::int64_t>(v->size()) : 0);
}

void cmd_del(context& c) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    n += c.data.del(c.s.db, c.args[i], c.now) ? 1 : 0;
  }
  c.r.integer(n);
}

void cmd_exists(context& c) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    n += c.data.exists(c.s.db, c.args[i], c.now) ? 1 : 0;
  }
  c.r.integer(n);
}

void cmd_type(context& c) { c.r.simple(type_name(c.data.type_of(c.s.db, c.args[1], c.now))); }

void incr_common(context& c, std::int64_t delta) {
  const auto result = c.data.incr_by(c.s.db, c.args[1], delta, c.now);
  switch (result.error) {
    case keyspace::arith_error::none:
      c.r.integer(result.value);
      break;
    case keyspace::arith_error::not_an_integer:
      c.r.error(not_integer);
      break;
    case keyspace::arith_error::overflow:
      c.r.error("ERR increment or decrement would overflow");
      break;
    case keyspace::arith_error::wrong_type:
      c.r.error(wrong_type);
      break;
  }
}

void cmd_incr(context& c) { incr_common(c, 1); }
void cmd_decr(context& c) { incr_common(c, -1); }

void cmd_incrby(context& c) {
  std::int64_t delta = 0;
  if (!parse_int(c.args[2], delta)) {
    c.r.error(not_integer);
    return;
  }
  incr_common(c, delta);
}

void cmd_decrby(context& c) {
  std::int64_t delta = 0;
  if (!parse_int(c.args[2], delta)) {
    c.r.error(not_integer);
    return;
  }
  if (delta == std::numeric_limits<std::int64_t>::min()) {
    c.r.error("ERR decrement would overflow");
    return;
  }
  incr_common(c, -delta);
}

void cmd_mget(context& c) {
  c.r.array(c.args.size() - 1);
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    const std::string* v = c.data.get(c.s.db, c.args[i], c.now);
    if (v == nullptr) {
      c.r.null();
    } else {
      c.r.bulk(*v);
    }
  }
}

void cmd_mset(context& c) {
  if (c.args.size() % 2 == 0) {
    wrong_arity(c, "mset");
    return;
  }
  for (std::size_t i = 1; i + 1 < c.args.size(); i += 2) {
    c.data.set(c.s.db, c.args[i], c.args[i + 1], {}, c.now);
  }
  c.r.ok();
}

void expire_common(context& c, std::int64_t unit_ms, std::string_view name) {
  std::int64_t amount = 0;
  if (!parse_int(c.args[2], amount)) {
    c.r.error(not_integer);
    return;
  }
  bool nx = false;
  bool xx = false;
  bool gt = false;
  bool lt = false;
  for (std::size_t j = 3; j < c.args.size(); ++j) {
    if (iequals(c.args[j], "nx")) {
      nx = true;
    } else if (iequals(c.args[j], "xx")) {
      xx = true;
    } else if (iequals(c.args[j], "gt")) {
      gt = true;
    } else if (iequals(c.args[j], "lt")) {
      lt = true;
    } else {
      c.r.error("ERR Unsupported option " + std::string(c.args[j]));
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    c.r.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    c.r.error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  const auto target = deadline_after(c.now, amount, unit_ms);
  if (!target) {
    c.r.error("ERR invalid expire time in '" + std::string(name) + "' command");
    return;
  }
  const auto current = c.data.deadline(c.s.db, c.args[1], c.now);
  if (!current) {
    c.r.integer(0);
    return;
  }
  const std::optional<time_point>& has = *current;
  if ((nx && has) || (xx && !has) || (gt && (!has || *target <= *has)) ||
      (lt && has && *target >= *has)) {
    c.r.integer(0);
    return;
  }
  c.r.integer(c.data.expire_at(c.s.db, c.args[1], *target, c.now) ? 1 : 0);
}

void cmd_expire(context& c) { expire_common(c, 1000, "expire"); }
void cmd_pexpire(context& c) { expire_common(c, 1, "pexpire"); }

void cmd_persist(context& c) { c.r.integer(c.data.persist(c.s.db, c.args[1], c.now) ? 1 : 0); }

void ttl_common(context& c, bool in_ms) {
  const auto current = c.data.deadline(c.s.db, c.args[1], c.now);
  if (!current) {
    c.r.integer(-2);
  } else if (!*current) {
    c.r.integer(-1);
  } else {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(**current - c.now).count();
    c.r.integer(in_ms ? left : (left + 500) / 1000);
  }
}

void cmd_ttl(context& c) { ttl_common(c, false); }
void cmd_pttl(context& c) { ttl_common(c, true); }

// -- cluster -----------------------------------------------------------------------------------

constexpr std::string_view cluster_disabled = "ERR This instance has cluster support disabled";

void cmd_readonly(context& c) {
  if (c.cluster == nullptr) {
    c.r.error(cluster_disabled);
  } else {
    c.r.ok();  // every node is a master here: reads are served as they would be anyway
  }
}

void cmd_readwrite(context& c) { cmd_readonly(c); }

void cmd_asking(context& c) {
  if (c.cluster == nullptr) {
    c.r.error(cluster_disabled);
    return;
  }
  c.cluster->set_asking(c.s.id);
  c.r.ok();
}

// Node details as CLUSTER SLOTS gives them: preferred endpoint (the IP), port, id and a map of
// the other networking metadata, empty here (Redis 7).
void write_slots_node(context& c, const cluster_node& n) {
  c.r.array(4);
  c.r.bulk(n.host);
  c.r.integer(n.port);
  c.r.bulk(n.id);
  c.r.map(0);
}

void cluster_slots(context& c) {
  struct row {
    schsim::cluster::slot_range range;
    const cluster_node* node;
  };
  std::vector<row> rows;
  for (const auto& n : c.cluster->nodes()) {
    for (const auto& r : n.slots.ranges()) {
      rows.push_back(row{r, &n});
    }
  }
  std::ranges::sort(rows, {}, [](const row& r) { return r.range.first; });
  c.r.array(rows.size());
  for (const auto& r : rows) {
    c.r.array(3);
    c.r.integer(r.range.first);
    c.r.integer(r.range.last);
    write_slots_node(c, *r.node);
  }
}

void cluster_shards(context& c) {
  const auto members = c.cluster->members();
  c.r.array(members.size());
  for (const auto* n : members) {
    c.r.map(2);
    c.r.bulk("slots");
    const auto ranges = n->slots.ranges();
    c.r.array(ranges.size() * 2);
    for (const auto& r : ranges) {
      c.r.integer(r.first);
      c.r.integer(r.last);
    }
    c.r.bulk("nodes");
    c.r.array(1);
    c.r.map(7);
    c.r.bulk("id");
    c.r.bulk(n->id);
    c.r.bulk("port");
    c.r.integer(n->port);
    c.r.bulk("ip");
    c.r.bulk(n->host);
    c.r.bulk("endpoint");
    c.r.bulk(n->host);
    c.r.bulk("replication-offset");
    c.r.integer(0);
    c.r.bulk("role");
    c.r.bulk("master");
    c.r.bulk("health");
    c.r.bulk("online");
  }
}

void cluster_nodes(context& c) {
  const auto members = c.cluster->members();
  std::string out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& n = *members[i];
    out += n.id + " " + n.address() + "@" + std::to_string(n.port + 10000) + " " +
           (n.name == c.node ? "myself,master" : "master") + " - 0 0 " + std::to_string(i + 1) +
           " connected";
    for (const auto& r : n.slots.ranges()) {
      out += " " + std::to_string(r.first);
      if (r.last != r.first) {
        out += "-" + std::to_string(r.last);
      }
    }
    // Redis lists each slot in flight on both sides: [slot->-target] and [slot-<-source].
    for (const auto& m : c.cluster->migrations()) {
      const bool exporting = m.from == n.name;
      if (!exporting && m.to != n.name) {
        continue;
      }
      const auto* peer = c.cluster->find(exporting ? m.to : m.from);
      for (const auto& r : m.slots.ranges()) {
        for (std::uint32_t slot = r.first; slot <= r.last; ++slot) {
          out += " [" + std::to_string(slot) + (exporting ? "->-" : "-<-") + peer->id + "]";
        }
      }
    }
    out += "\n";
  }
  c.r.verbatim(out);
}

void cluster_info(context& c) {
  std::size_t assigned = 0;
  std::size_t size = 0;
  for (const auto& n : c.cluster->nodes()) {
    assigned += n.slots.size();
    size += n.slots.empty() ? 0 : 1;
  }
  const auto members = c.cluster->members();
  std::size_t my_epoch = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i]->name == c.node) {
      my_epoch = i + 1;
    }
  }
  const auto line = [](std::string_view name, std::size_t v) {
    return std::string(name) + ":" + std::to_string(v) + "\r\n";
  };
  std::string out = std::string("cluster_state:") +
                    (assigned == schsim::cluster::slot_count ? "ok" : "fail") + "\r\n";
  out += line("cluster_slots_assigned", assigned);
  out += line("cluster_slots_ok", assigned);
  out += line("cluster_slots_pfail", 0);
  out += line("cluster_slots_fail", 0);
  out += line("cluster_known_nodes", members.size());
  out += line("cluster_size", size);
  out += line("cluster_current_epoch", members.size());
  out += line("cluster_my_epoch", my_epoch);
  out += line("cluster_stats_messages_sent", 0);
  out += line("cluster_stats_messages_received", 0);
  out += line("total_cluster_links_buffer_limit_exceeded", 0);
  c.r.verbatim(out);
}

void cluster_help(context& c) {
  constexpr std::array lines = {
      "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"sv,
      "INFO"sv,
      "    Return information about the cluster."sv,
      "KEYSLOT <key>"sv,
      "    Return the hash slot for <key>."sv,
      "MYID"sv,
      "    Return the node id."sv,
      "NODES"sv,
      "    Return cluster configuration seen by node. Output format:"sv,
      "    <id> <ip:port@bus-port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ..."sv,
      "SHARDS"sv,
      "    Return information about slot range mappings and the nodes associated with them."sv,
      "SLOTS"sv,
      "    Return information about slots range mappings. Each range is made of:"sv,
      "    start, end, master and replicas IP addresses, ports and ids"sv,
      "HELP"sv,
      "    Print this help."sv,
  };
  c.r.array(lines.size());
  for (auto l : lines) {
    c.r.simple(l);
  }
}

void cmd_cluster(context& c) {
  struct sub {
    std::string_view name;
    int arity;
    void (*fn)(context&);
  };
  static constexpr std::array subs = {
      sub{"slots", 2, cluster_slots}, sub{"shards", 2, cluster_shards},
      sub{"nodes", 2, cluster_nodes}, sub{"info", 2, cluster_info},
      sub{"keyslot", 3, nullptr},     sub{"myid", 2, nullptr},
      sub{"help", 2, cluster_help},
  };
  const auto it =
      std::ranges::find_if(subs, [&](const sub& x) { return iequals(x.name, c.args[1]); });
  if (it == subs.end()) {
    c.r.error("ERR unknown subcommand '" + std::string(c.args[1].substr(0, 128)) +
              "'. Try CLUSTER HELP.");
    return;
  }
  if (!arity_ok(it->arity, c.args.size())) {
    wrong_arity(c, "cluster|" + std::string(it->name));
    return;
  }
  if (it->name == "help") {
    cluster_help(c);
    return;
  }
  if (c.cluster == nullptr) {
    c.r.error(cluster_disabled);
    return;
  }
  if (it->name == "keyslot") {
    c.r.integer(schsim::cluster::key_slot(c.args[2]));
  } else if (it->name == "myid") {
    c.r.bulk(cluster_state::node_id(c.node));
  } else {
    it->fn(c);
  }
}

/// The key arguments of a command, by its spec.
auto keys_of(const command_spec& spec, std::span<const std::string_view> args)
    -> std::vector<std::string_view> {
  std::vector<std::string_view> keys;
  if (spec.first_key <= 0) {
    return keys;
  }
  // A negative last counts from the end: -1 the last argument, -2 the one before (BLPOP's
  // timeout is not a key).
  const auto last = spec.last_key < 0 ? static_cast<std::ptrdiff_t>(args.size()) + spec.last_key
                                      : static_cast<std::ptrdiff_t>(spec.last_key);
  for (std::ptrdiff_t i = spec.first_key; i <= last && i < static_cast<std::ptrdiff_t>(args.size());
       i += spec.key_step) {
    keys.push_back(args[static_cast<std::size_t>(i)]);
  }
  return keys;
}

/// Shard channels are served by the slot's owner until its migration completes (Redis skips the
/// key lookup for them); the importing node serves them only after ASKING, through route().
auto serves_shard_channels(const context& c, std::span<const std::string_view> keys) -> bool {
  if (keys.empty()) {
    return true;
  }
  const auto slot = schsim::cluster::key_slot(keys.front());
  const auto* owning = c.cluster->owner(slot);
  return owning != nullptr && owning->name == c.node &&
         std::all_of(keys.begin(), keys.end(),
                     [slot](std::string_view k) { return schsim::cluster::key_slot(k) == slot; });
}

// Cluster mode: whether this node executes the command; if not, the redirect or error is
// written and reported to `on_redirect`.
auto route_by_slot(context& c, const command_spec& spec, bool asking,
                   const command_handler::redirect_observer& on_redirect) -> bool {
  const auto keys = keys_of(spec, c.args);
  if (spec.shard_channels && serves_shard_channels(c, keys)) {
    return true;
  }
  const auto decision = c.cluster->route(c.node, asking, keys, c.now, [&](std::string_view key) {
    return c.data.exists(c.s.db, key, c.now);
  });
  using kind = route_decision::kind;
  switch (decision.what) {
    case kind::serve:
      return true;
    case kind::moved:
    case kind::ask: {
      const bool moved = decision.what == kind::moved;
      const auto address = decision.target->address();
      c.r.error(std::string(moved ? "MOVED " : "ASK ") + std::to_string(decision.slot) + " " +
                address);
      timeline::cluster_redirect ev;
      ev.what =
          moved ? timeline::cluster_redirect::kind::moved : timeline::cluster_redirect::kind::ask;
      ev.slot = decision.slot;
      ev.target = decision.target->name;
      ev.address = address;
      ev.command = std::string(c.args[0].substr(0, 128));
      if (on_redirect) {
        on_redirect(c.s, ev);
      }
      c.outcome.redirect = std::move(ev);
      return false;
    }
    case kind::crossslot:
      c.r.error("CROSSSLOT Keys in request don't hash to the same slot");
      return false;
    case kind::tryagain:
      c.r.error("TRYAGAIN Multiple keys request during rehashing of slot");
      return false;
    case kind::unowned:
      c.r.error("CLUSTERDOWN Hash slot not served");
      return false;
  }
  return true;
}

// -- transactions ------------------------------------------------------------------------------

auto find_command(std::span<const std::string_view> args) -> const command_spec*;

void cmd_multi(context& c) {
  if (c.s.multi.active) {
    c.r.error("ERR MULTI calls can not be nested");
    return;
  }
  c.s.multi = {};
  c.s.multi.active = true;
  c.s.multi.multi_index = c.s.command_index;
  c.r.ok();
}

/// Ends the connection's transaction (if one is open) with `result`, for the timeline.
auto end_transaction(session_state& s, timeline::transaction_ended::outcome result)
    -> std::optional<timeline::transaction_ended> {
  if (!s.multi.active) {
    return std::nullopt;
  }
  timeline::transaction_ended ev;
  ev.result = result;
  ev.multi_index = s.multi.multi_index;
  ev.end_index = s.command_index;
  ev.commands = std::move(s.multi.queued_index);
  s.multi = {};
  return ev;
}

void cmd_discard(context& c) {
  if (!c.s.multi.active) {
    c.r.error("ERR DISCARD without MULTI");
    return;
  }
  c.outcome.transaction = end_transaction(c.s, timeline::transaction_ended::outcome::discarded);
  c.data.unwatch(c.s.id);
  c.r.ok();
}

void cmd_watch(context& c) {
  if (c.s.multi.active) {
    c.r.error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    c.data.watch(c.s.id, c.s.db, c.args[i], c.now);
  }
  c.r.ok();
}

void cmd_unwatch(context& c) {
  c.data.unwatch(c.s.id);
  c.r.ok();
}

// Runs the queued commands as Redis's EXEC does: no arity, auth or routing checks again (they
// ran while queuing), each reply appended to the array in the protocol of the moment.
void cmd_exec(context& c) {
  if (!c.s.multi.active) {
    c.r.error("ERR EXEC without MULTI");
    return;
  }
  using outcome = timeline::transaction_ended::outcome;
  const transaction_state tx = std::move(c.s.multi);
  c.s.multi = tx;  // for end_transaction's record; the queued commands are run from `tx`
  const bool watch_broken = c.data.watch_broken(c.s.id, c.now);
  c.data.unwatch(c.s.id);
  if (tx.refused) {
    c.outcome.transaction = end_transaction(c.s, outcome::aborted);
    c.r.error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  if (watch_broken) {
    c.outcome.transaction = end_transaction(c.s, outcome::watch_failed);
    c.r.null_array();
    return;
  }
  auto ended = end_transaction(c.s, outcome::executed);
  c.r.array(tx.queued.size());
  std::vector<std::string_view> views;
  const std::uint64_t exec_index = c.s.command_index;
  for (std::size_t i = 0; i < tx.queued.size(); ++i) {
    views.assign(tx.queued[i].begin(), tx.queued[i].end());
    reply_writer inner(c.r.buffer(), c.s.protocol);
    context ic{c.s,     views,     c.now,  inner,    c.outcome,  c.data, c.profile,
               c.stats, c.cluster, c.node, c.pubsub, c.blocking, true};
    c.s.command_index = tx.queued_index[i];  // list events name the queued command
    find_command(views)->fn(ic);
    ended->errors += inner.errored() ? 1 : 0;
  }
  c.s.command_index = exec_index;
  c.outcome.transaction = std::move(ended);
}

// -- lists -------------------------------------------------------------------------------------

auto end_named(std::string_view word) -> std::optional<list_end> {
  if (iequals(word, "left")) {
    return list_end::left;
  }
  if (iequals(word, "right")) {
    return list_end::right;
  }
  return std::nullopt;
}

/// Where a command's list effects go: the command's outcome, or a served blocked command's.
struct list_effects {
  std::vector<list_element_event>& pushed;
  std::vector<list_element_event>& popped;
  std::uint64_t index = 0;

  void pop(std::string_view key, std::string element) {
    popped.push_back({std::string(key), std::move(element), index});
  }
  void push(std::string_view key, std::string_view element) {
    pushed.push_back({std::string(key), std::string(element), index});
  }
};

auto effects_of(context& c) -> list_effects {
  return {c.outcome.pushed, c.outcome.popped, c.s.command_index};
}

void push_common(context& c, list_end end) {
  const auto elements = c.args.subspan(2);
  const auto result = c.data.push(c.s.db, c.args[1], elements, end, c.now);
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  c.blocking->signal_ready(c.s.db, c.args[1]);
  auto effects = effects_of(c);
  for (const auto element : elements) {
    effects.push(c.args[1], element);
  }
  c.r.integer(static_cast<std::int64_t>(result.length));
}
void cmd_lpush(context& c) { push_common(c, list_end::left); }
void cmd_rpush(context& c) { push_common(c, list_end::right); }

void pop_common(context& c, list_end end) {
  if (c.args.size() > 3) {
    wrong_arity(c, end == list_end::left ? "lpop" : "rpop");
    return;
  }
  const bool has_count = c.args.size() == 3;
  std::int64_t count = 1;
  if (has_count && (!parse_int(c.args[2], count) || count < 0)) {
    c.r.error("ERR value is out of range, must be positive");
    return;
  }
  auto result = c.data.pop(c.s.db, c.args[1], end, static_cast<std::size_t>(count), c.now);
  if (!result.found) {
    has_count ? c.r.null_array() : c.r.null();
    return;
  }
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  if (has_count) {
    c.r.array(result.elements.size());
  }
  auto effects = effects_of(c);
  for (auto& element : result.elements) {
    c.r.bulk(element);
    effects.pop(c.args[1], std::move(element));
  }
}
void cmd_lpop(context& c) { pop_common(c, list_end::left); }
void cmd_rpop(context& c) { pop_common(c, list_end::right); }

void cmd_llen(context& c) {
  const auto result = c.data.list_length(c.s.db, c.args[1], c.now);
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  c.r.integer(static_cast<std::int64_t>(result.length));
}

void cmd_lrange(context& c) {
  std::int64_t start = 0;
  std::int64_t stop = 0;
  if (!parse_int(c.args[2], start) || !parse_int(c.args[3], stop)) {
    c.r.error(not_integer);
    return;
  }
  const auto result = c.data.list_range(c.s.db, c.args[1], start, stop, c.now);
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  c.r.array(result.elements.size());
  for (const auto& element : result.elements) {
    c.r.bulk(element);
  }
}

/// LMOVE's work, shared by BLMOVE and a served BLMOVE: false when the source is empty (nothing
/// written); else the reply (the element, or WRONGTYPE for either key) is written.
auto move_element(keyspace& data, blocking_registry& blocking, int db, std::string_view source,
                  std::string_view destination, list_end from, list_end to, time_point now,
                  reply_writer& r, list_effects effects) -> bool {
  const auto source_length = data.list_length(db, source, now);
  if (source_length.wrong_type) {
    r.error(wrong_type);
    return true;
  }
  if (source_length.length == 0) {
    return false;
  }
  const auto target = data.type_of(db, destination, now);
  if (target != value_type::none && target != value_type::list) {
    r.error(wrong_type);
    return true;
  }
  auto popped = data.pop(db, source, from, 1, now);
  const std::string_view element = popped.elements.front();
  data.push(db, destination, std::span(&element, 1), to, now);
  blocking.signal_ready(db, destination);
  r.bulk(element);
  effects.push(destination, element);
  effects.pop(source, std::move(popped.elements.front()));
  return true;
}

void cmd_lmove(context& c) {
  const auto from = end_named(c.args[3]);
  const auto to = end_named(c.args[4]);
  if (!from || !to) {
    c.r.error(syntax_error);
    return;
  }
  if (!move_element(c.data, *c.blocking, c.s.db, c.args[1], c.args[2], *from, *to, c.now, c.r,
                    effects_of(c))) {
    c.r.null();
  }
}

// -- streams -----------------------------------------------------------------------------------

constexpr std::string_view invalid_stream_id =
    "ERR Invalid stream ID specified as stream command argument";
constexpr stream_id max_stream_id{std::numeric_limits<std::uint64_t>::max(),
                                  std::numeric_limits<std::uint64_t>::max()};

auto parse_u64(std::string_view s, std::uint64_t& out) -> bool {
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), last, out);
  return !s.empty() && ec == std::errc{} && ptr == last;
}

/// `ms-seq`, or `ms` with `missing_seq` as the sequence (0 for a start, max for an end).
auto parse_stream_id(std::string_view s, std::uint64_t missing_seq) -> std::optional<stream_id> {
  stream_id id;
  const auto dash = s.find('-');
  if (!parse_u64(s.substr(0, dash), id.ms)) {
    return std::nullopt;
  }
  if (dash == std::string_view::npos) {
    id.seq = missing_seq;
  } else if (!parse_u64(s.substr(dash + 1), id.seq)) {
    return std::nullopt;
  }
  return id;
}

void write_stream_entries(reply_writer& r, const std::vector<stream_entry>& entries) {
  r.array(entries.size());
  for (const auto& e : entries) {
    r.array(2);
    r.bulk(e.id.to_string());
    r.array(e.fields.size());
    for (const auto& f : e.fields) {
      r.bulk(f);
    }
  }
}

void cmd_xadd(context& c) {
  // XADD key <* | ms-seq | ms-* | ms> field value [field value ...] (NOMKSTREAM, MAXLEN and
  // MINID are not simulated: they read as an invalid ID).
  if ((c.args.size() - 3) % 2 != 0) {
    wrong_arity(c, "xadd");
    return;
  }
  const std::string_view text = c.args[2];
  std::optional<stream_id> id;
  bool seq_auto = false;
  if (text != "*") {
    seq_auto = text.ends_with("-*");
    id = parse_stream_id(seq_auto ? text.substr(0, text.size() - 2) : text, 0);
    if (!id) {
      c.r.error(invalid_stream_id);
      return;
    }
    if (!seq_auto && *id == stream_id{}) {
      c.r.error("ERR The ID specified in XADD must be greater than 0-0");
      return;
    }
  }
  const auto result = c.data.stream_add(c.s.db, c.args[1], id, seq_auto, c.args.subspan(3), c.now);
  switch (result.status) {
    case keyspace::stream_add_status::added:
      c.blocking->signal_ready(c.s.db, c.args[1]);
      c.r.bulk(result.id.to_string());
      break;
    case keyspace::stream_add_status::wrong_type:
      c.r.error(wrong_type);
      break;
    case keyspace::stream_add_status::id_not_greater:
      c.r.error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
      break;
    case keyspace::stream_add_status::id_zero:
      c.r.error("ERR The ID specified in XADD must be greater than 0-0");
      break;
  }
}

void cmd_xlen(context& c) {
  const auto result =
      c.data.stream_range(c.s.db, c.args[1], max_stream_id, max_stream_id, 1, c.now, true);
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  c.r.integer(static_cast<std::int64_t>(result.length));
}

void cmd_xrange(context& c) {
  const auto bound = [](std::string_view s, bool end) -> std::optional<stream_id> {
    if (s == "-") {
      return stream_id{};
    }
    if (s == "+") {
      return max_stream_id;
    }
    return parse_stream_id(s, end ? std::numeric_limits<std::uint64_t>::max() : 0);
  };
  std::int64_t count = -1;
  if (c.args.size() == 6 && iequals(c.args[4], "count")) {
    if (!parse_int(c.args[5], count)) {
      c.r.error(not_integer);
      return;
    }
    count = std::max<std::int64_t>(count, 0);
  } else if (c.args.size() != 4) {
    c.r.error(syntax_error);
    return;
  }
  const auto from = bound(c.args[2], false);
  const auto to = bound(c.args[3], true);
  if (!from || !to) {
    c.r.error(invalid_stream_id);
    return;
  }
  if (count == 0) {
    c.r.null_array();
    return;
  }
  const auto result = c.data.stream_range(c.s.db, c.args[1], *from, *to,
                                          count < 0 ? 0 : static_cast<std::size_t>(count), c.now);
  if (result.wrong_type) {
    c.r.error(wrong_type);
    return;
  }
  write_stream_entries(c.r, result.entries);
}

/// XREAD's work, shared by a served XREAD BLOCK: false when no stream has an entry after its
/// ID (nothing written); else the reply (a map of stream to entries in RESP3, an array of
/// [stream, entries] pairs in RESP2, or WRONGTYPE).
auto read_streams(keyspace& data, int db, std::span<const std::string_view> keys,
                  std::span<const stream_id> after, std::size_t count, time_point now,
                  reply_writer& r) -> bool {
  std::vector<std::pair<std::string_view, std::vector<stream_entry>>> hits;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto result = data.stream_range(db, keys[i], after[i], max_stream_id, count, now, true);
    if (result.wrong_type) {
      r.error(wrong_type);
      return true;
    }
    if (!result.entries.empty()) {
      hits.emplace_back(keys[i], std::move(result.entries));
    }
  }
  if (hits.empty()) {
    return false;
  }
  const bool resp3 = r.protocol() == resp3::protocol::resp3;
  resp3 ? r.map(hits.size()) : r.array(hits.size());
  for (const auto& [key, entries] : hits) {
    if (!resp3) {
      r.array(2);
    }
    r.bulk(key);
    write_stream_entries(r, entries);
  }
  return true;
}

// -- blocking commands ---------------------------------------------------------------------------

/// Redis's string2ld: strtold over the whole text, no leading space, no NaN, no overflow.
auto parse_long_double(std::string_view s, long double& out) -> bool {
  constexpr std::size_t max_long_double_chars = 5 * 1024;
  if (s.empty() || s.size() >= max_long_double_chars ||
      std::isspace(static_cast<unsigned char>(s[0])) != 0) {
    return false;
  }
  const std::string text(s);
  char* end = nullptr;
  errno = 0;
  const long double value = std::strtold(text.c_str(), &end);
  if (*end != '\0' || std::isnan(value) ||
      (errno == ERANGE &&
       (value == HUGE_VALL || value == -HUGE_VALL || std::fpclassify(value) == FP_ZERO))) {
    return false;
  }
  out = value;
  return true;
}

enum class timeout_unit { seconds, milliseconds };

/**
 * Redis's getTimeoutFromObjectOrReply: seconds as a float (rounded up to whole milliseconds)
 * for BLPOP/BRPOP/BLMOVE, integer milliseconds for XREAD BLOCK. Empty after writing the error;
 * otherwise the deadline, itself empty for 0 (block until served). A deadline past what a
 * time_point holds (about 292 years on) also blocks until served.
 */
auto block_deadline(context& c, std::string_view text, timeout_unit unit)
    -> std::optional<std::optional<time_point>> {
  constexpr auto llong_max = std::numeric_limits<std::int64_t>::max();
  std::int64_t ms = 0;
  if (unit == timeout_unit::seconds) {
    long double value = 0;
    if (!parse_long_double(text, value)) {
      c.r.error("ERR timeout is not a float or out of range");
      return std::nullopt;
    }
    value *= 1000.0L;
    if (value > static_cast<long double>(llong_max)) {
      c.r.error("ERR timeout is out of range");
      return std::nullopt;
    }
    const long double rounded = std::ceil(value);
    ms = rounded < 0 ? -1 : static_cast<std::int64_t>(rounded);
  } else if (!parse_int(text, ms)) {
    c.r.error("ERR timeout is not an integer or out of range");
    return std::nullopt;
  }
  if (ms < 0) {
    c.r.error("ERR timeout is negative");
    return std::nullopt;
  }
  if (ms == 0) {
    return std::optional<time_point>{};
  }
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.now.time_since_epoch()).count();
  if (ms > llong_max - now_ms) {
    c.r.error("ERR timeout is out of range");  // deadline = now + timeout would overflow
    return std::nullopt;
  }
  const auto room_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time_point::max() - c.now).count();
  if (ms >= room_ms) {
    return std::optional<time_point>{};
  }
  return std::optional<time_point>{c.now + std::chrono::milliseconds(ms)};
}

/// BLPOP/BRPOP's pop: the first key in argument order that holds elements gives one; false
/// when none does (nothing written). A key of another type answers WRONGTYPE.
auto pop_first_ready(keyspace& data, int db, std::span<const std::string_view> keys, list_end end,
                     time_point now, reply_writer& r, list_effects effects) -> bool {
  for (const auto key : keys) {
    auto result = data.pop(db, key, end, 1, now);
    if (result.wrong_type) {
      r.error(wrong_type);
      return true;
    }
    if (!result.elements.empty()) {
      r.array(2);
      r.bulk(key);
      r.bulk(result.elements.front());
      effects.pop(key, std::move(result.elements.front()));
      return true;
    }
  }
  return false;
}

/// Parks the command: the connection waits in the registry, no reply is written now.
void park(context& c, blocked_command cmd, std::optional<time_point> deadline) {
  cmd.conn = c.s.id;
  cmd.index = c.s.command_index;
  cmd.db = c.s.db;
  cmd.protocol = c.s.protocol;
  cmd.deadline = deadline;
  c.blocking->block(std::move(cmd));
  c.outcome.blocked = true;
}

void blocking_pop(context& c, list_end end) {
  const auto deadline = block_deadline(c, c.args.back(), timeout_unit::seconds);
  if (!deadline) {
    return;
  }
  const auto keys = c.args.subspan(1, c.args.size() - 2);
  if (pop_first_ready(c.data, c.s.db, keys, end, c.now, c.r, effects_of(c))) {
    return;
  }
  if (c.in_exec) {
    c.r.null_array();  // inside MULTI nothing blocks: an immediate timeout
    return;
  }
  blocked_command cmd;
  cmd.kind = blocking_kind::pop;
  cmd.keys.assign(keys.begin(), keys.end());
  cmd.from = end;
  park(c, std::move(cmd), *deadline);
}
void cmd_blpop(context& c) { blocking_pop(c, list_end::left); }
void cmd_brpop(context& c) { blocking_pop(c, list_end::right); }

void cmd_blmove(context& c) {
  const auto from = end_named(c.args[3]);
  const auto to = end_named(c.args[4]);
  if (!from || !to) {
    c.r.error(syntax_error);
    return;
  }
  const auto deadline = block_deadline(c, c.args[5], timeout_unit::seconds);
  if (!deadline) {
    return;
  }
  if (move_element(c.data, *c.blocking, c.s.db, c.args[1], c.args[2], *from, *to, c.now, c.r,
                   effects_of(c))) {
    return;
  }
  if (c.in_exec) {
    c.r.null();
    return;
  }
  blocked_command cmd;
  cmd.kind = blocking_kind::move;
  cmd.keys.emplace_back(c.args[1]);
  cmd.destination = std::string(c.args[2]);
  cmd.from = *from;
  cmd.to = *to;
  park(c, std::move(cmd), *deadline);
}

/// XREAD's options up to STREAMS; false after writing the error.
struct xread_request {
  std::optional<std::optional<time_point>> block;  ///< BLOCK given: its deadline
  std::size_t count = 0;
  std::span<const std::string_view> keys;
  std::span<const std::string_view> ids;
};

auto parse_xread(context& c, xread_request& req) -> bool {
  std::size_t streams_at = 0;
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    const bool more = i + 1 < c.args.size();
    if (iequals(c.args[i], "block") && more) {
      req.block = block_deadline(c, c.args[++i], timeout_unit::milliseconds);
      if (!req.block) {
        return false;
      }
    } else if (iequals(c.args[i], "count") && more) {
      std::int64_t count = 0;
      if (!parse_int(c.args[++i], count)) {
        c.r.error(not_integer);
        return false;
      }
      req.count = static_cast<std::size_t>(std::max<std::int64_t>(count, 0));
    } else if (iequals(c.args[i], "streams") && more) {
      streams_at = i + 1;
      break;
    } else {
      c.r.error(syntax_error);
      return false;
    }
  }
  if (streams_at == 0) {
    c.r.error(syntax_error);
    return false;
  }
  const std::size_t n = c.args.size() - streams_at;
  if (n % 2 != 0) {
    c.r.error(
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be "
        "specified.");
    return false;
  }
  req.keys = c.args.subspan(streams_at, n / 2);
  req.ids = c.args.subspan(streams_at + n / 2);
  return true;
}

void cmd_xread(context& c) {
  xread_request req;
  if (!parse_xread(c, req)) {
    return;
  }
  std::vector<stream_id> after;
  for (std::size_t i = 0; i < req.keys.size(); ++i) {
    const auto top =
        c.data.stream_range(c.s.db, req.keys[i], max_stream_id, max_stream_id, 1, c.now, true);
    if (top.wrong_type) {
      c.r.error(wrong_type);
      return;
    }
    const auto id = req.ids[i] == "$" ? std::optional(top.last) : parse_stream_id(req.ids[i], 0);
    if (!id) {
      c.r.error(invalid_stream_id);
      return;
    }
    after.push_back(*id);
  }
  if (read_streams(c.data, c.s.db, req.keys, after, req.count, c.now, c.r)) {
    return;
  }
  if (!req.block || c.in_exec) {
    c.r.null_array();
    return;
  }
  blocked_command cmd;
  cmd.kind = blocking_kind::xread;
  cmd.keys.assign(req.keys.begin(), req.keys.end());
  cmd.after = std::move(after);
  cmd.count = req.count;
  park(c, std::move(cmd), *req.block);
}

// -- Pub/Sub (the registry and the frames: pubsub.cpp) ----------------------------------------

void subscribe_common(context& c, subscription_kind kind) {
  c.pubsub->subscribe(c.s.id, c.node, kind, c.args.subspan(1), c.s.protocol, c.r.buffer());
}
void unsubscribe_common(context& c, subscription_kind kind) {
  c.pubsub->unsubscribe(c.s.id, kind, c.args.subspan(1), c.s.protocol, c.r.buffer());
}
void cmd_subscribe(context& c) { subscribe_common(c, subscription_kind::channel); }
void cmd_psubscribe(context& c) { subscribe_common(c, subscription_kind::pattern); }
void cmd_ssubscribe(context& c) {
  if (c.in_exec) {
    c.r.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    return;
  }
  subscribe_common(c, subscription_kind::shard);
}
void cmd_unsubscribe(context& c) { unsubscribe_common(c, subscription_kind::channel); }
void cmd_punsubscribe(context& c) { unsubscribe_common(c, subscription_kind::pattern); }
void cmd_sunsubscribe(context& c) { unsubscribe_common(c, subscription_kind::shard); }

/// PUBLISH / SPUBLISH: replies with the receivers (in cluster mode those on this node, as Redis
/// counts); the session writes the messages after this reply.
void publish_common(context& c, bool sharded) {
  publication p = sharded ? c.pubsub->spublish(c.node, c.args[1], c.args[2])
                          : c.pubsub->publish(c.args[1], c.args[2]);
  const auto counted = c.cluster == nullptr
                           ? p.receivers.size()
                           : static_cast<std::size_t>(std::count_if(
                                 p.receivers.begin(), p.receivers.end(), [&](const auto& rc) {
                                   return c.pubsub->node_of(rc.conn) == c.node;
                                 }));
  c.r.integer(static_cast<std::int64_t>(counted));
  c.outcome.publications.push_back(std::move(p));
}
void cmd_publish(context& c) { publish_common(c, false); }
void cmd_spublish(context& c) { publish_common(c, true); }

/// Redis 7.4's PUBSUB HELP text.
void pubsub_help(context& c) {
  constexpr std::array lines = {
      "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"sv,
      "CHANNELS [<pattern>]"sv,
      "    Return the currently active channels matching a <pattern> (default: '*')."sv,
      "NUMPAT"sv,
      "    Return number of subscriptions to patterns."sv,
      "NUMSUB [<channel> ...]"sv,
      "    Return the number of subscribers for the specified channels, excluding"sv,
      "    pattern subscriptions(default: no channels)."sv,
      "SHARDCHANNELS [<pattern>]"sv,
      "    Return the currently active shard level channels matching a <pattern> (default: '*')."sv,
      "SHARDNUMSUB [<shardchannel> ...]"sv,
      "    Return the number of subscribers for the specified shard level channel(s)"sv,
      "HELP"sv,
      "    Print this help."sv,
  };
  c.r.array(lines.size());
  for (auto l : lines) {
    c.r.simple(l);
  }
}

void cmd_pubsub(context& c) {
  const std::string sub = to_lower(c.args[1]);
  const bool sharded = sub.starts_with("shard");
  const std::size_t argc = c.args.size();
  if (sub == "channels" || sub == "shardchannels") {
    if (argc > 3) {
      wrong_arity(c, "pubsub|" + sub);
      return;
    }
    const auto pattern = argc == 3 ? std::optional(c.args[2]) : std::nullopt;
    const auto names = c.pubsub->channels(sharded, c.node, pattern);
    c.r.array(names.size());
    for (const auto& name : names) {
      c.r.bulk(name);
    }
  } else if (sub == "numsub" || sub == "shardnumsub") {
    c.r.array((argc - 2) * 2);
    for (std::size_t i = 2; i < argc; ++i) {
      c.r.bulk(c.args[i]);
      c.r.integer(static_cast<std::int64_t>(c.pubsub->numsub(sharded, c.node, c.args[i])));
    }
  } else if (sub == "numpat") {
    if (argc != 2) {
      wrong_arity(c, "pubsub|numpat");
      return;
    }
    c.r.integer(static_cast<std::int64_t>(c.pubsub->numpat()));
  } else if (sub == "help" && argc == 2) {
    pubsub_help(c);
  } else {
    c.r.error("ERR unknown subcommand '" + std::string(c.args[1].substr(0, 128)) +
              "'. Try PUBSUB HELP.");
  }
}

/// RESP2 subscribed mode admits only these (Redis's processCommand).
auto allowed_while_subscribed(const command_spec& spec) -> bool {
  return spec.fn == cmd_ping || spec.fn == cmd_subscribe || spec.fn == cmd_psubscribe ||
         spec.fn == cmd_ssubscribe || spec.fn == cmd_unsubscribe || spec.fn == cmd_punsubscribe ||
         spec.fn == cmd_sunsubscribe || spec.fn == cmd_quit || spec.fn == cmd_reset;
}

/// Commands that run at once inside MULTI instead of being queued (Redis's processCommand).
auto runs_inside_multi(const command_spec& spec) -> bool {
  return spec.fn == cmd_exec || spec.fn == cmd_discard || spec.fn == cmd_multi ||
         spec.fn == cmd_watch || spec.fn == cmd_quit || spec.fn == cmd_reset;
}

// -- tables ------------------------------------------------------------------------------------

// The commands by family, each family's table short enough to read; command_table() indexes
// them all by name.
/// Connection and session commands; "client" is a container resolved by client_table().
constexpr std::array connection_specs = {
    command_spec{"ping", -1, cmd_ping},        command_spec{"echo", 2, cmd_echo},
    command_spec{"select", 2, cmd_select},     command_spec{"quit", -1, cmd_quit, true},
    command_spec{"auth", -2, cmd_auth, true},  command_spec{"hello", -1, cmd_hello, true},
    command_spec{"reset", 1, cmd_reset, true}, command_spec{"client", -2, nullptr},
};
/// Server commands.
constexpr std::array server_specs = {
    command_spec{"command", -1, cmd_command},   command_spec{"info", -1, cmd_info},
    command_spec{"config", -2, cmd_config},     command_spec{"dbsize", 1, cmd_dbsize},
    command_spec{"flushall", -1, cmd_flushall}, command_spec{"flushdb", -1, cmd_flushdb},
};
/// String and generic key commands.
constexpr std::array keyspace_specs = {
    command_spec{"get", 2, cmd_get, false, 1, 1, 1},
    command_spec{"set", -3, cmd_set, false, 1, 1, 1},
    command_spec{"setnx", 3, cmd_setnx, false, 1, 1, 1},
    command_spec{"setex", 4, cmd_setex, false, 1, 1, 1},
    command_spec{"psetex", 4, cmd_psetex, false, 1, 1, 1},
    command_spec{"getset", 3, cmd_getset, false, 1, 1, 1},
    command_spec{"getdel", 2, cmd_getdel, false, 1, 1, 1},
    command_spec{"append", 3, cmd_append, false, 1, 1, 1},
    command_spec{"strlen", 2, cmd_strlen, false, 1, 1, 1},
    command_spec{"del", -2, cmd_del, false, 1, -1, 1},
    command_spec{"unlink", -2, cmd_del, false, 1, -1, 1},
    command_spec{"exists", -2, cmd_exists, false, 1, -1, 1},
    command_spec{"type", 2, cmd_type, false, 1, 1, 1},
    command_spec{"incr", 2, cmd_incr, false, 1, 1, 1},
    command_spec{"decr", 2, cmd_decr, false, 1, 1, 1},
    command_spec{"incrby", 3, cmd_incrby, false, 1, 1, 1},
    command_spec{"decrby", 3, cmd_decrby, false, 1, 1, 1},
    command_spec{"mget", -2, cmd_mget, false, 1, -1, 1},
    command_spec{"mset", -3, cmd_mset, false, 1, -1, 2},
    command_spec{"expire", -3, cmd_expire, false, 1, 1, 1},
    command_spec{"pexpire", -3, cmd_pexpire, false, 1, 1, 1},
    command_spec{"persist", 2, cmd_persist, false, 1, 1, 1},
    command_spec{"ttl", 2, cmd_ttl, false, 1, 1, 1},
    command_spec{"pttl", 2, cmd_pttl, false, 1, 1, 1},
};
/// Cluster and transaction (MULTI/EXEC/WATCH) commands.
constexpr std::array cluster_and_transaction_specs = {
    command_spec{"cluster", -2, cmd_cluster},
    command_spec{"readonly", 1, cmd_readonly},
    command_spec{"readwrite", 1, cmd_readwrite},
    command_spec{"asking", 1, cmd_asking},
    command_spec{"multi", 1, cmd_multi},
    command_spec{"exec", 1, cmd_exec},
    command_spec{"discard", 1, cmd_discard},
    command_spec{"watch", -2, cmd_watch, false, 1, -1, 1},
    command_spec{"unwatch", 1, cmd_unwatch},
};
/// Pub/Sub commands; the sharded ones route by their shard channels.
constexpr std::array pubsub_specs = {
    command_spec{"subscribe", -2, cmd_subscribe},
    command_spec{"psubscribe", -2, cmd_psubscribe},
    command_spec{"unsubscribe", -1, cmd_unsubscribe},
    command_spec{"punsubscribe", -1, cmd_punsubscribe},
    command_spec{"publish", 3, cmd_publish},
    command_spec{"pubsub", -2, cmd_pubsub},
    command_spec{"ssubscribe", -2, cmd_ssubscribe, false, 1, -1, 1, true},
    command_spec{"sunsubscribe", -1, cmd_sunsubscribe, false, 1, -1, 1, true},
    command_spec{"spublish", 3, cmd_spublish, false, 1, 1, 1, true},
};
/// List and stream commands.
constexpr std::array list_and_stream_specs = {
    command_spec{"lpush", -3, cmd_lpush, false, 1, 1, 1},
    command_spec{"rpush", -3, cmd_rpush, false, 1, 1, 1},
    command_spec{"lpop", -2, cmd_lpop, false, 1, 1, 1},
    command_spec{"rpop", -2, cmd_rpop, false, 1, 1, 1},
    command_spec{"llen", 2, cmd_llen, false, 1, 1, 1},
    command_spec{"lrange", 4, cmd_lrange, false, 1, 1, 1},
    command_spec{"lmove", 5, cmd_lmove, false, 1, 2, 1},
    command_spec{"blpop", -3, cmd_blpop, false, 1, -2, 1},
    command_spec{"brpop", -3, cmd_brpop, false, 1, -2, 1},
    command_spec{"blmove", 6, cmd_blmove, false, 1, 2, 1},
    command_spec{"xadd", -5, cmd_xadd, false, 1, 1, 1},
    command_spec{"xlen", 2, cmd_xlen, false, 1, 1, 1},
    command_spec{"xrange", -4, cmd_xrange, false, 1, 1, 1},
    // The keys follow STREAMS: no fixed positions, so cluster mode does not route XREAD.
    command_spec{"xread", -4, cmd_xread},
};

auto command_table() -> const std::unordered_map<std::string_view, command_spec>& {
  static const std::unordered_map<std::string_view, command_spec> table = [] {
    std::unordered_map<std::string_view, command_spec> m;
    for (const std::span<const command_spec> family :
         {std::span<const command_spec>(connection_specs),
          std::span<const command_spec>(server_specs),
          std::span<const command_spec>(keyspace_specs),
          std::span<const command_spec>(cluster_and_transaction_specs),
          std::span<const command_spec>(pubsub_specs),
          std::span<const command_spec>(list_and_stream_specs)}) {
      for (const auto& s : family) {
        m.emplace(s.name, s);
      }
    }
    return m;
  }();
  return table;
}

auto client_table() -> const std::unordered_map<std::string_view, command_spec>& {
  static const std::unordered_map<std::string_view, command_spec> table = [] {
    const std::array specs = {
        command_spec{"client|id", 2, cmd_client_id},
        command_spec{"client|setname", 3, cmd_client_setname},
        command_spec{"client|getname", 2, cmd_client_getname},
        command_spec{"client|setinfo", 4, cmd_client_setinfo},
        command_spec{"client|info", 2, cmd_client_info},
        command_spec{"client|list", -2, cmd_client_list},
        command_spec{"client|help", 2, cmd_client_help},
        command_spec{"client|maint_notifications", -3, cmd_client_maint},
    };
    std::unordered_map<std::string_view, command_spec> m;
    for (const auto& s : specs) {
      m.emplace(s.name.substr(7), s);
    }
    return m;
  }();
  return table;
}

/// Lower-cases a command name into `buf`; empty if it cannot be a known name.
auto lower_name(std::string_view name, std::array<char, 32>& buf) -> std::string_view {
  if (name.size() > buf.size()) {
    return {};
  }
  std::transform(name.begin(), name.end(), buf.begin(), to_lower_char);
  return {buf.data(), name.size()};
}

auto unknown_command_error(std::span<const std::string_view> args) -> std::string {
  // Redis 7: name and each argument cut so the argument list stays under 128 bytes.
  std::string msg = "ERR unknown command '";
  msg.append(args[0].substr(0, 128));
  msg.append("', with args beginning with: ");
  std::string listed;
  for (std::size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    listed.push_back('\'');
    listed.append(args[i].substr(0, 128 - listed.size() + 1));
    listed.append("' ");
  }
  msg.append(listed);
  return msg;
}

auto find_command(std::span<const std::string_view> args) -> const command_spec* {
  std::array<char, 32> buf{};
  const auto it = command_table().find(lower_name(args[0], buf));
  if (it == command_table().end()) {
    return nullptr;
  }
  if (it->second.fn != nullptr) {
    return &it->second;
  }
  const auto sit = client_table().find(lower_name(args[1], buf));
  return sit == client_table().end() ? nullptr : &sit->second;
}

}  // namespace

auto request_args(const resp3::value& request, std::vector<std::string_view>& args)
    -> request_check {
  args.clear();
  if (request.kind == resp3::type::null) {
    return {request_kind::ignore, {}};
  }
  if (request.kind != resp3::type::array) {
    return {request_kind::protocol_error, std::string("ERR Protocol error: expected '$', got '") +
                                              static_cast<char>(request.kind) + "'"};
  }
  if (request.elements.empty()) {
    return {request_kind::ignore, {}};
  }
  for (const auto& e : request.elements) {
    if (e.kind != resp3::type::bulk_string) {
      return {request_kind::protocol_error, std::string("ERR Protocol error: expected '$', got '") +
                                                static_cast<char>(e.kind) + "'"};
    }
    args.emplace_back(e.text);
  }
  return {};
}

namespace {

/// A blocked command run again now that a key it waits on is ready (Redis 7 re-runs it too):
/// empty when it still finds nothing.
auto serve_one(keyspace& data, blocking_registry& blocking, const blocked_command& cmd,
               time_point now) -> std::optional<unblocked_reply> {
  unblocked_reply out;
  out.conn = cmd.conn;
  out.index = cmd.index;
  reply_writer r(out.reply, cmd.protocol);
  const list_effects effects{out.pushed, out.popped, cmd.index};
  const std::vector<std::string_view> keys(cmd.keys.begin(), cmd.keys.end());
  bool served = false;
  switch (cmd.kind) {
    case blocking_kind::pop:
      served = pop_first_ready(data, cmd.db, keys, cmd.from, now, r, effects);
      break;
    case blocking_kind::move:
      served = move_element(data, blocking, cmd.db, keys.front(), cmd.destination, cmd.from, cmd.to,
                            now, r, effects);
      break;
    case blocking_kind::xread:
      served = read_streams(data, cmd.db, keys, cmd.after, cmd.count, now, r);
      break;
  }
  if (!served) {
    return std::nullopt;
  }
  out.error = r.errored();
  return out;
}

}  // namespace

auto serve_blocked(keyspace& data, blocking_registry& blocking, time_point now)
    -> std::vector<unblocked_reply> {
  std::vector<unblocked_reply> served;
  while (blocking.has_ready()) {
    for (const auto& [db, key] : blocking.take_ready()) {
      for (const auto conn : blocking.waiters(db, key)) {
        const blocked_command* cmd = blocking.find(conn);
        if (cmd == nullptr) {
          continue;  // served through another key in this round
        }
        if (auto reply = serve_one(data, blocking, *cmd, now)) {
          blocking.unblock(conn);
          served.push_back(std::move(*reply));
        }
      }
    }
  }
  return served;
}

auto expire_blocked(blocking_registry& blocking, time_point now) -> std::vector<unblocked_reply> {
  std::vector<unblocked_reply> expired;
  for (const auto& cmd : blocking.take_expired(now)) {
    unblocked_reply out;
    out.conn = cmd.conn;
    out.index = cmd.index;
    out.timed_out = true;
    reply_writer r(out.reply, cmd.protocol);
    if (cmd.kind == blocking_kind::move) {
      r.null();
    } else {
      r.null_array();
    }
    expired.push_back(std::move(out));
  }
  return expired;
}

command_handler::command_handler(keyspace& data, const endpoint_profile& profile,
                                 pubsub_registry& pubsub, blocking_registry& blocking)
    : data_(&data), profile_(&profile), pubsub_(&pubsub), blocking_(&blocking) {}

command_handler::command_handler(keyspace& data, const endpoint_profile& profile,
                                 pubsub_registry& pubsub)
    : data_(&data),
      profile_(&profile),
      pubsub_(&pubsub),
      own_blocking_(std::make_shared<blocking_registry>()),
      blocking_(own_blocking_.get()) {}

command_handler::command_handler(keyspace& data, const endpoint_profile& profile)
    : data_(&data),
      profile_(&profile),
      own_pubsub_(std::make_shared<pubsub_registry>()),
      pubsub_(own_pubsub_.get()),
      own_blocking_(std::make_shared<blocking_registry>()),
      blocking_(own_blocking_.get()) {}

void command_handler::set_cluster(cluster_state* cluster, std::string node) {
  cluster_ = cluster;
  node_ = std::move(node);
}

void command_handler::init_session(session_state& s) const {
  s.protocol = resp3::protocol::resp2;
  s.authenticated = profile_->requirepass.empty();
  s.user = "default";
  s.db = 0;
}

auto command_handler::end_session(session_state& s) -> std::optional<timeline::transaction_ended> {
  data_->unwatch(s.id);
  pubsub_->drop(s.id);
  blocking_->unblock(s.id);
  return end_transaction(s, timeline::transaction_ended::outcome::closed);
}

namespace {

/// Refuses a command before it runs: inside MULTI that makes EXEC fail; EXEC itself refused
/// discards the transaction (Redis's rejectCommand / execCommandAbort).
struct refusal {
  command_handler& handler;
  session_state& s;
  reply_writer& r;
  command_outcome& outcome;
  bool is_exec;

  void operator()(std::string_view text) const {
    outcome.error = true;
    if (is_exec) {
      outcome.transaction = handler.end_session(s);
      if (outcome.transaction) {
        outcome.transaction->result = timeline::transaction_ended::outcome::aborted;
      }
      const std::string_view why = text.starts_with("ERR ") ? text.substr(4) : text;
      r.error("EXECABORT Transaction discarded because of: " + std::string(why));
      return;
    }
    s.multi.refused = s.multi.active;
    r.error(text);
  }
};

/// A container command (CLIENT): the spec of its subcommand, or nullptr once refused. Unknown
/// subcommands are rejected before authentication, as Redis does. With SCH off,
/// MAINT_NOTIFICATIONS is simply unknown.
auto resolve_subcommand(std::span<const std::string_view> args, const endpoint_profile& profile,
                        const refusal& reject) -> const command_spec* {
  std::array<char, 32> subbuf{};
  const std::string_view sub = lower_name(args[1], subbuf);
  const auto& subs = client_table();
  const auto sit = subs.find(sub);
  if (sit == subs.end() || (!profile.sch_supported && sit->second.fn == cmd_client_maint)) {
    const std::string text = "ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                             "'. Try " + to_upper(args[0]) + " HELP.";
    reject(text);
    if (sit != subs.end()) {
      reject.outcome.maint = refused_maint_handshake(args, text, reject.s.protocol);
    }
    return nullptr;
  }
  if (!arity_ok(sit->second.arity, args.size())) {
    reject(arity_error(sit->second.name));
    return nullptr;
  }
  return &sit->second;
}

/// The spec that runs `args` (named `name`, lower-cased), or nullptr once refused (unknown
/// command or subcommand, wrong arity). `no_auth`: whether it may run before authentication.
auto resolve_command(std::string_view name, std::span<const std::string_view> args,
                     const endpoint_profile& profile, const refusal& reject, bool& no_auth)
    -> const command_spec* {
  const auto& table = command_table();
  const auto it = table.find(name);
  if (it == table.end()) {
    reject(unknown_command_error(args));
    return nullptr;
  }
  const command_spec* spec = &it->second;
  if (!arity_ok(spec->arity, args.size())) {
    reject(arity_error(spec->name));
    return nullptr;
  }
  no_auth = spec->no_auth;
  if (spec->fn != nullptr) {
    return spec;
  }
  no_auth = false;
  return resolve_subcommand(args, profile, reject);
}

/// Inside MULTI a command is queued for EXEC, unless it is one that runs there at once.
void run_or_queue(context& c, const command_spec& spec) {
  if (c.s.multi.active && !runs_inside_multi(spec)) {
    c.s.multi.queued.emplace_back(c.args.begin(), c.args.end());
    c.s.multi.queued_index.push_back(c.s.command_index);
    c.r.simple("QUEUED");
  } else {
    spec.fn(c);
  }
}

}  // namespace

auto command_handler::execute(session_state& s, std::span<const std::string_view> args,
                              time_point now, std::string& out) -> command_outcome {
  command_outcome outcome;
  reply_writer r(out, s.protocol);
  if (args.empty()) {
    return outcome;
  }
  // ASKING holds for exactly the next command, whatever it is (ASKING itself sets it again),
  // and inside MULTI until EXEC (Redis's resetClient keeps CLIENT_ASKING there).
  const bool asking = cluster_ != nullptr && cluster_->take_asking(s.id);
  std::array<char, 32> buf{};
  const std::string_view name = lower_name(args[0], buf);
  const refusal reject{*this, s, r, outcome, name == "exec"};
  bool no_auth = false;
  const command_spec* spec = resolve_command(name, args, *profile_, reject, no_auth);
  if (spec == nullptr) {
    return outcome;
  }
  if (!s.authenticated && !no_auth) {
    reject("NOAUTH Authentication required.");
    return outcome;
  }
  context c{s,         args,   now,      r,     outcome, *data_,
            *profile_, stats_, cluster_, node_, pubsub_, blocking_};
  if (cluster_ != nullptr && spec->first_key > 0 &&
      !route_by_slot(c, *spec, asking, on_redirect_)) {
    outcome.error = true;
    s.multi.refused = s.multi.active;
    return outcome;
  }
  if (s.protocol == resp3::protocol::resp2 && pubsub_->subscribed(s.id) &&
      !allowed_while_subscribed(*spec)) {
    reject("ERR Can't execute '" + std::string(spec->name) +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
           "in this context");
    return outcome;
  }
  run_or_queue(c, *spec);
  if (asking && s.multi.active && spec->fn != cmd_asking) {
    cluster_->set_asking(s.id);
  }
  outcome.error = r.errored();
  return outcome;
}

}  // namespace schsim::simulator
