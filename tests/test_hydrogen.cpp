// The hydrogen atom of `amk datagen hydrogen` (data/hydrogen.hpp) against closed forms: ψ
// normalised, the radial moments of |ψ_t|² constant and equal to the textbook values, the
// analytic ∇ arg ψ against finite differences, and the Metropolis + Bohmian particles'
// moments at every snapshot.
#include <amk/examples/hydrogen.hpp>
#include <array>
#include <cmath>
#include <cstdio>
#include <vector>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
constexpr double pi = 3.14159265358979323846;

/// ∫|ψ_t|² r^p dx on a spherical grid (midpoints in θ, trapezoid in φ and r; r ≤ 60 a0).
double moment(const examples::Hydrogen &h, double t, int p)
{
  const int nr = 1200, nt = 96, np = 32;
  const double rmax = 60 * examples::Hydrogen::a0, dr = rmax / nr;
  double sum = 0;
  for (int i = 1; i <= nr; ++i)
    for (int j = 0; j < nt; ++j)
      for (int k = 0; k < np; ++k)
      {
        const double r = i * dr, th = (j + 0.5) * pi / nt, ph = 2 * pi * k / np;
        const double x[3] = {r * std::sin(th) * std::cos(ph), r * std::sin(th) * std::sin(ph), r * std::cos(th)};
        sum += h.density(x, t) * std::pow(r, p) * r * r * std::sin(th) * (i == nr ? 0.5 : 1.0);
      }
  return sum * dr * (pi / nt) * (2 * pi / np);
}

TEST(Hydrogen, PsiIsNormalisedAndItsRadialMomentsAreConstant)
{
  const examples::Hydrogen h; // (3,2,−1) + (2,1,0), the paper's superposition
  const auto [r1, r2] = h.radial_moments();
  EXPECT_NEAR(h.period(), 2 * pi / (5.0 / 36 / (2 * h.a0 * h.a0)), 1e-6);
  EXPECT_NEAR(h.period(), 14287.6, 0.1) << "T = 14000 is about one beat period";
  for (double t : {0.0, 3500.0, 7000.0})
  {
    const double norm = moment(h, t, 0), m1 = moment(h, t, 1), m2 = moment(h, t, 2);
    std::printf("[ t = %g ] ∫|ψ|² = %.6f, <r> = %.4f (closed form %.4f), <r²> = %.2f (%.2f)\n", t, norm, m1, r1, m2,
                r2);
    EXPECT_NEAR(norm, 1.0, 2e-4); // the grid's error
    EXPECT_NEAR(m1, r1, 1e-4 * r1);
    EXPECT_NEAR(m2, r2, 1e-4 * r2);
  }
}

TEST(Hydrogen, BohmianVelocityMatchesFiniteDifferencesOfThePhase)
{
  examples::Hydrogen h;
  h.states = {{3, 2, -1}, {2, 1, 0}, {3, 1, 1}, {1, 0, 0}};
  h.coefficients = {{1.0, 0.0}, {0.5, 0.5}, {0.0, -0.7}, {0.3, 0.0}};
  const RandomKey key(3);
  double worst = 0;
  for (int i = 0; i < 200; ++i)
  {
    double x[3];
    for (int r = 0; r < 3; ++r)
      x[r] = 4 * h.a0 * key(i).normal(std::uint64_t(r));
    const double t = 1000.0 * key(i).uniform(7);
    double v[3];
    h.velocity(x, t, v);
    const double step = 1e-5 * h.a0;
    for (int r = 0; r < 3; ++r)
    {
      double xp[3] = {x[0], x[1], x[2]}, xm[3] = {x[0], x[1], x[2]};
      xp[r] += step;
      xm[r] -= step;
      const double fd = std::arg(h.psi(xp, t) / h.psi(xm, t)) / (2 * step); // no branch cut
      worst = std::max(worst, std::abs(fd - v[r]) / (std::abs(v[0]) + std::abs(v[1]) + std::abs(v[2]) + 1e-12));
    }
  }
  std::printf("[ ∇ arg ψ ] largest relative difference to central differences over 200 points: %.2e\n", worst);
  EXPECT_LT(worst, 1e-5);
}

TEST(Hydrogen, NodeDistanceIsTheDistanceToTheNodalPlane)
{
  // ψ_210 ∝ z e^{−r/(2a0)}: its nodal set is the plane z = 0, and |ψ|/|∇ψ| → |z| near it
  examples::Hydrogen h;
  h.states = {{2, 1, 0}};
  h.coefficients = {1.0};
  for (double z : {1e-3, 1e-2, 0.1})
  {
    const double x[3] = {20.0, -15.0, z};
    EXPECT_NEAR(h.node_distance(x, 100.0), z, 0.01 * z + 1e-9) << "z = " << z;
  }
}

TEST(Hydrogen, HiddenCirculationIsAllOfAStationaryVortexAndNoneWithoutOne)
{
  // one state with m = −1: a static, axially symmetric density, so no density shows any of
  // its velocity −φ̂/ρ: the hidden part is all of it, c²/(ι|ψ|²) = 1/ρ²
  examples::Hydrogen vortex;
  vortex.states = {{3, 2, -1}};
  vortex.coefficients = {1.0};
  // m = 0 states only: ∇ arg ψ has no azimuthal part, nothing is hidden
  examples::Hydrogen meridional;
  meridional.states = {{2, 1, 0}, {1, 0, 0}};
  for (const auto &x : std::vector<std::array<double, 3>>{{20, -15, 7}, {-3, 40, -25}, {60, 2, 30}})
  {
    const double rho2 = x[0] * x[0] + x[1] * x[1];
    double v[3];
    vortex.velocity(x.data(), 500.0, v);
    EXPECT_NEAR(v[0] * v[0] + v[1] * v[1] + v[2] * v[2], 1 / rho2, 1e-12 / rho2);
    EXPECT_NEAR(vortex.hidden_circulation(x.data(), 500.0), 1 / rho2, 1e-9 / rho2);
    EXPECT_LT(meridional.hidden_circulation(x.data(), 500.0), 1e-20);
    meridional.velocity(x.data(), 500.0, v);
    EXPECT_GT(v[0] * v[0] + v[1] * v[1] + v[2] * v[2], 1e-8); // it moves, visibly
  }
}

TEST(Hydrogen, MetropolisAndBohmianParticlesKeepTheRadialMoments)
{
  const examples::Hydrogen h;
  examples::HydrogenOptions o;
  o.samples = 2000;
  o.snapshots = 11;
  o.substeps = 20; // dt = 70
  examples::MetropolisReport report;
  const auto d = examples::hydrogen_snapshots(h, o, &report);
  const auto [r1, r2] = h.radial_moments();
  std::printf("[ Metropolis ] acceptance %.3f, <r> %.3f (%.3f), <r²> %.1f (%.1f)\n", report.acceptance,
              report.mean_r, r1, report.mean_r2, r2);
  EXPECT_GT(report.acceptance, 0.2);
  EXPECT_LT(report.acceptance, 0.9);
  // sample means of 2000 draws: σ(r)/√2000 ≈ 2 % of <r>, σ(r²)/√2000 ≈ 3.5 % of <r²>
  for (int k = 0; k < o.snapshots; ++k)
  {
    double m1 = 0, m2 = 0;
    for (std::int64_t i = d.offsets[k]; i < d.offsets[k + 1]; ++i)
    {
      const double *x = &d.x[std::size_t(3 * i)];
      const double rr = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
      m1 += std::sqrt(rr) / double(o.samples);
      m2 += rr / double(o.samples);
    }
    EXPECT_NEAR(m1, r1, 0.05 * r1) << "snapshot " << k;
    EXPECT_NEAR(m2, r2, 0.1 * r2) << "snapshot " << k;
    if (k % 5 == 0)
      std::printf("[ t = %g ] <r> %.3f, <r²> %.1f\n", d.times[std::size_t(k)], m1, m2);
  }
}
} // namespace
