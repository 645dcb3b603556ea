#include <amk/core/error.hpp>
#include <amk/data/transport.hpp>
#include <algorithm>
#include <cmath>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <limits>
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>
#include <numeric>

namespace amk::data
{
// GCC 12 sees LEMON's node and arc records, pushed into std::vector, as maybe uninitialised
// (they are PODs its constructors fill): silenced for this function, whose values it checks.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
TransportPlan exact_transport(const std::vector<std::int64_t> &a, const std::vector<std::int64_t> &b,
                              const std::vector<double> &cost)
{
  const std::size_t n = a.size(), m = b.size();
  require(n > 0 && m > 0, "transport: both measures need at least one point");
  require(cost.size() == n * m, "transport: the cost matrix is not n x m");
  require(std::all_of(a.begin(), a.end(), [](std::int64_t v) { return v >= 0; }) &&
              std::all_of(b.begin(), b.end(), [](std::int64_t v) { return v >= 0; }),
          "transport: a mass is negative");
  require(std::accumulate(a.begin(), a.end(), std::int64_t(0)) == std::accumulate(b.begin(), b.end(), std::int64_t(0)),
          "transport: the two measures have different totals");
  // The simplex runs on integer costs: with floating-point reduced costs LEMON's pivots can
  // cycle for ever (seen on 400 x 530 weighted samples). Rounded to 2^-40 of the largest cost,
  // the plan is optimal to ~1e-12 relative; its cost is summed from the given doubles.
  double largest = 0;
  bool finite = true; // one require after the loop: its message is a std::string built per call
  for (const double c : cost)
  {
    finite = finite && std::isfinite(c);
    largest = std::max(largest, std::abs(c));
  }
  require(finite, "transport: a cost is not finite");
  const double to_integer = largest > 0 ? std::ldexp(1.0, 40) / largest : 1.0;
  using Graph = lemon::SmartDigraph;
  Graph graph;
  graph.reserveNode(int(n + m));
  graph.reserveArc(int(n * m));
  std::vector<Graph::Node> nodes;
  for (std::size_t i = 0; i < n + m; ++i)
    nodes.push_back(graph.addNode());
  Graph::ArcMap<std::int64_t> arc_cost(graph);
  std::vector<double> arc_value;
  Graph::NodeMap<std::int64_t> supply(graph);
  // only sources and targets with mass take part (zero rows add arcs the simplex never uses)
  for (std::size_t i = 0; i < n; ++i)
    supply[nodes[i]] = a[i];
  for (std::size_t j = 0; j < m; ++j)
    supply[nodes[n + j]] = -b[j];
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] > 0)
      for (std::size_t j = 0; j < m; ++j)
        if (b[j] > 0)
        {
          arc_cost[graph.addArc(nodes[i], nodes[n + j])] = std::llround(cost[i * m + j] * to_integer);
          arc_value.push_back(cost[i * m + j]);
        }
  lemon::NetworkSimplex<Graph, std::int64_t, std::int64_t> simplex(graph);
  simplex.costMap(arc_cost).supplyMap(supply);
  const auto status = simplex.run();
  require(status == lemon::NetworkSimplex<Graph, std::int64_t, std::int64_t>::OPTIMAL,
          "transport: the network simplex found no optimal plan");
  TransportPlan plan;
  for (Graph::ArcIt arc(graph); arc != lemon::INVALID; ++arc)
  {
    const std::int64_t f = simplex.flow(arc);
    if (f <= 0)
      continue;
    plan.source.push_back(graph.id(graph.source(arc)));
    plan.target.push_back(graph.id(graph.target(arc)) - std::int64_t(n));
    plan.flow.push_back(f);
    plan.cost += double(f) * arc_value[std::size_t(graph.id(arc))];
  }
  return plan;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

std::vector<std::int64_t> integer_masses(const std::vector<double> &w, std::int64_t total)
{
  require(!w.empty() && total > 0, "transport: no masses");
  double sum = 0;
  for (const double v : w)
  {
    require(v >= 0 && std::isfinite(v), "transport: a weight is negative or not finite");
    sum += v;
  }
  require(sum > 0, "transport: the weights sum to zero");
  std::vector<std::int64_t> out(w.size());
  std::vector<std::pair<double, std::size_t>> remainder(w.size());
  std::int64_t given = 0;
  for (std::size_t i = 0; i < w.size(); ++i)
  {
    const double exact = w[i] / sum * double(total);
    out[i] = std::int64_t(std::floor(exact));
    remainder[i] = {exact - double(out[i]), i};
    given += out[i];
  }
  std::sort(remainder.begin(), remainder.end(), [](const auto &x, const auto &y) { return x.first > y.first; });
  for (std::int64_t k = 0; given + k < total; ++k)
    ++out[remainder[std::size_t(k) % w.size()].second];
  return out;
}

namespace impl
{
LeastTwo least_two_scalar(const double *cost, const double *price, std::size_t n)
{
  LeastTwo r;
  for (std::size_t j = 0; j < n; ++j)
  {
    const double t = cost[j] + price[j];
    if (t < r.second)
    {
      if (t < r.first)
      {
        r.second = r.first;
        r.first = t;
        r.at = j;
      }
      else
        r.second = t;
    }
  }
  return r;
}

LeastTwo least_two(const double *cost, const double *price, std::size_t n)
{
#if defined(__AVX2__)
  // 8 lanes in two registers, each keeping its least, second least and where the least is
  // (as a double: exact below 2^53, and blendv selects doubles); then the lanes merge, ties
  // going to the lower column as in the scalar scan. 4x the scalar loop at n = 512.
  const __m256d inf = _mm256_set1_pd(std::numeric_limits<double>::infinity()), step = _mm256_set1_pd(8);
  __m256d first_a = inf, second_a = inf, first_b = inf, second_b = inf;
  __m256d at_a = _mm256_setzero_pd(), at_b = at_a, col_a = _mm256_set_pd(3, 2, 1, 0), col_b = _mm256_set_pd(7, 6, 5, 4);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
  {
    const __m256d ta = _mm256_add_pd(_mm256_loadu_pd(cost + j), _mm256_loadu_pd(price + j));
    const __m256d tb = _mm256_add_pd(_mm256_loadu_pd(cost + j + 4), _mm256_loadu_pd(price + j + 4));
    second_a = _mm256_min_pd(_mm256_max_pd(ta, first_a), second_a);
    second_b = _mm256_min_pd(_mm256_max_pd(tb, first_b), second_b);
    at_a = _mm256_blendv_pd(at_a, col_a, _mm256_cmp_pd(ta, first_a, _CMP_LT_OQ));
    at_b = _mm256_blendv_pd(at_b, col_b, _mm256_cmp_pd(tb, first_b, _CMP_LT_OQ));
    first_a = _mm256_min_pd(ta, first_a);
    first_b = _mm256_min_pd(tb, first_b);
    col_a = _mm256_add_pd(col_a, step);
    col_b = _mm256_add_pd(col_b, step);
  }
  alignas(32) double first[8], second[8], at[8];
  _mm256_store_pd(first, first_a);
  _mm256_store_pd(first + 4, first_b);
  _mm256_store_pd(second, second_a);
  _mm256_store_pd(second + 4, second_b);
  _mm256_store_pd(at, at_a);
  _mm256_store_pd(at + 4, at_b);
  LeastTwo r;
  for (int lane = 0; lane < 8; ++lane)
    if (first[lane] < r.first || (first[lane] == r.first && std::size_t(at[lane]) < r.at))
    {
      r.second = std::min(r.first, second[lane]);
      r.first = first[lane];
      r.at = std::size_t(at[lane]);
    }
    else
      r.second = std::min(r.second, first[lane]);
  const LeastTwo tail = least_two_scalar(cost + j, price + j, n - j);
  if (tail.first < r.first)
  {
    r.second = std::min(r.first, tail.second);
    r.first = tail.first;
    r.at = j + tail.at;
  }
  else
    r.second = std::min(r.second, tail.first);
  return r;
#else
  return least_two_scalar(cost, price, n);
#endif
}
} // namespace impl

std::vector<std::int64_t> auction_assignment(const std::vector<double> &cost, std::int64_t n, double eps_relative)
{
  require(n > 0, "assignment: no rows");
  require(cost.size() == std::size_t(n) * std::size_t(n), "assignment: the cost matrix is not n x n");
  require(eps_relative > 0 && std::isfinite(eps_relative), "assignment: the auction's epsilon must be positive");
  double mean = 0;
  bool finite = true;
  for (const double c : cost)
  {
    finite = finite && std::isfinite(c);
    mean += c;
  }
  require(finite, "assignment: a cost is not finite");
  mean = std::max(mean / (double(n) * double(n)), 1e-300);
  const double eps_final = eps_relative * mean;
  const auto size = std::size_t(n);
  std::vector<double> price(size, 0.0);
  std::vector<std::int64_t> owner(size), assigned(size), waiting;
  waiting.reserve(size);
  // ε-scaling as the device auction (data/coupling.hpp): from a quarter of the mean cost down
  // by 5 each phase, the prices kept, the assignment started again
  for (double eps = std::max(mean / 4, eps_final);; eps = std::max(eps / 5, eps_final))
  {
    std::fill(owner.begin(), owner.end(), -1);
    std::fill(assigned.begin(), assigned.end(), -1);
    waiting.clear();
    for (std::int64_t i = n - 1; i >= 0; --i)
      waiting.push_back(i);
    while (!waiting.empty())
    { // one row bids at a time (Gauss–Seidel), on the prices as they are now
      const std::int64_t i = waiting.back();
      waiting.pop_back();
      // its best column: the least cost + price, and the second least
      const impl::LeastTwo best = impl::least_two(&cost[std::size_t(i) * size], price.data(), size);
      const std::size_t j1 = best.at;
      price[j1] += (n > 1 ? best.second - best.first : 0.0) + eps;
      if (owner[j1] >= 0)
      {
        assigned[std::size_t(owner[j1])] = -1;
        waiting.push_back(owner[j1]); // outbid: it bids again
      }
      owner[j1] = i;
      assigned[std::size_t(i)] = std::int64_t(j1);
    }
    if (eps <= eps_final)
      break;
  }
  return assigned;
}
} // namespace amk::data
