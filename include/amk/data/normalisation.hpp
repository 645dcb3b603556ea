#pragma once
// Physical ↔ normalised coordinates, in ONE place. Inside amk time runs over [0,1] and space
// is centred and scaled by ONE isotropic factor (a per-axis scale would turn the gradient
// field ∇s into a non-gradient one):  T = t0 + t·span,  x = shift + scale·x̃.
// The learned action s̃(x̃, t) maps back to physical units as
//   velocity  dx/dT = (scale/span) ∇ₓ̃ s̃,   s = (scale²/span) s̃,   ∂s/∂T = (scale²/span²) ∂ₜs̃,
// and a diffusion σ of dX = ∇s dT + σ dW is σ̃ = σ √span / scale.
#include <cmath>
#include <cstddef>
#include <vector>

namespace amk::data
{
struct Normalisation
{
  double t0 = 0, span = 1;
  std::vector<double> shift; ///< d
  double scale = 1;

  double time(double t) const { return t0 + t * span; }
  double normalised_time(double T) const { return (T - t0) / span; }
  /// x̃_r of coordinate r of a physical point
  double normalised_x(double x, std::size_t r) const { return (x - shift[r]) / scale; }
  /// x_r of coordinate r of a normalised point
  double physical_x(double xn, std::size_t r) const { return shift[r] + scale * xn; }
  /// dx/dT from ∇ₓ̃ s̃ (one coordinate)
  double velocity(double gradient) const { return scale / span * gradient; }
  /// s from s̃
  double action(double s) const { return scale * scale / span * s; }
  /// ∂s/∂T from ∂ₜs̃
  double action_rate(double dsdt) const { return scale * scale / (span * span) * dsdt; }
  /// σ̃ from a physical σ
  double normalised_sigma(double sigma) const { return sigma * std::sqrt(span) / scale; }
};
} // namespace amk::data
