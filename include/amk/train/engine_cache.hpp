#pragma once
// --engine auto's measured choices, kept per machine and run shape so that a run of the
// same shape on the same machine starts without timing again:
//   $XDG_CACHE_HOME/amk/engines.json (else ~/.cache/amk/engines.json)
// one JSON object per key; written whole to a temporary file and renamed (concurrent runs
// sharing a home directory lose at most an entry, never the file).
#include <amk/nn/engine_registry.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace amk::train
{
struct RunSpec;

/// One measurement: seconds of one gradient call (forward, double backprop and the loss on
/// this rank's batch, summed over ranks) of every candidate engine, and the fastest.
struct EngineTiming
{
  nn::EngineId engine;                                   ///< the fastest
  std::vector<std::pair<nn::EngineId, double>> seconds; ///< every candidate's, in registry order
  bool cached = false; ///< read from the cache rather than measured by this run
  /// The candidate's seconds (0 if it was not timed).
  double of(nn::EngineId id) const
  {
    for (const auto &[e, s] : seconds)
      if (e == id)
        return s;
    return 0;
  }
};

/// The cache file, or "" when neither XDG_CACHE_HOME nor HOME is set (nothing is kept).
std::string engine_cache_path();

/// What the choice depends on: this machine (host, CPU model, back end and its threads,
/// BLAS threads, MPI ranks, amk version) and the run's shape (network, dtype, loss, and the
/// engine's columns and curvature directions per call on this rank).
std::string engine_cache_key(const RunSpec &spec, const nn::Capacity &capacity, const std::string &backend,
                             int concurrency, int ranks);

/// The cached timing for `key`; none if the file is absent, unreadable or malformed, or
/// has no valid entry for it.
std::optional<EngineTiming> cached_engine(const std::string &path, const std::string &key);

/// Adds or replaces `key`'s entry; returns "" or why the file could not be written (a
/// malformed file is replaced).
std::string cache_engine(const std::string &path, const std::string &key, const EngineTiming &timing);
/// For the start line: "auto: timed gemm 2.9 ms, fused 2.1 ms a step, kept in <path>".
std::string describe(const EngineTiming &timing, const std::string &path, const std::string &cache_error);
} // namespace amk::train
