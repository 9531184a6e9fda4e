// `schsim merge`: shards of hand-written report JSON back into the unsharded run.
#include <schsim/reports/json.hpp>
#include <schsim/reports/merge.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace merge_test {
namespace {

using namespace schsim;

/// A report.json as `schsim suite --shard INDEX/3` writes it over the plan a, b, c, d.
auto shard_json(int index, const std::string& assigned, const std::string& cases,
                const std::string& started = "2026-12-04T10:00:00Z") -> std::string {
  return fmt::format(R"({{
  "format": "schsim-report", "format_version": 1, "schsim_version": "0.1.0",
  "suite_version": "1", "started_at": "{}", "command_line": "schsim suite --client reference",
  "shard": {{"index": {}, "count": 3, "planned": ["a", "b", "c", "d"], "assigned": [{}]}},
  "cases": [{}]
}})",
                     started, index, assigned, cases);
}

auto case_json(const std::string& id, const std::string& outcome, int repetition = 0)
    -> std::string {
  return fmt::format(
      R"({{"scenario_id": "{}", "repetition": {}, "outcome": "{}", "seed": 7,
          "client": {{"name": "reference"}}}})",
      id, repetition, outcome);
}

auto shard(const std::string& source, const std::string& text) -> reports::shard_run {
  return {source, reports::run_from_json(text)};
}

auto ids(const verdict::run_result& run) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& c : run.cases) {
    out.push_back(c.scenario_id + "#" + std::to_string(c.repetition) + "=" +
                  std::string(verdict::to_string(c.outcome)));
  }
  return out;
}

auto message_of(const std::vector<reports::shard_run>& shards) -> std::string {
  try {
    reports::merge_shard_runs(shards);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MergeShards, CasesInTheUnshardedOrderWithTheEarliestStart) {
  const std::vector<reports::shard_run> shards{
      shard("s2", shard_json(2, R"("a", "d")",
                             case_json("d", "passed") + "," + case_json("a", "failed", 1) + "," +
                                 case_json("a", "failed"),
                             "2026-12-04T10:00:05Z")),
      shard("s1", shard_json(1, R"("c")", case_json("c", "passed"), "2026-12-04T10:00:01Z")),
      shard("s3", shard_json(3, R"("b")", case_json("b", "unsupported")))};
  const auto run = reports::merge_shard_runs(shards);
  EXPECT_EQ(ids(run), (std::vector<std::string>{"a#0=failed", "a#1=failed", "b#0=unsupported",
                                                "c#0=passed", "d#0=passed"}));
  EXPECT_EQ(run.started_at, "2026-12-04T10:00:00Z");
  EXPECT_EQ(run.command_line, "schsim suite --client reference");
  EXPECT_EQ(run.suite_version, "1");
  EXPECT_FALSE(run.shard.has_value());
  // The merged report reads back as a plain (unsharded) run.
  EXPECT_EQ(ids(reports::run_from_json(reports::to_json(run))), ids(run));
}

TEST(MergeShards, OverlappingShardsAreRefusedNamingTheScenario) {
  const auto message = message_of(
      {shard("s1", shard_json(1, R"("a", "b")",
                              case_json("a", "passed") + "," + case_json("b", "passed"))),
       shard("s2", shard_json(2, R"("b", "c")",
                              case_json("b", "passed") + "," + case_json("c", "passed"))),
       shard("s3", shard_json(3, R"("d")", case_json("d", "passed")))});
  EXPECT_NE(
      message.find("overlapping shards: scenario b is in both s1 (shard 1/3) and s2 (shard 2/3)"),
      std::string::npos)
      << message;
}

TEST(MergeShards, MissingCasesAndShardsAreRefused) {
  const auto s1 = shard("s1", shard_json(1, R"("a", "b")", case_json("a", "passed")));
  const auto s2 = shard("s2", shard_json(2, R"("c")", case_json("c", "passed")));
  const auto s3 = shard("s3", shard_json(3, R"("d")", case_json("d", "passed")));
  auto message = message_of({s1, s2, s3});
  EXPECT_NE(message.find("missing cases: no shard has a result for b (assigned to s1 (shard 1/3))"),
            std::string::npos)
      << message;
  message = message_of({s1, s3});
  EXPECT_NE(message.find("shard 2/3 is missing (given: 1/3, 3/3)"), std::string::npos) << message;
  message = message_of({s1, s1, s2, s3});
  EXPECT_NE(message.find("shard 1/3 given twice: s1 and s1"), std::string::npos) << message;
}

TEST(MergeShards, ShardsOfDifferentRunsAreRefused) {
  const auto s1 = shard(
      "s1",
      shard_json(1, R"("a", "b")", case_json("a", "passed") + "," + case_json("b", "passed")));
  const auto s2 = shard("s2", shard_json(2, R"("c")", case_json("c", "passed")));
  auto other_plan = shard_json(3, R"("d")", case_json("d", "passed"));
  other_plan.replace(other_plan.find(R"("d"])"), 4, R"("e"])");
  auto message = message_of({s1, s2, shard("s3", other_plan)});
  EXPECT_NE(message.find("ran different selections of scenarios"), std::string::npos) << message;
  auto other_command = shard_json(3, R"("d")", case_json("d", "passed"));
  other_command.replace(other_command.find("reference"), 9, "go-redis");
  message = message_of({s1, s2, shard("s3", other_command)});
  EXPECT_NE(message.find("ran different commands"), std::string::npos) << message;
  // A case the shard was not assigned.
  message = message_of(
      {s1, s2,
       shard("s3",
             shard_json(3, R"("d")", case_json("d", "passed") + "," + case_json("x", "passed")))});
  EXPECT_NE(message.find("s3 (shard 3/3) holds scenario x, which is not in the run's selection"),
            std::string::npos)
      << message;
}

TEST(MergeShards, MatrixClientsInFirstAppearanceOrderEachMerged) {
  const auto run = [](int index, const std::string& assigned, const std::string& cases) {
    return reports::run_from_json(shard_json(index, assigned, cases));
  };
  const std::vector<reports::matrix_shard> shards{
      {"go-1",
       {{"go-redis",
         run(1, R"("a", "b")", case_json("a", "passed") + "," + case_json("b", "failed"))}}},
      {"ref-2", {{"reference", run(2, R"("c")", case_json("c", "passed"))}}},
      {"go-2", {{"go-redis", run(2, R"("c")", case_json("c", "passed"))}}},
      {"go-3", {{"go-redis", run(3, R"("d")", case_json("d", "passed"))}}},
      {"ref-1",
       {{"reference",
         run(1, R"("a", "b")", case_json("a", "passed") + "," + case_json("b", "passed"))}}},
      {"ref-3", {{"reference", run(3, R"("d")", case_json("d", "passed"))}}}};
  const auto merged = reports::merge_matrix_shards(shards);
  ASSERT_EQ(merged.size(), 2U);
  EXPECT_EQ(merged[0].name, "go-redis");
  EXPECT_EQ(ids(merged[0].run),
            (std::vector<std::string>{"a#0=passed", "b#0=failed", "c#0=passed", "d#0=passed"}));
  EXPECT_EQ(merged[1].name, "reference");
  const auto m = reports::build_matrix(merged);
  EXPECT_EQ(m.scenarios, (std::vector<std::string>{"a", "b", "c", "d"}));
  // A client whose shard is missing is refused, naming the client.
  auto partial = shards;
  partial.pop_back();
  try {
    reports::merge_matrix_shards(partial);
    FAIL() << "merged without reference's shard 3";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("shard 3/3 is missing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merge_test
