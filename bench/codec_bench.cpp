// Hot paths of the wire codec: every command the simulator serves goes through the parser and
// every reply and push through the serializer, so these bound the simulator's throughput.
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using schsim::resp3::parser;
using schsim::resp3::value;

auto set_command(int i) -> std::string {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict, bug 105329) on "literal" + string.
  std::string key = "key:";
  key += std::to_string(i);
  std::string out = "*3\r\n$3\r\nSET\r\n$";
  out += std::to_string(key.size());
  out += "\r\n";
  out += key;
  out += "\r\n$3\r\nxxx\r\n";
  return out;
}

// A pipeline of 16 SETs, as redis-benchmark -P 16 sends it.
auto pipeline_bytes() -> std::string {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out += set_command(i);
  }
  return out;
}

void parse_pipeline(benchmark::State& state) {
  const std::string bytes = pipeline_bytes();
  for (auto _ : state) {
    parser p;
    p.feed(bytes);
    int n = 0;
    while (auto v = p.next()) {
      benchmark::DoNotOptimize(v);
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(parse_pipeline);

// The same bytes arriving in 7-byte pieces: the parser must not re-scan what it has buffered.
void parse_fragmented(benchmark::State& state) {
  const std::string bytes = pipeline_bytes();
  for (auto _ : state) {
    parser p;
    for (std::size_t at = 0; at < bytes.size(); at += 7) {
      p.feed(std::string_view(bytes).substr(at, 7));
      while (auto v = p.next()) {
        benchmark::DoNotOptimize(v);
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(parse_fragmented);

void parse_large_bulk(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string bytes = "$" + std::to_string(n) + "\r\n" + std::string(n, 'x') + "\r\n";
  for (auto _ : state) {
    parser p;
    p.feed(bytes);
    auto v = p.next();
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(parse_large_bulk)->Arg(1024)->Arg(1 << 20);

void parse_nested(benchmark::State& state) {
  // A HELLO 3 reply-like map with nested arrays.
  std::string bytes = "%7\r\n";
  for (int i = 0; i < 6; ++i) {
    bytes += "$6\r\nserver\r\n$5\r\nredis\r\n";
  }
  bytes += "$7\r\nmodules\r\n*2\r\n*2\r\n:1\r\n:2\r\n*2\r\n+a\r\n+b\r\n";
  for (auto _ : state) {
    parser p;
    p.feed(bytes);
    auto v = p.next();
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(parse_nested);

void serialize_reply(benchmark::State& state) {
  const value v = value::bulk(std::string(static_cast<std::size_t>(state.range(0)), 'x'));
  for (auto _ : state) {
    auto s = schsim::resp3::serialize(v);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(serialize_reply)->Arg(3)->Arg(1024);

void serialize_map(benchmark::State& state) {
  std::vector<value> items;
  for (int i = 0; i < 7; ++i) {
    items.push_back(value::bulk("field" + std::to_string(i)));
    items.push_back(value::number_of(i));
  }
  value v = value::array_of(std::move(items));
  v.kind = schsim::resp3::type::map;
  for (auto _ : state) {
    auto s = schsim::resp3::serialize(v);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(serialize_map);

// What a fan-out does once per push: build the notification value and its wire bytes.
void encode_moving(benchmark::State& state) {
  const schsim::maint::notification n = schsim::maint::moving{42, 15, std::string("10.0.0.2:6379")};
  for (auto _ : state) {
    auto s = schsim::resp3::serialize(schsim::maint::encode(n));
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_moving);

void encode_moving_dialect(benchmark::State& state) {
  const schsim::maint::notification n = schsim::maint::moving{42, 15, std::nullopt};
  schsim::maint::dialect d;
  d.simple_string_name = true;
  d.null_as_string = true;
  for (auto _ : state) {
    auto s = schsim::resp3::serialize(schsim::maint::encode(n, d));
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_moving_dialect);

void encode_smigrated(benchmark::State& state) {
  schsim::maint::smigrated s;
  s.seq = 7;
  for (int i = 0; i < 8; ++i) {
    schsim::maint::smigrated_entry e;
    e.source = "10.0.0.1:6379";
    e.destination = "10.0.0.2:6379";
    e.slots = {{static_cast<std::uint16_t>(i * 100), static_cast<std::uint16_t>(i * 100 + 50)}};
    s.entries.push_back(e);
  }
  const schsim::maint::notification n = s;
  for (auto _ : state) {
    auto bytes = schsim::resp3::serialize(schsim::maint::encode(n));
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_smigrated);

void decode_moving(benchmark::State& state) {
  const value v = schsim::maint::encode(schsim::maint::moving{42, 15, std::string("h:1")});
  for (auto _ : state) {
    auto d = schsim::maint::decode(v);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_moving);

}  // namespace

BENCHMARK_MAIN();
