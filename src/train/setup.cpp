#include "setup.hpp"
#include <algorithm>
#include <cmath>
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>

namespace amk::train
{
SnapshotShard read_shard(const RunSpec &spec, const dist::Comm &comm)
{
  SnapshotShard s;
  const bool pairs = spec.time_mode() == am::TimeMode::quadrature && spec.rule == am::QuadratureRule::simpson;
  if (io::format_of(spec.data) != io::DataFormat::amk)
  { // a table: every rank reads it whole (tables are small; `amk convert` writes the HDF5 shards read best)
    io::ImportOptions import;
    import.time_column = spec.time_column;
    import.embedding = spec.embedding;
    import.dims = spec.dims;
    dist::collectively(comm,
                       [&]
                       {
                         const data::SnapshotData all = io::read_data(spec.data, import);
                         const auto grid = data::RankGrid::choose(comm.size(), all.snapshots(), spec.ranks_time, pairs);
                         s.shard = data::shard_of(all, grid, comm.rank());
                       });
  }
  else
  {
    // what a rank can find alone, agreed before the collective open in which it would hang the others
    dist::collectively(comm, [&] { io::check_readable(spec.data); });
    io::ShardRequest request;
    request.rank = comm.rank();
    request.ranks = comm.size();
    request.ranks_time = spec.ranks_time;
    request.pairs = pairs;
    request.collective = comm.size() > 1;
    dist::collectively(comm, [&] { s.shard = io::read_shard(spec.data, request); });
  }
  auto sums = data::partial_sums(s.shard);
  comm.sum(sums.data(), sums.size());
  dist::collectively(comm, [&] { s.stats = data::statistics(s.shard, sums); });
  return s;
}

nlohmann::json shard_map(const data::Shard &shard, std::size_t bytes, const dist::Comm &comm)
{
  const int P = comm.size(), fields = 4;
  std::vector<double> all(std::size_t(P * fields), 0.0);
  double *mine = &all[std::size_t(comm.rank() * fields)];
  mine[0] = double(shard.window.front().snapshot);
  mine[1] = double(shard.window.back().snapshot);
  mine[2] = double(shard.held_rows());
  mine[3] = double(bytes);
  comm.sum(all.data(), all.size());
  nlohmann::json ranks = nlohmann::json::array();
  for (int r = 0; r < P; ++r)
  {
    const double *f = &all[std::size_t(r * fields)];
    ranks.push_back({{"rank", r},
                     {"snapshots", {std::int64_t(f[0]), std::int64_t(f[1])}},
                     {"sample_slice", {r % shard.grid.sample, shard.grid.sample}},
                     {"rows", std::int64_t(f[2])},
                     {"bytes", std::int64_t(f[3])}});
  }
  return {{"ranks_time", shard.grid.time},
          {"ranks_sample", shard.grid.sample},
          {"samples", shard.offsets.back()},
          {"file_bytes", shard.offsets.back() * shard.dim * (shard.float32_file ? 4 : 8)},
          {"shards", ranks}};
}

std::string layout_text(const nlohmann::json &shards, const dist::Comm &comm)
{
  std::string layout = fmt::format("{} rank{}", comm.size(), comm.size() == 1 ? "" : "s");
  if (shards.is_null())
    return layout;
  std::int64_t most = 0;
  for (const auto &r : shards["shards"])
    most = std::max(most, r["bytes"].get<std::int64_t>());
  const int time = shards["ranks_time"].get<int>(), sample = shards["ranks_sample"].get<int>();
  if (comm.size() > 1)
    layout += fmt::format(" as {} time window{} x {} sample slice{}", time, time == 1 ? "" : "s", sample,
                          sample == 1 ? "" : "s");
  return layout + fmt::format(", data {:.3g} MiB per rank at most, {:.3g} MiB file", double(most) / double(1 << 20),
                              shards["file_bytes"].get<double>() / double(1 << 20));
}
std::optional<double> initial_growth_action(const RunSpec &spec, const am::Objective &objective,
                                            const SnapshotShard *shard, const data::Normalisation &norm)
{
  if (objective.kind != am::LossKind::unbalanced || !shard || spec.network.head != nn::Head::scalar ||
      objective.growth <= 0)
    return std::nullopt;
  const auto &M = shard->stats.total_mass;
  const auto &T = shard->shard.times;
  if (M.size() < 2 || !(M.front() > 0 && M.back() > 0))
    return std::nullopt;
  const double rate = std::log(M.back() / M.front()) / (norm.normalised_time(T.back()) - norm.normalised_time(T.front()));
  // A level of O(1) the network reaches in its first steps, and shifting it there measured
  // worse (the simulated circuit at L = 1: W1 at t4 0.39 against 0.10); a level of hundreds
  // (the Guo embryo at the default L: 347) it does not reach before the positions run away.
  const double level = rate / objective.growth;
  return std::abs(level) > 10 ? std::optional<double>(level) : std::nullopt;
}
} // namespace amk::train
