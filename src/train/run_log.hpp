#pragma once
// What a training run tells its user (rank 0 only): the start line, a progress line every
// --log-every steps on stdout and in OUT/metrics.jsonl (one JSON object a line), and the
// closing line; stdout is flushed at each line, so that a pipe or a batch log shows progress
// as it happens.
#include <amk/am/loss.hpp>
#include <amk/train/run_spec.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace amk::train
{
class RunLog
{
public:
  RunLog(const RunSpec &spec, bool root, bool quiet);
  /// (rank 0, inside the agreed set-up) creates OUT and OUT/metrics.jsonl; a resumed run
  /// first drops the lines a dead run logged after its checkpoint's step (resumed_step ≥ 0),
  /// so that the file reads as one run.
  void open(std::int64_t resumed_step);
  /// The start line: the run's size, layout, loss, time in the loss, network, precision, engine.
  void start(const std::string &layout, const am::Objective &objective, double coupling_seconds,
             const std::string &engine, const std::string &engine_note,
             std::optional<double> bound = std::nullopt);
  /// "resuming at step …" (ranks: the rank count that wrote the checkpoint).
  void resuming(std::int64_t step, const std::string &checkpoint, std::int64_t ranks, int now_ranks);
  /// Starts the clocks (after the set-up and the engine's timing).
  void begin(std::int64_t first_step);
  /// After each step: seconds it spent communicating; a progress line when one is due.
  void step(std::int64_t step, const am::LossParts &parts, double grad_norm, double communication_s,
            std::int64_t skipped);
  /// Seconds spent writing checkpoints since the last line.
  void add_io(double seconds) { m_io_s += seconds; }
  void stopped(const char *by, std::int64_t step, const std::string &checkpoint);
  void done(const std::string &checkpoint, std::int64_t skipped);
  double wall_seconds() const;

private:
  using clock = std::chrono::steady_clock;
  const RunSpec &m_spec;
  bool m_root, m_quiet;
  std::ofstream m_metrics;
  clock::time_point m_start, m_last;
  std::int64_t m_last_step = 0;
  double m_comm_s = 0, m_io_s = 0; ///< since the last line
};

/// "1h02m", "3m05s", "12s"
std::string duration(double seconds);
} // namespace amk::train
