#pragma once
// The built-in Gaussian path as a training source (`amk train --path gaussian`): exact draws
// x_t for any t (examples/gaussian_path.hpp), every column weighing 1.
#include <amk/core/random.hpp>
#include <amk/core/types.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/data/sources.hpp>
#include <amk/examples/gaussian_path.hpp>

namespace amk::examples
{
/// Exact draws from the Gaussian path (no normalisation: its scale is already O(1)).
template <class Scalar, class ExecutionSpace = DefaultExec> class GaussianSource : public data::Source<Scalar, ExecutionSpace>
{
public:
  using memory_space = typename ExecutionSpace::memory_space;

  GaussianSource(const ExecutionSpace &space, const GaussianPath &path) : m_path(path)
  {
    m_norm.t0 = path.t0;
    m_norm.span = path.t1 - path.t0;
    m_norm.shift.assign(path.dim, 0.0);
    auto host = Kokkos::View<double **, Kokkos::LayoutRight, Kokkos::HostSpace>("path", 4, path.dim);
    for (int r = 0; r < path.dim; ++r)
    {
      host(0, r) = path.mean0[r];
      host(1, r) = path.mean1[r];
      host(2, r) = path.std0[r];
      host(3, r) = path.std1[r];
    }
    m_params = Kokkos::create_mirror_view_and_copy(memory_space(), host);
    space.fence();
  }
  int dim() const override { return m_path.dim; }
  const data::Normalisation &normalisation() const override { return m_norm; }
  const GaussianPath &path() const { return m_path; }

  void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
            const Kokkos::View<std::uint64_t *, memory_space> &ids, RandomKey key,
            const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass,
            const data::Columns & = data::Columns()) const override
  { // exact draws at any t: no slices, every column weighs 1
    const auto p = m_params;
    const int d = m_path.dim;
    Kokkos::parallel_for(
        "amk::GaussianSource::draw", policy(space, u.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
          const double tc = t(c);
          const RandomKey k = key(ids(c));
          for (int r = 0; r < d; r += 2) // both Box–Muller outputs: half the log/sqrt/cos
          {
            double z[2];
            k.normal_pair(std::uint64_t(r / 2) + 1, z[0], z[1]);
            for (int q = r; q < r + 2 && q < d; ++q)
              u(q, c) = Scalar((1 - tc) * p(0, q) + tc * p(1, q) + ((1 - tc) * p(2, q) + tc * p(3, q)) * z[q - r]);
          }
          mass(c) = 1;
        });
  }

private:
  GaussianPath m_path;
  data::Normalisation m_norm;
  Kokkos::View<double **, Kokkos::LayoutRight, memory_space> m_params;
};
} // namespace amk::examples
