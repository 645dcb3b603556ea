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
  double measured_at = 0; ///< when it was measured (seconds since the epoch; 0: unknown)
  int rounds = 1;        ///< timing rounds this run took (more where the first was close)
  std::string retimed;   ///< why a cached entry was measured again ("" if it was not)
  /// The candidate's seconds (0 if it was not timed).
  double of(nn::EngineId id) const
  {
    for (const auto &[e, s] : seconds)
      if (e == id)
        return s;
    return 0;
  }
};

/// Two engines within this ratio are too close for one timing round to tell apart (a load
/// on the machine while one of them is timed can swap them): auto times them again, and a
/// cached entry that close is measured again by the next run.
inline constexpr double close_ratio = 1.15;
/// The timing rounds at most: a choice still close after them is as good as timing gets,
/// and is kept.
inline constexpr int max_rounds = 3;
/// A cached entry older than this is measured again (the machine, its load, its libraries
/// may have changed).
inline constexpr double stale_days = 30;

/// The ratio of the second fastest candidate's seconds to the fastest's (∞ with one).
double runner_up_ratio(const EngineTiming &timing);

/// Why a cached entry should be measured again ("" if it should not): its times are within
/// close_ratio in fewer than max_rounds rounds, it is older than stale_days, or it does not say
/// when it was measured.
std::string stale_reason(const EngineTiming &cached, double now);

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
