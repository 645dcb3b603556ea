#include <amk/core/error.hpp>
#include <amk/data/transport.hpp>
#include <amk/metrics/wasserstein.hpp>
#include <cmath>
#include <numeric>

namespace amk::metrics
{
WassersteinDistances wasserstein(const std::vector<double> &X, std::int64_t n, const std::vector<double> &Y,
                                 std::int64_t m, std::int64_t d, const std::vector<double> &a,
                                 const std::vector<double> &b)
{
  require(n >= 1 && m >= 1 && d >= 1, "wasserstein: both sets need at least one sample");
  require(X.size() == std::size_t(n * d) && Y.size() == std::size_t(m * d), "wasserstein: the sets' sizes do not match n, m, d");
  require(a.empty() || a.size() == std::size_t(n), "wasserstein: the weights of the first set are not n");
  require(b.empty() || b.size() == std::size_t(m), "wasserstein: the weights of the second set are not m");
  // integer masses of equal totals: uniform sets exactly (m and n units a sample), weights to 1e-9
  constexpr std::int64_t weighted_total = 1000000000;
  const bool uniform = a.empty() && b.empty();
  const std::int64_t g = std::gcd(n, m);
  const std::int64_t total = uniform ? n / g * m : weighted_total;
  const auto masses = [&](const std::vector<double> &w, std::int64_t count)
  { return w.empty() ? data::integer_masses(std::vector<double>(std::size_t(count), 1.0), total) : data::integer_masses(w, total); };
  const std::vector<std::int64_t> ma = masses(a, n), mb = masses(b, m);
  std::vector<double> distance(std::size_t(n * m)), square(std::size_t(n * m));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j)
    {
      double s = 0;
      for (std::int64_t r = 0; r < d; ++r)
      {
        const double e = X[std::size_t(i * d + r)] - Y[std::size_t(j * d + r)];
        s += e * e;
      }
      square[std::size_t(i * m + j)] = s;
      distance[std::size_t(i * m + j)] = std::sqrt(s);
    }
  WassersteinDistances out;
  out.w1 = data::exact_transport(ma, mb, distance).cost / double(total);
  out.w2 = std::sqrt(std::max(0.0, data::exact_transport(ma, mb, square).cost / double(total)));
  return out;
}
} // namespace amk::metrics
