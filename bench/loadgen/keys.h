#pragma once
// Which key each request uses: uniform, Zipf (Gray et al.'s "Quickly generating billion-record
// synthetic databases", as YCSB does it: O(1) per draw after an O(n) setup), or sequential (each
// key of the range once, in order). Every connection has its own seeded generator, so a run's
// key sequence per connection is reproducible.
#include <cmath>
#include <cstdint>
#include <string>

namespace cachet::bench {

// splitmix64: small, fast, and good enough for choosing keys.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t state_;
};

// Zipf over ranks 0..n-1 with exponent theta (theta != 1); rank 0 is the most popular.
class Zipf {
 public:
  Zipf(uint64_t n, double theta) : n_(n) {
    double zetan = 0;
    for (uint64_t i = 1; i <= n; ++i) zetan += 1.0 / std::pow(static_cast<double>(i), theta);
    zetan_ = zetan;
    const double zeta2 = 1.0 + 1.0 / std::pow(2.0, theta);
    alpha_ = 1.0 / (1.0 - theta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan);
    half_pow_theta_ = 1.0 + std::pow(0.5, theta);
  }
  uint64_t Draw(Rng& rng) const {
    const double u = rng.Uniform();
    const double uz = u * zetan_;
    if (uz < 1.0) return 0;
    if (uz < half_pow_theta_) return n_ > 1 ? 1 : 0;
    const auto r =
        static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return r < n_ ? r : n_ - 1;
  }

 private:
  uint64_t n_;
  double zetan_ = 0, alpha_ = 0, eta_ = 0, half_pow_theta_ = 0;
};

// Key i is its decimal number zero-padded to the key size (the key size must fit the range).
inline void FormatKey(uint64_t id, size_t key_size, char* dst) {
  for (size_t i = key_size; i-- > 0;) {
    dst[i] = static_cast<char>('0' + id % 10);
    id /= 10;
  }
}

inline bool KeySizeFits(uint64_t max_id, size_t key_size) {
  return key_size >= 20 || max_id < static_cast<uint64_t>(std::pow(10.0, key_size));
}

}  // namespace cachet::bench
