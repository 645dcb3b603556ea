#pragma once
// The error of a learned velocity field against a known one at given points (physical
// units): sqrt(Σ|v − v*|² / Σ|v*|²), overall and per time. For a field with nodes (the
// hydrogen superposition, whose ∇ arg ψ diverges on its nodal set) a fraction of the points
// nearest the nodes is left out; for a field with a part no density shows (a stationary
// vortex), the floor no gradient field can beat is reported beside the error.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace amk::metrics
{
/// A velocity field at n points: x (n × d, row-major), t (n), velocity (n × d).
struct FieldAtPoints
{
  std::vector<double> x, t, velocity;
};

/// The known field at a point (x, T): its velocity, and optionally the distance to its nodal
/// set and the squared speed of the part no density shows.
struct ReferenceField
{
  std::function<void(const double *, double, double *)> velocity;
  std::function<double(const double *, double)> node_distance; ///< empty: no nodes
  std::function<double(const double *, double)> hidden;        ///< empty: none
};

struct VelocityError
{
  double relative_l2 = 0;
  std::vector<std::pair<double, double>> per_time; ///< (time, relative L2) per run of equal t
  std::size_t points = 0, excluded = 0;            ///< points given; left out near the nodes
  double excluded_fraction = 0;
  bool has_floor = false;
  double gradient_floor = 0;       ///< sqrt(Σ hidden / Σ|v*|²): no gradient field comes closer
  double gradient_error_bound = 0; ///< sqrt(l2² − floor²): the learned field's distance from the best one
};

/// \param exclude [in] the fraction of points nearest the nodal set left out (fields with nodes)
inline VelocityError velocity_error(const FieldAtPoints &learned, const ReferenceField &field, std::int64_t d,
                                    double exclude)
{
  const auto &x = learned.x, &t = learned.t;
  VelocityError e;
  e.points = t.size();
  e.excluded_fraction = field.node_distance ? exclude : 0.0;
  e.excluded = std::size_t(e.excluded_fraction * double(t.size()));
  std::vector<char> keep(t.size(), 1);
  if (e.excluded > 0)
  {
    std::vector<std::pair<double, std::size_t>> distance;
    for (std::size_t c = 0; c < t.size(); ++c)
      distance.emplace_back(field.node_distance(&x[c * std::size_t(d)], t[c]), c);
    std::nth_element(distance.begin(), distance.begin() + std::ptrdiff_t(e.excluded), distance.end());
    for (std::size_t i = 0; i < e.excluded; ++i)
      keep[distance[i].second] = 0;
  }
  double err = 0, ref = 0, hidden = 0;
  std::vector<double> exact(static_cast<std::size_t>(d));
  for (std::size_t c = 0; c < t.size();)
  {
    double e_k = 0, r_k = 0;
    const double time = t[c];
    for (; c < t.size() && t[c] == time; ++c)
    {
      if (!keep[c])
        continue;
      field.velocity(&x[c * std::size_t(d)], t[c], exact.data());
      if (field.hidden)
        hidden += field.hidden(&x[c * std::size_t(d)], t[c]);
      for (std::int64_t r = 0; r < d; ++r)
      {
        const double diff = learned.velocity[c * std::size_t(d) + std::size_t(r)] - exact[std::size_t(r)];
        e_k += diff * diff;
        r_k += exact[std::size_t(r)] * exact[std::size_t(r)];
      }
    }
    e.per_time.emplace_back(time, std::sqrt(e_k / std::max(r_k, 1e-300)));
    err += e_k;
    ref += r_k;
  }
  e.relative_l2 = std::sqrt(err / std::max(ref, 1e-300));
  if (field.hidden)
  {
    e.has_floor = true;
    e.gradient_floor = std::sqrt(hidden / std::max(ref, 1e-300));
    e.gradient_error_bound =
        std::sqrt(std::max(e.relative_l2 * e.relative_l2 - e.gradient_floor * e.gradient_floor, 0.0));
  }
  return e;
}

inline nlohmann::json to_json(const VelocityError &e)
{
  nlohmann::json per_time = nlohmann::json::array();
  for (const auto &[time, l2] : e.per_time)
    per_time.push_back({{"time", time}, {"relative_l2", l2}});
  nlohmann::json j = {{"points", e.points},
                      {"excluded", e.excluded},
                      {"excluded_fraction", e.excluded_fraction},
                      {"relative_l2", e.relative_l2},
                      {"snapshots", per_time}};
  if (e.has_floor)
  {
    j["gradient_floor"] = e.gradient_floor;
    j["gradient_error_bound"] = e.gradient_error_bound;
  }
  return j;
}
} // namespace amk::metrics
