#pragma once
// Exact optimal transport between two discrete measures with integer masses: the network
// simplex of LEMON (the solver POT's emd is built on), on the host. The plan has at most
// n + m − 1 nonzero entries (a vertex of the transport polytope), so it is stored sparse.
// Used where an assignment cannot be the answer: snapshots of different sizes (data/coupling.hpp)
// and the Wasserstein distances of weighted samples (metrics/wasserstein.hpp).
#include <cstdint>
#include <vector>

namespace amk::data
{
/// The nonzero entries of a transport plan: flow[e] units from source[e] to target[e].
struct TransportPlan
{
  std::vector<std::int64_t> source, target, flow;
  double cost = 0; ///< Σ flow × cost
};

/// The plan of least cost moving supply a (n) onto demand b (m), Σa = Σb, a, b ≥ 0, with
/// cost(i, j) = cost[i·m + j]. amk::Error when the totals differ or a mass is negative.
TransportPlan exact_transport(const std::vector<std::int64_t> &a, const std::vector<std::int64_t> &b,
                              const std::vector<double> &cost);

/// Integer masses in proportion to non-negative weights w, summing to exactly `total`
/// (largest remainders get the leftover units): the input exact_transport takes.
std::vector<std::int64_t> integer_masses(const std::vector<double> &w, std::int64_t total);
} // namespace amk::data
