#pragma once
// Checkpoints (HDF5, readable with h5py): raw and EMA weights, Adam moments, the step,
// the normalisation and the full configuration as JSON. Written to a temporary name and
// renamed, so a crash never leaves a broken latest checkpoint.
//   /params /ema /adam_m /adam_v  float64[P]      /shift float64[d]
//   attributes: format, amk_version, config (JSON), objective (JSON), step, t0, span, scale,
//               checksum (CRC-32 of all the content, checked on read: a corrupt file is an error),
//               ranks (the MPI rank count that wrote it), shards (JSON: the rank grid and
//               each rank's snapshots, rows and bytes held; absent for a built-in path),
//               engine (the derivative engine the run trained with: inference uses it too)
#include <amk/data/normalisation.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace amk::io
{
struct Checkpoint
{
  nlohmann::json config;    ///< train::to_json(RunSpec)
  nlohmann::json objective; ///< am::to_json(Objective): the learned dynamics (null: plain AM)
  std::int64_t step = 0;
  std::int64_t ranks = 1; ///< the rank count of the run that wrote it (a resume may use another)
  nlohmann::json shards;  ///< the rank layout and shard map (null: not sharded)
  std::string engine;     ///< the engine's registry name ("": not recorded, amk before 2026-12)
  std::vector<double> params, ema, adam_m, adam_v;
  data::Normalisation normalisation;
};

void write_checkpoint(const std::string &path, const Checkpoint &checkpoint);
/// Reads and checks a checkpoint (one-line amk::Error on anything missing or inconsistent).
Checkpoint read_checkpoint(const std::string &path);
} // namespace amk::io
