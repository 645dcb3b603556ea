#pragma once
// The hydrogen atom of the Action Matching paper's Schrödinger experiment, in the reference
// code's units: ħ = m_e = e = ε0 = 1, so the Bohr radius is a0 = 4πε0ħ²/(m_e e²) = 4π and
// E_n = −1/(2 a0² n²). ψ(x, t) = Σ_k c_k e^{−i E_k t} ψ_{n_k l_k m_k}(x) with
//   ψ_nlm = R_nl(r) Y_lm(θ, φ),
//   R_nl = √((2/(n a0))³ (n−l−1)!/(2n (n+l)!)) e^{−ρ/2} ρ^l L_{n−l−1}^{2l+1}(ρ),  ρ = 2r/(n a0),
//   Y_lm = (−1)^m √((2l+1)/(4π) (l−m)!/(l+m)!) P_l^m(cos θ) e^{imφ}
// (P_l^m with the Condon–Shortley phase, P_l^{−m} = (−1)^m (l−m)!/(l+m)! P_l^m: the reference
// code's conventions, which fix the relative sign of a superposition's states). Particles move
// by Bohmian dynamics, v = ∇ arg ψ = Im(ψ* ∇ψ)/|ψ|², with ∇ψ analytic (Laguerre and Legendre
// derivatives), and start from |ψ(x, 0)|² by random-walk Metropolis.
#include <amk/core/choice.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/snapshot_data.hpp>
#include <cmath>
#include <complex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace amk::examples
{
using data::equally_spaced;
using data::normal_snapshots;
using data::SnapshotData;

namespace hydrogen_detail
{
inline double factorial(int n)
{
  double f = 1;
  for (int i = 2; i <= n; ++i)
    f *= i;
  return f;
}

/// Generalised Laguerre L_n^α(x) (0 for n < 0).
inline double laguerre(int n, int alpha, double x)
{
  return n < 0 ? 0.0 : std::assoc_laguerre(unsigned(n), unsigned(alpha), x);
}

/// Associated Legendre P_l^m(x) with the Condon–Shortley phase, any integer m (0 for |m| > l).
inline double legendre(int l, int m, double x)
{
  if (std::abs(m) > l)
    return 0.0;
  if (m < 0)
    return (m % 2 == 0 ? 1.0 : -1.0) * factorial(l + m) / factorial(l - m) * legendre(l, -m, x);
  return (m % 2 == 0 ? 1.0 : -1.0) * std::assoc_legendre(unsigned(l), unsigned(m), x); // libstdc++: no CS phase
}
} // namespace hydrogen_detail

struct HydrogenState
{
  int n = 1, l = 0, m = 0;
};

struct Hydrogen
{
  static constexpr double a0 = 4 * 3.14159265358979323846; ///< Bohr radius in these units
  std::vector<HydrogenState> states = {{3, 2, -1}, {2, 1, 0}};
  // (2, 1.0), not {1.0, 1.0}: GCC 12 -O3 -march=znver3 warns of the initializer list as maybe uninitialised
  std::vector<std::complex<double>> coefficients = std::vector<std::complex<double>>(2, 1.0); ///< normalised on use

  void validate() const
  {
    require(!states.empty() && states.size() == coefficients.size(),
            "hydrogen: give as many coefficients as states");
    for (const auto &s : states)
      require(s.n >= 1 && s.l >= 0 && s.l < s.n && std::abs(s.m) <= s.l,
              "hydrogen: a state needs n >= 1, 0 <= l < n and |m| <= l (got " + std::to_string(s.n) + "," +
                  std::to_string(s.l) + "," + std::to_string(s.m) + ")");
    double norm = 0;
    for (const auto &c : coefficients)
      norm += std::norm(c);
    require(norm > 0 && std::isfinite(norm), "hydrogen: the coefficients must not all be zero");
  }
  /// The superposition as stored with the data (amk_path), for `amk eval --velocity hydrogen`
  /// (equal coefficients: what `amk datagen hydrogen` makes).
  nlohmann::json to_json() const
  {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &st : states)
      list.push_back({st.n, st.l, st.m});
    return {{"name", "hydrogen"}, {"states", list}};
  }
  static Hydrogen from_json(const nlohmann::json &j)
  {
    Hydrogen h;
    h.states.clear();
    h.coefficients.clear();
    for (const auto &s : j.at("states"))
    {
      h.states.push_back({s.at(0).get<int>(), s.at(1).get<int>(), s.at(2).get<int>()});
      h.coefficients.emplace_back(1.0);
    }
    h.validate();
    return h;
  }
  static double energy(int n) { return -1 / (2 * a0 * a0 * double(n) * double(n)); }
  /// The superposition's beat period 2π/|E_a − E_b| of its first two distinct energies (0: one energy).
  double period() const
  {
    for (std::size_t i = 1; i < states.size(); ++i)
      if (states[i].n != states[0].n)
        return 2 * 3.14159265358979323846 / std::abs(energy(states[i].n) - energy(states[0].n));
    return 0;
  }

  /// ψ(x, t) and, when grad is given, ∇ψ (3 complex values).
  std::complex<double> psi(const double *x, double t, std::complex<double> *grad = nullptr) const
  {
    using namespace hydrogen_detail;
    using C = std::complex<double>;
    double total = 0;
    for (const auto &c : coefficients)
      total += std::norm(c);
    const double r = std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]), rho_xy = std::sqrt(x[0] * x[0] + x[1] * x[1]);
    const double ct = r > 0 ? x[2] / r : 1.0, st = r > 0 ? rho_xy / r : 0.0;
    const double phi = std::atan2(x[1], x[0]);
    C value = 0;
    C g_r = 0, g_t = 0, g_p = 0; // ∂ψ/∂r, (1/r)∂ψ/∂θ, (1/(r sin θ))∂ψ/∂φ
    for (std::size_t k = 0; k < states.size(); ++k)
    {
      const auto [n, l, m] = states[k];
      const C ck = coefficients[k] / std::sqrt(total) * std::exp(C(0, -energy(n) * t));
      const double nr = std::sqrt(std::pow(2 / (double(n) * a0), 3) * factorial(n - l - 1) /
                                  (2 * double(n) * factorial(n + l)));
      const double kappa = 2 / (double(n) * a0), rho = kappa * r;
      const double L = laguerre(n - l - 1, 2 * l + 1, rho), dL = -laguerre(n - l - 2, 2 * l + 2, rho);
      const double radial = nr * std::exp(-rho / 2) * std::pow(rho, l) * L;
      const double ny = (m % 2 == 0 ? 1.0 : -1.0) *
                        std::sqrt((2 * l + 1) / (4 * 3.14159265358979323846) * factorial(l - m) / factorial(l + m));
      const double P = legendre(l, m, ct);
      const C e = std::exp(C(0, double(m) * phi));
      value += ck * radial * ny * P * e;
      if (!grad)
        continue;
      // dR/dr = nr κ e^{−ρ/2} [ l ρ^{l−1} L − ½ ρ^l L + ρ^l L' ]
      const double dR = nr * kappa * std::exp(-rho / 2) *
                        ((l > 0 ? l * std::pow(rho, l - 1) : 0.0) * L - 0.5 * std::pow(rho, l) * L + std::pow(rho, l) * dL);
      // dP_l^m(cos θ)/dθ = ½[P_l^{m+1} − (l+m)(l−m+1) P_l^{m−1}]  (Condon–Shortley)
      const double dP = 0.5 * (legendre(l, m + 1, ct) - (l + m) * (l - m + 1) * legendre(l, m - 1, ct));
      g_r += ck * dR * ny * P * e;
      if (r > 0)
      {
        g_t += ck * radial * ny * dP * e / r;
        // (1/(r sin θ)) ∂/∂φ = i m ψ_k / (r sin θ): finite, as P_l^m ∝ sin^|m| θ
        if (m != 0 && st > 0)
          g_p += ck * radial * ny * P * C(0, double(m)) * e / (r * st);
      }
    }
    if (grad)
    {
      const double cp = rho_xy > 0 ? x[0] / rho_xy : 1.0, sp = rho_xy > 0 ? x[1] / rho_xy : 0.0;
      // r̂ = (st cp, st sp, ct), θ̂ = (ct cp, ct sp, −st), φ̂ = (−sp, cp, 0)
      grad[0] = g_r * (st * cp) + g_t * (ct * cp) - g_p * sp;
      grad[1] = g_r * (st * sp) + g_t * (ct * sp) + g_p * cp;
      grad[2] = g_r * ct - g_t * st;
    }
    return value;
  }
  double density(const double *x, double t) const { return std::norm(psi(x, t)); }
  /// The Bohmian velocity ∇ arg ψ = Im(ψ* ∇ψ)/|ψ|² (ħ/m = 1) into v; returns |ψ|², which
  /// the same evaluation of ψ gives.
  double velocity(const double *x, double t, double *v) const
  {
    std::complex<double> g[3];
    const auto p = psi(x, t, g);
    const double d = std::norm(p);
    for (int r = 0; r < 3; ++r)
      v[r] = (std::conj(p) * g[r]).imag() / std::max(d, 1e-300);
    return d;
  }
  /// The distance to the nodal set ψ = 0 to first order, |ψ|/|∇ψ|: where ∇ arg ψ diverges
  /// (as 1/distance), so a velocity error is measured away from it.
  double node_distance(const double *x, double t) const
  {
    std::complex<double> g[3];
    const double value = std::abs(psi(x, t, g));
    return value / std::max(std::sqrt(std::norm(g[0]) + std::norm(g[1]) + std::norm(g[2])), 1e-300);
  }
  /// The part of ∇ arg ψ that no density shows, at x: on the circle about the z axis through
  /// x, c = the mean azimuthal velocity and ι = the mean of 1/|ψ|²; the field
  /// w = (c/ι)/|ψ|² φ̂ has a flux |ψ|² w constant on each circle, so it moves no density
  /// (∇·(|ψ|² w) = 0) and is orthogonal in L²(|ψ|²) to every gradient. Any gradient field ∇s
  /// (what action matching learns from densities) is therefore at least
  /// (E[c²/(ι|ψ|²)] / E|∇ arg ψ|²)^{1/2} away from ∇ arg ψ in relative L² error (the bound
  /// is the best w of this form); this returns c²/(ι|ψ|²) (trapezoid rule, 64 angles).
  double hidden_circulation(const double *x, double t) const
  {
    constexpr int angles = 64;
    const double rho = std::hypot(x[0], x[1]);
    if (rho == 0)
      return 0;
    double c = 0, iota = 0;
    for (int a = 0; a < angles; ++a)
    {
      const double phi = 2 * 3.14159265358979323846 * a / angles;
      const double y[3] = {rho * std::cos(phi), rho * std::sin(phi), x[2]};
      double v[3];
      const double q = velocity(y, t, v);
      c += (-std::sin(phi) * v[0] + std::cos(phi) * v[1]) / angles;
      iota += 1 / std::max(q, 1e-300) / angles;
    }
    return c * c / (iota * std::max(density(x, t), 1e-300));
  }
  /// ⟨r⟩ and ⟨r²⟩ of |ψ_t|² (constant in time: the cross terms of states with different (l, m)
  /// vanish by the angular orthogonality; states sharing (l, m) would break this formula).
  std::pair<double, double> radial_moments() const
  {
    double total = 0, r1 = 0, r2 = 0;
    for (const auto &c : coefficients)
      total += std::norm(c);
    for (std::size_t k = 0; k < states.size(); ++k)
    {
      const double w = std::norm(coefficients[k]) / total, n = states[k].n, l = states[k].l;
      r1 += w * a0 / 2 * (3 * n * n - l * (l + 1));
      r2 += w * a0 * a0 * n * n / 2 * (5 * n * n + 1 - 3 * l * (l + 1));
    }
    return {r1, r2};
  }
};

/// Options of the data set: the reference code's setting by default.
/// The Bohmian trajectories' integrator.
enum class Integrator
{
  rk4,
  euler ///< the reference code's (drifts off |psi|^2)
};
inline const std::vector<Named<Integrator>> &choices(Integrator)
{
  static const std::vector<Named<Integrator>> table = {{Integrator::rk4, "rk4"}, {Integrator::euler, "euler"}};
  return table;
}

struct HydrogenOptions
{
  int snapshots = 1001;             ///< K: T split into K − 1 steps (the reference's 1000)
  std::int64_t samples = 5000;      ///< particles
  double t1 = 14000;                ///< end time (t0 = 0)
  int substeps = 1;                 ///< integrator steps per snapshot interval
  Integrator integrator = Integrator::rk4;
  double proposal = 10, start = 50; ///< Metropolis: proposal σ, initial N(0, start² I)
  int burn_in = 5000;               ///< Metropolis steps per chain
  std::uint64_t seed = 0;
};

/// What datagen reports about the Metropolis chains.
struct MetropolisReport
{
  double acceptance = 0, mean_r = 0, mean_r2 = 0;
};

/// Initial particles from |ψ(x, 0)|² by random-walk Metropolis (one chain per particle,
/// `burn_in` steps each, as the reference code), then moved by Bohmian dynamics; snapshot k
/// at t = k·t1/(K − 1) holds the same particles (their trajectories).
inline SnapshotData hydrogen_snapshots(const Hydrogen &h, const HydrogenOptions &o, MetropolisReport *report = nullptr)
{
  h.validate();
  require(o.snapshots >= 2 && o.samples >= 1 && o.substeps >= 1 && o.burn_in >= 0 && o.t1 > 0,
          "hydrogen: --snapshots >= 2, --samples >= 1, --substeps >= 1 and --t1 > 0 needed");
  const std::int64_t n = o.samples;
  std::vector<double> x(std::size_t(3 * n));
  const RandomKey key = RandomKey(o.seed)(0x4a70);
  std::int64_t accepted = 0;
  for (std::int64_t i = 0; i < n; ++i)
  {
    const RandomKey chain = key(std::uint64_t(i));
    double *xi = &x[std::size_t(3 * i)];
    for (int r = 0; r < 3; ++r)
      xi[r] = o.start * chain(0).normal(std::uint64_t(r));
    double p = h.density(xi, 0);
    for (int s = 1; s <= o.burn_in; ++s)
    {
      const RandomKey step = chain(std::uint64_t(s));
      double y[3];
      for (int r = 0; r < 3; ++r) // counters 0–5
        y[r] = xi[r] + o.proposal * step.normal(std::uint64_t(r));
      const double q = h.density(y, 0);
      if (q >= p || step(1).uniform(0) * p < q) // a stream of its own, independent of the proposal
      {
        for (int r = 0; r < 3; ++r)
          xi[r] = y[r];
        p = q;
        ++accepted;
      }
    }
  }
  if (report)
  {
    report->acceptance = o.burn_in > 0 ? double(accepted) / double(n * o.burn_in) : 0;
    double r1 = 0, r2 = 0;
    for (std::int64_t i = 0; i < n; ++i)
    {
      const double *xi = &x[std::size_t(3 * i)];
      const double rr = xi[0] * xi[0] + xi[1] * xi[1] + xi[2] * xi[2];
      r1 += std::sqrt(rr) / double(n);
      r2 += rr / double(n);
    }
    report->mean_r = r1;
    report->mean_r2 = r2;
  }
  SnapshotData out;
  out.dim = 3;
  out.times = equally_spaced(o.snapshots, 0, o.t1);
  const double dt = o.t1 / double(o.snapshots - 1) / double(o.substeps);
  const bool rk4 = o.integrator == Integrator::rk4;
  for (int k = 0; k < o.snapshots; ++k)
  {
    out.offsets.push_back(std::int64_t(k) * n);
    out.x.insert(out.x.end(), x.begin(), x.end());
    if (k + 1 == o.snapshots)
      break;
    for (std::int64_t i = 0; i < n; ++i)
    {
      double *xi = &x[std::size_t(3 * i)];
      double t = out.times[std::size_t(k)];
      for (int s = 0; s < o.substeps; ++s, t += dt)
      {
        double k1[3], k2[3], k3[3], k4[3], y[3];
        h.velocity(xi, t, k1);
        if (!rk4)
        {
          for (int r = 0; r < 3; ++r)
            xi[r] += dt * k1[r];
          continue;
        }
        for (int r = 0; r < 3; ++r)
          y[r] = xi[r] + dt / 2 * k1[r];
        h.velocity(y, t + dt / 2, k2);
        for (int r = 0; r < 3; ++r)
          y[r] = xi[r] + dt / 2 * k2[r];
        h.velocity(y, t + dt / 2, k3);
        for (int r = 0; r < 3; ++r)
          y[r] = xi[r] + dt * k3[r];
        h.velocity(y, t + dt, k4);
        for (int r = 0; r < 3; ++r)
          xi[r] += dt / 6 * (k1[r] + 2 * k2[r] + 2 * k3[r] + k4[r]);
      }
    }
  }
  out.offsets.push_back(std::int64_t(o.snapshots) * n);
  return out;
}
} // namespace amk::examples
