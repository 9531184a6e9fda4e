#pragma once
/**
 * @file
 * @brief The explorer's random numbers: the same seed gives the same numbers on every platform
 * and standard library.
 *
 * std::mt19937_64 is portable but the std distributions are not (libstdc++ and libc++ draw
 * differently), and "same seed, same scenario file byte for byte" must hold wherever schsim is
 * built. So the generator draws from SplitMix64 with its own bounded draws.
 */

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace schsim::explore {

class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}

  /// The next 64 random bits (SplitMix64).
  auto next() -> std::uint64_t {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }

  /// Uniform in [lo, hi] (inclusive). The modulo bias is below 2^-40 for the small ranges the
  /// generator uses, and it is the same everywhere, which is what matters here.
  auto between(std::int64_t lo, std::int64_t hi) -> std::int64_t {
    if (hi <= lo) {
      return lo;
    }
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }

  /// True with probability percent/100.
  auto chance(int percent) -> bool { return between(0, 99) < percent; }

  /// One element of a non-empty span.
  template <class T>
  auto pick(std::span<const T> items) -> const T& {
    if (items.empty()) {
      throw std::logic_error("rng::pick from an empty list");
    }
    return items[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(items.size()) - 1))];
  }

 private:
  std::uint64_t state_;
};

/// The seed of case `index` of an exploration started with `seed`: every case has its own
/// stream, so case 17 is the same whether or not cases 0-16 were generated first.
inline auto case_seed(std::uint64_t seed, std::uint64_t index) -> std::uint64_t {
  rng r(seed ^ (index * 0xd1b54a32d192ed03ULL));
  r.next();
  return r.next();
}

}  // namespace schsim::explore
