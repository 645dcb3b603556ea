#pragma once
// The column counts both derivative engines work on: n_t interior samples (which carry a
// tangent) among n_p samples in all, within the capacity their buffers were allocated for
// (no allocation inside a step).
#include <amk/core/error.hpp>

namespace amk::nn
{
class BatchColumns
{
public:
  /// \param max_tangent [in] most interior samples per call (T)
  /// \param max_primal  [in] most samples per call, interior included (P ≥ T)
  BatchColumns(int max_tangent, int max_primal) : m_max_tangent(max_tangent), m_max_primal(max_primal)
  {
    require(max_tangent >= 0 && max_primal >= max_tangent && max_primal >= 1,
            "engine: capacity needs max_primal >= max_tangent >= 0");
  }

  /// Sets the column counts of the next calls: n_t interior among n_p samples.
  void set_batch(int n_tangent, int n_primal)
  {
    require(n_tangent >= 0 && n_tangent <= m_max_tangent && n_primal >= n_tangent && n_primal >= 1 &&
                n_primal <= m_max_primal,
            "engine: batch exceeds the engine's capacity");
    m_nt = n_tangent;
    m_np = n_primal;
  }
  int n_tangent() const { return m_nt; }
  int n_primal() const { return m_np; }
  int max_tangent() const { return m_max_tangent; }
  int max_primal() const { return m_max_primal; }

protected:
  int m_max_tangent, m_max_primal;
  int m_nt = 0, m_np = 0;
};
} // namespace amk::nn
