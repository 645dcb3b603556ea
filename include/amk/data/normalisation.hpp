#pragma once
// Physical ↔ normalised coordinates. Inside amk time runs over [0,1] and space is centred
// and scaled by ONE isotropic factor (a per-axis scale would turn the gradient field ∇s
// into a non-gradient one):  T = t0 + t·span,  x = shift + scale·x̃.
// The learned action s̃(x̃, t) maps back to physical units as
//   velocity  dx/dT = (scale/span) ∇ₓ̃ s̃,   s = (scale²/span) s̃,   ∂s/∂T = (scale²/span²) ∂ₜs̃.
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
};
} // namespace amk::data
