#include <amk/core/error.hpp>
#include <amk/data/transport.hpp>
#include <algorithm>
#include <cmath>
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
  using Graph = lemon::SmartDigraph;
  Graph graph;
  graph.reserveNode(int(n + m));
  graph.reserveArc(int(n * m));
  std::vector<Graph::Node> nodes;
  for (std::size_t i = 0; i < n + m; ++i)
    nodes.push_back(graph.addNode());
  Graph::ArcMap<double> arc_cost(graph);
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
          arc_cost[graph.addArc(nodes[i], nodes[n + j])] = cost[i * m + j];
  lemon::NetworkSimplex<Graph, std::int64_t, double> simplex(graph);
  simplex.costMap(arc_cost).supplyMap(supply);
  const auto status = simplex.run();
  require(status == lemon::NetworkSimplex<Graph, std::int64_t, double>::OPTIMAL,
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
    plan.cost += double(f) * arc_cost[arc];
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
} // namespace amk::data
