#pragma once
// Exact Wasserstein distances between two sample sets, the metrics of the trajectory-inference
// literature (W1 in the tables of TIGON, DeepRUOT, Var-RUOT, TorchCFM): each set normalised to a
// probability (uniform weights, or the given non-negative weights: unbalanced AM's particles), then
//   W_p = (min over couplings π of Σ π_ij |x_i − y_j|^p)^{1/p},  p = 1, 2,
// by exact OT (data/transport.hpp: the network simplex on integer masses; uniform masses are
// exact, weights are rounded to 1e-9 of the total). In the coordinates given (amk eval: the
// data's own units; papers that whiten or take PCA coordinates first report other numbers).
#include <cstdint>
#include <vector>

namespace amk::metrics
{
struct WassersteinDistances
{
  double w1 = 0, w2 = 0;
};

/// W1 and W2 between the rows of X (n × d) and Y (m × d), row-major host arrays, with optional
/// weights a (n) and b (m) (empty: uniform). amk::Error on empty sets or bad weights.
WassersteinDistances wasserstein(const std::vector<double> &X, std::int64_t n, const std::vector<double> &Y,
                                 std::int64_t m, std::int64_t d, const std::vector<double> &a = {},
                                 const std::vector<double> &b = {});
} // namespace amk::metrics
