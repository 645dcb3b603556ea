#pragma once
// Finite differences in double precision with the fourth-order central stencil
//   f'(x) ≈ [8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))] / 12h,
// whose error is (h⁴/30)|f⁽⁵⁾| (truncation) + ~1.5ε|f|/h (rounding). With h = 1e-3 both are
// near 1e-12·(scale of f and its derivatives), so a relative error below 1e-6 keeps about
// five orders of margin even for the high-frequency time features and ×2.5 weights the
// tests use. (The second-order stencil at its best h ≈ 1e-5 only reaches ~1e-6 here.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace amk::test
{
constexpr double kFdStep = 1e-3;

inline double central_difference(const std::function<double(double)> &f, double x0, double h = kFdStep)
{
  return (8 * (f(x0 + h) - f(x0 - h)) - (f(x0 + 2 * h) - f(x0 - 2 * h))) / (12 * h);
}

/// max_i |a_i − b_i| / max(max_i |b_i|, floor): a norm-wise relative error.
inline double relative_error(const std::vector<double> &a, const std::vector<double> &b, double floor = 1e-8)
{
  double num = 0, den = floor;
  for (std::size_t i = 0; i < a.size(); ++i)
  {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / den;
}
} // namespace amk::test
