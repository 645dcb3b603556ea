#pragma once
// Exact optimal transport between two discrete measures with integer masses: the network
// simplex of LEMON (the solver POT's emd is built on), on the host. The plan has at most
// n + m − 1 nonzero entries (a vertex of the transport polytope), so it is stored sparse.
// Used where an assignment cannot be the answer: snapshots of different sizes (data/coupling.hpp)
// and the Wasserstein distances of weighted samples (metrics/wasserstein.hpp). Where it can, the
// host auction below.
#include <cstddef>
#include <cstdint>
#include <limits>
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

/// An assignment of n rows to n columns (cost(i, j) = cost[i·n + j]) within n·ε of the least
/// total cost, ε = eps_relative × the mean cost: Bertsekas' forward auction with ε-scaling, one
/// row bidding at a time (Gauss–Seidel), on the host; partner[i] is row i's column. On a CPU it
/// needs a third of the bids of the device auction's Jacobi rounds (data/coupling.hpp), where
/// every unassigned row bids at once and all but one per object bid again.
std::vector<std::int64_t> auction_assignment(const std::vector<double> &cost, std::int64_t n, double eps_relative);

namespace impl
{
/// The least and second least of cost[j] + price[j] over j < n, and the first j of the least:
/// the auction's bid (benefit − price is its negative). least_two is the AVX2 scan where the
/// target has it, least_two_scalar the plain loop; the two agree exactly (tests).
struct LeastTwo
{
  double first = std::numeric_limits<double>::infinity(), second = first;
  std::size_t at = 0;
};
LeastTwo least_two(const double *cost, const double *price, std::size_t n);
LeastTwo least_two_scalar(const double *cost, const double *price, std::size_t n);
} // namespace impl

/// Integer masses in proportion to non-negative weights w, summing to exactly `total`
/// (largest remainders get the leftover units): the input exact_transport takes.
std::vector<std::int64_t> integer_masses(const std::vector<double> &w, std::int64_t total);
} // namespace amk::data
