#pragma once
// The MPI communicator of a training run, or a one-rank stand-in when amk is built
// without MPI. Data parallelism needs only: rank/size, a sum over ranks of the flat
// gradient and of a few loss parts, and a broadcast of a string (errors, configs).
#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <string>
#include <vector>

namespace amk::dist
{
class Comm
{
public:
  /// The world communicator (MPI must be initialised when built with MPI).
  static Comm world();
  /// This process alone (rank 0 of 1), e.g. to compare a P-rank result with one rank.
  static Comm self() { return Comm(); }
  int rank() const { return m_rank; }
  int size() const { return m_size; }
  bool root() const { return m_rank == 0; }
  /// The ranks on this node (sharing its memory and cores), this one included.
  int local_size() const;
  /// In-place sum over ranks of n doubles or floats (host or GPU-aware device memory).
  void sum(double *data, std::size_t n) const;
  void sum(float *data, std::size_t n) const;
  /// Whether the MPI library reduces GPU memory in place (Open MPI's run-time query of its
  /// CUDA or ROCm support; false without MPI or without the extension): else the caller
  /// stages through host memory.
  static bool device_aware();
  /// The lowest rank whose flag is set, or -1 (to agree on an error before anyone writes).
  int first(bool flag) const;
  /// Ends every rank (after an error on some ranks only, which would otherwise leave the
  /// others waiting in a collective forever).
  [[noreturn]] void abort(int code) const;

private:
  int m_rank = 0, m_size = 1;
};

/// Runs f() on every rank and agrees on failure: if f throws on any rank, every rank throws
/// CollectiveError, reported by the lowest failing rank with its own message. For set-up
/// steps and for work that only rank 0 does (writing files), before the next collective.
template <class F> void collectively(const Comm &comm, F &&f)
{
  std::string error;
  try
  {
    f();
  }
  catch (const std::exception &e)
  {
    error = e.what();
    error = error.substr(0, error.find('\n')); // Kokkos appends a traceback note on more lines
  }
  const int failed = comm.first(!error.empty());
  if (failed >= 0)
    throw CollectiveError(error.empty() ? "failed on MPI rank " + std::to_string(failed) : error, failed);
}

/// RAII MPI_Init/MPI_Finalize (no-op without MPI or when already initialised).
class Environment
{
public:
  Environment(int &argc, char **&argv);
  ~Environment();
  Environment(const Environment &) = delete;
  Environment &operator=(const Environment &) = delete;

private:
  bool m_owns = false;
};
} // namespace amk::dist
