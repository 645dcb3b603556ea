#pragma once
// Built-in paths with closed forms besides the Gaussian path (data/gaussian_path.hpp).
// The Ornstein–Uhlenbeck process dX = −θ(X − c) dT + σ dW in physical time T ∈ [t0, t1],
// from X(t0) ~ N(m₀, s₀² I): its marginals are Gaussian in closed form,
//   q_T = N(c + (m₀ − c) e^{−θτ}, s_T² I),  s_T² = s₀² e^{−2θτ} + σ²(1 − e^{−2θτ})/(2θ),  τ = T − t0,
// so entropic AM with the same σ must learn the drift −θ(x − c), and plain AM on the same
// snapshots the probability-flow velocity −θ(x − c) − (σ²/2)∇log q_T
//   = −θ(x − c) + (σ²/2)(x − μ_T)/s_T².
// Snapshots are independent draws from the marginals (no trajectories), as AM assumes.
// The Gaussian packet in a harmonic potential (HarmonicPacket below): quantum dynamics
// whose Bohmian velocity is closed-form and periodic in time.
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/snapshot_data.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace amk::examples
{
using data::equally_spaced;
using data::normal_snapshots;
using data::SnapshotData;

/// K equally spaced snapshots over [t0, t1] of n independent draws from N(mean(T, r),
/// stddev(T)² I) (counter-based): the data of the built-in paths with Gaussian marginals.
template <class Mean, class Std>
SnapshotData marginal_snapshots(const std::string &name, int dim, int K, std::int64_t n, double t0, double t1,
                                RandomKey key, Mean mean, Std stddev)
{
  require(K >= 2, name + ": --snapshots must be at least 2");
  require(n >= 1, name + ": --samples must be at least 1");
  const auto times = equally_spaced(K, t0, t1);
  return normal_snapshots(
      dim, times, n, key, [&](std::int64_t k, int r) { return mean(times[std::size_t(k)], r); },
      [&](std::int64_t k, int) { return stddev(times[std::size_t(k)]); });
}

struct OrnsteinUhlenbeck
{
  int dim = 2;
  double theta = 1, sigma = 1, center = 0, mean0 = 2, std0 = 0.5;
  double t0 = 0, t1 = 1;

  void validate() const
  {
    require(dim >= 1, "ou: --dim must be at least 1");
    require(std::isfinite(theta) && theta > 0, "ou: --theta must be positive");
    require(std::isfinite(sigma) && sigma > 0, "ou: --sigma must be positive");
    require(std::isfinite(std0) && std0 > 0, "ou: --std0 must be positive");
    require(std::isfinite(center) && std::isfinite(mean0), "ou: --center and --mean0 must be finite");
    require(std::isfinite(t0) && std::isfinite(t1) && t1 > t0, "ou: --t1 must be greater than --t0");
  }
  double mean(double T) const { return center + (mean0 - center) * std::exp(-theta * (T - t0)); }
  double stddev(double T) const
  {
    const double e = std::exp(-2 * theta * (T - t0));
    return std::sqrt(std0 * std0 * e + sigma * sigma * (1 - e) / (2 * theta));
  }
  /// K equally spaced snapshots of n independent samples each (counter-based draws).
  SnapshotData snapshots(int K, std::int64_t n, std::uint64_t seed) const
  {
    validate();
    return marginal_snapshots(
        "ou", dim, K, n, t0, t1, RandomKey(seed)(0x0a1e), [&](double T, int) { return mean(T); },
        [&](double T) { return stddev(T); });
  }
  std::string describe() const
  {
    return "ornstein-uhlenbeck: dX = -theta (X - c) dT + sigma dW, theta=" + std::to_string(theta) +
           " sigma=" + std::to_string(sigma) + " c=" + std::to_string(center) + " X(t0) ~ N(" +
           std::to_string(mean0) + ", " + std::to_string(std0) + "^2 I)";
  }
};

/// Pure growth: q_T = e^{g(T − t0)} q_0 with q_0 = M₀ N(c, s² I): positions never move,
/// mass grows (g > 0) or decays at rate g, so unbalanced AM must learn s = g and ∇s = 0.
/// Masses as /snapshot_mass (a total per snapshot) or, per_sample, as /mass.
struct PureGrowth
{
  int dim = 2;
  double rate = 1, mass0 = 1, center = 0, std0 = 1;
  double t0 = 0, t1 = 1;

  void validate() const
  {
    require(dim >= 1, "growth: --dim must be at least 1");
    require(std::isfinite(rate), "growth: --rate must be finite");
    require(std::isfinite(mass0) && mass0 > 0, "growth: --mass0 must be positive");
    require(std::isfinite(std0) && std0 > 0 && std::isfinite(center), "growth: --std0 must be positive");
    require(std::isfinite(t0) && std::isfinite(t1) && t1 > t0, "growth: --t1 must be greater than --t0");
  }
  double mass(double T) const { return mass0 * std::exp(rate * (T - t0)); }
  SnapshotData snapshots(int K, std::int64_t n, std::uint64_t seed, bool per_sample) const
  {
    validate();
    require(K >= 2, "growth: --snapshots must be at least 2");
    require(n >= 1, "growth: --samples must be at least 1");
    auto out = normal_snapshots(
        dim, equally_spaced(K, t0, t1), n, RandomKey(seed)(0x960b), [&](std::int64_t, int) { return center; },
        [&](std::int64_t, int) { return std0; });
    for (double T : out.times)
      if (per_sample)
        out.mass.insert(out.mass.end(), std::size_t(n), mass(T) / double(n));
      else
        out.snapshot_mass.push_back(mass(T));
    return out;
  }
  std::string describe() const
  {
    return "pure growth: q_T = exp(g (T - t0)) q_0, g=" + std::to_string(rate) + " M0=" + std::to_string(mass0) +
           " q_0 = N(" + std::to_string(center) + ", " + std::to_string(std0) + "^2 I)";
  }
};

/// A Gaussian wave packet in the harmonic potential V = ½ω²|x − c|² (ħ = m = 1), starting at
/// T = t0 with ψ ∝ exp(−|x − x₀|²/(4σ₀²) + i p₀·x), x₀ = c + (a, −a, a, …), p₀ = (p, p, …).
/// |ψ_T|² stays Gaussian, N(x_c(τ), σ_τ² I) with τ = T − t0,
///   x_c = c + (x₀ − c) cos ωτ + (p₀/ω) sin ωτ,   σ_τ² = σ₀² cos²ωτ + sin²ωτ/(4σ₀²ω²),
/// and its Bohmian velocity ∇ arg ψ is affine:  v = ẋ_c + (σ̇_τ/σ_τ)(x − x_c).
/// The path is periodic (period 2π/ω), so a run over whole periods tests long-horizon
/// integration: the particles must come back.
struct HarmonicPacket
{
  int dim = 2;
  double omega = 6.283185307179586, center = 0, amplitude = 2, momentum = 0, sigma0 = 0.5; // period 1
  double t0 = 0, t1 = 1;

  void validate() const
  {
    require(dim >= 1, "harmonic: --dim must be at least 1");
    require(std::isfinite(omega) && omega > 0, "harmonic: --omega must be positive");
    require(std::isfinite(sigma0) && sigma0 > 0, "harmonic: --sigma0 must be positive");
    require(std::isfinite(center) && std::isfinite(amplitude) && std::isfinite(momentum),
            "harmonic: --center, --amplitude and --momentum must be finite");
    require(std::isfinite(t0) && std::isfinite(t1) && t1 > t0, "harmonic: --t1 must be greater than --t0");
  }
  double start(int r) const { return center + (r % 2 == 0 ? amplitude : -amplitude); }
  double mean(double T, int r) const
  {
    const double w = omega * (T - t0);
    return center + (start(r) - center) * std::cos(w) + momentum / omega * std::sin(w);
  }
  double stddev(double T) const
  {
    const double w = omega * (T - t0), c = std::cos(w), s = std::sin(w);
    return std::sqrt(sigma0 * sigma0 * c * c + s * s / (4 * sigma0 * sigma0 * omega * omega));
  }
  /// The Bohmian velocity at x (d values) and time T into v.
  void velocity(const double *x, double T, double *v) const
  {
    const double w = omega * (T - t0), c = std::cos(w), s = std::sin(w);
    const double var = sigma0 * sigma0 * c * c + s * s / (4 * sigma0 * sigma0 * omega * omega);
    // σ̇/σ = (dσ²/dτ) / (2σ²)
    const double rate = omega * c * s * (1 / (4 * sigma0 * sigma0 * omega * omega) - sigma0 * sigma0) / var;
    for (int r = 0; r < dim; ++r)
    {
      const double xc = mean(T, r), vc = -omega * (start(r) - center) * s + momentum * c;
      v[r] = vc + rate * (x[r] - xc);
    }
  }
  SnapshotData snapshots(int K, std::int64_t n, std::uint64_t seed) const
  {
    validate();
    return marginal_snapshots(
        "harmonic", dim, K, n, t0, t1, RandomKey(seed)(0x4a2b), [&](double T, int r) { return mean(T, r); },
        [&](double T) { return stddev(T); });
  }
  std::string describe() const
  {
    return "harmonic: Gaussian packet in V = omega^2 |x - c|^2 / 2, omega=" + std::to_string(omega) +
           " c=" + std::to_string(center) + " x0 = c + (" + std::to_string(amplitude) + ", -...) p0=" +
           std::to_string(momentum) + " sigma0=" + std::to_string(sigma0) + " (Bohmian velocity in closed form)";
  }
  /// The parameters as stored with the data (amk_path), for `amk eval --velocity harmonic`.
  nlohmann::json to_json() const
  {
    return {{"name", "harmonic"}, {"dim", dim},         {"omega", omega},   {"center", center},
            {"amplitude", amplitude}, {"momentum", momentum}, {"sigma0", sigma0}, {"t0", t0}, {"t1", t1}};
  }
  static HarmonicPacket from_json(const nlohmann::json &j)
  {
    HarmonicPacket p;
    p.dim = j.at("dim").get<int>();
    p.omega = j.at("omega").get<double>();
    p.center = j.at("center").get<double>();
    p.amplitude = j.at("amplitude").get<double>();
    p.momentum = j.at("momentum").get<double>();
    p.sigma0 = j.at("sigma0").get<double>();
    p.t0 = j.at("t0").get<double>();
    p.t1 = j.at("t1").get<double>();
    p.validate();
    return p;
  }
};
} // namespace amk::examples
