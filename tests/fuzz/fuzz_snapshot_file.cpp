// libFuzzer harness: snapshot files (amk train --data, eval, sample's data), read whole
// (read_snapshots) and as the shards of 1–4 ranks (read_shard), from byte-mutated HDF5 files
// and from files built with fuzzed shapes, types, offsets and values.
#include "fuzz_common.hpp"
#include <amk/io/hdf5.hpp>
#include <amk/io/snapshot_file.hpp>
#include <vector>

namespace
{
using amk::fuzz::pick_double;

/// A snapshot file from the fuzzer's choices: mostly well-formed, with one or more defects.
void build(FuzzedDataProvider &p, const std::string &path)
{
  const int K = p.ConsumeIntegralInRange<int>(0, 5), d = p.ConsumeIntegralInRange<int>(0, 3);
  std::vector<double> times(static_cast<std::size_t>(K));
  for (int k = 0; k < K; ++k)
    times[std::size_t(k)] = p.ConsumeBool() ? pick_double(p) : 10.0 + 2.5 * k;
  std::vector<std::int64_t> offsets{0};
  for (int k = 0; k < K; ++k)
    offsets.push_back(offsets.back() + p.ConsumeIntegralInRange<int>(0, 4));
  if (p.ConsumeBool() && !offsets.empty()) // a broken offsets entry
    offsets[p.ConsumeIntegralInRange<std::size_t>(0, offsets.size() - 1)] = p.ConsumeIntegralInRange<std::int64_t>(-2, 30);
  const std::int64_t N = std::max<std::int64_t>(0, p.ConsumeBool() ? offsets.back() : p.ConsumeIntegralInRange<std::int64_t>(0, 20));
  std::vector<std::int64_t> x_shape{N, d};
  switch (p.ConsumeIntegralInRange<int>(0, 6))
  {
  case 0:
    x_shape = {N * d};
    break;
  case 1:
    x_shape = {N, d, 1};
    break;
  case 2:
    x_shape = {};
    break;
  default:
    break;
  }
  std::int64_t count = 1;
  for (auto e : x_shape)
    count *= e;
  std::vector<double> x(static_cast<std::size_t>(count));
  for (auto &v : x)
    v = p.ConsumeIntegralInRange<int>(0, 15) == 0 ? pick_double(p) : 100.0 + p.ConsumeFloatingPointInRange<double>(-5, 5);

  amk::io::H5Writer w(path);
  if (p.ConsumeIntegralInRange<int>(0, 9) != 0)
  {
    if (p.ConsumeBool())
      w.write_f64("/times", times.data(), {K});
    else
      w.write_i64("/times", offsets.data(), {std::int64_t(std::min<std::size_t>(offsets.size(), std::size_t(K)))});
  }
  if (p.ConsumeIntegralInRange<int>(0, 9) != 0)
  {
    const int type = p.ConsumeIntegralInRange<int>(0, 2);
    if (type == 0)
      w.write_f64("/x", x.data(), x_shape);
    else if (type == 1)
      w.write_f32("/x", x.data(), x_shape);
    else
    {
      std::vector<std::int64_t> xi(x.size());
      for (std::size_t i = 0; i < x.size(); ++i)
        xi[i] = std::int64_t(i);
      w.write_i64("/x", xi.data(), x_shape);
    }
  }
  if (p.ConsumeIntegralInRange<int>(0, 9) != 0)
  {
    if (p.ConsumeIntegralInRange<int>(0, 5) != 0)
      w.write_i64("/offsets", offsets.data(), {std::int64_t(offsets.size())});
    else
    {
      std::vector<double> f(offsets.begin(), offsets.end());
      for (auto &v : f)
        v += p.ConsumeBool() ? 0.5 : 0.0;
      w.write_f64("/offsets", f.data(), {std::int64_t(f.size())});
    }
  }
  if (p.ConsumeIntegralInRange<int>(0, 3) == 0)
  {
    const std::int64_t m = p.ConsumeBool() ? N : p.ConsumeIntegralInRange<std::int64_t>(0, 20);
    std::vector<double> mass(static_cast<std::size_t>(m));
    for (auto &v : mass)
      v = p.ConsumeBool() ? 1.0 : pick_double(p);
    w.write_f64("/mass", mass.data(), {m});
  }
  if (p.ConsumeIntegralInRange<int>(0, 5) == 0)
  {
    std::vector<double> snapshot_mass(static_cast<std::size_t>(p.ConsumeIntegralInRange<int>(0, 6)));
    for (auto &v : snapshot_mass)
      v = pick_double(p);
    w.write_f64("/snapshot_mass", snapshot_mass.data(), {std::int64_t(snapshot_mass.size())});
  }
  if (p.ConsumeBool())
    w.write_string_attr("amk_source", p.ConsumeRandomLengthString(64));
  w.commit();
}
} // namespace

namespace
{
int one_input(const std::uint8_t *data, std::size_t size)
{
  const std::string &path = amk::fuzz::scratch("snapshots.h5");
  FuzzedDataProvider p(data, size);
  int ranks = 1, ranks_time = 0;
  bool pairs = false;
  if (amk::fuzz::is_hdf5_file(data, size))
    amk::fuzz::write_file(path, data, size);
  else
  {
    ranks = p.ConsumeIntegralInRange<int>(1, 4);
    ranks_time = p.ConsumeIntegralInRange<int>(0, ranks);
    pairs = p.ConsumeBool();
    amk::fuzz::only_amk_errors([&] { build(p, path); });
  }
  if (amk::fuzz::declares_huge_datasets(path))
  {
    std::remove(path.c_str());
    return 0;
  }
  amk::fuzz::only_amk_errors([&] { amk::io::read_snapshots(path); });
  for (int rank = 0; rank < ranks; ++rank)
    amk::fuzz::only_amk_errors([&] {
      amk::io::ShardRequest request;
      request.rank = rank;
      request.ranks = ranks;
      request.ranks_time = ranks_time;
      request.pairs = pairs;
      amk::io::read_shard(path, request);
    });
  std::remove(path.c_str());
  return 0;
}
} // namespace

AMK_FUZZ_ENTRY(one_input)
