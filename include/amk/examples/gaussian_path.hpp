#pragma once
// The built-in Gaussian path with a closed-form AM solution (anisotropic, mean and width
// changing):  q_t = N(μ_t, diag(σ_t²)),  μ_t = (1−t)μ₀ + tμ₁,  σ_t = (1−t)σ₀ + tσ₁
// (t ∈ [0,1] normalised time). The map x_t = μ_t + σ_t ⊙ z carries q_t with velocity
//   v(x,t) = μ̇ + (σ̇ / σ_t) ⊙ (x − μ_t),
// which is the gradient of s(x,t) = μ̇·x + Σ_r σ̇_r/(2σ_t,r) (x_r − μ_t,r)² (+ c(t)): a gradient
// field that carries q_t is the unique AM minimiser, so ∇ₓs* = v exactly.
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/snapshot_data.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace amk::examples
{
using data::equally_spaced;
using data::normal_snapshots;
using data::SnapshotData;

struct GaussianPath
{
  int dim = 2;
  std::vector<double> mean0, mean1, std0, std1;
  double t0 = 0, t1 = 1; ///< physical time span

  /// The default anisotropic path: μ₀ = c, μ₁ = c + (2, −1, 2, −1, …), σ₀ = 1,
  /// σ₁ = (0.5, 1.5, …), with every coordinate of c equal to `offset`.
  static GaussianPath preset(int dim, double t0 = 0, double t1 = 1, double offset = 0)
  {
    require(std::isfinite(offset), "gaussian path: --offset must be a finite number");
    require(dim >= 1, "gaussian path: --dim must be at least 1");
    require(t1 > t0, "gaussian path: --t1 must be greater than --t0");
    GaussianPath p;
    p.dim = dim;
    p.t0 = t0;
    p.t1 = t1;
    for (int r = 0; r < dim; ++r)
    {
      p.mean0.push_back(offset);
      p.mean1.push_back(offset + (r % 2 == 0 ? 2.0 : -1.0));
      p.std0.push_back(1.0);
      p.std1.push_back(r % 2 == 0 ? 0.5 : 1.5);
    }
    return p;
  }
  double normalised(double T) const { return (T - t0) / (t1 - t0); }
  double mean(int r, double t) const { return (1 - t) * mean0[r] + t * mean1[r]; }
  double stddev(int r, double t) const { return (1 - t) * std0[r] + t * std1[r]; }
  /// Velocity dx/dT in physical units at physical time T.
  double velocity(int r, double x_r, double T) const
  {
    const double t = normalised(T);
    const double v = (mean1[r] - mean0[r]) + (std1[r] - std0[r]) / stddev(r, t) * (x_r - mean(r, t));
    return v / (t1 - t0);
  }
  /// K equally spaced snapshots of n samples each (counter-based draws from seed).
  SnapshotData snapshots(int K, std::int64_t n, std::uint64_t seed) const
  {
    require(K >= 2, "gaussian path: --snapshots must be at least 2");
    require(n >= 1, "gaussian path: --samples must be at least 1");
    const auto times = equally_spaced(K, t0, t1);
    return normal_snapshots(
        dim, times, n, RandomKey(seed)(0x6a05), [&](std::int64_t k, int r) { return mean(r, normalised(times[k])); },
        [&](std::int64_t k, int r) { return stddev(r, normalised(times[k])); });
  }
  /// One-line description stored as the data file's provenance attribute.
  std::string describe() const
  {
    auto list = [&](const std::vector<double> &v)
    {
      std::string s = "[";
      for (int r = 0; r < dim; ++r)
        s += (r ? "," : "") + std::to_string(v[r]);
      return s + "]";
    };
    return "gaussian path: mu_t=(1-t)mu0+t mu1, sigma_t=(1-t)sigma0+t sigma1; mu0=" + list(mean0) +
           " mu1=" + list(mean1) + " sigma0=" + list(std0) + " sigma1=" + list(std1);
  }
};
} // namespace amk::examples
