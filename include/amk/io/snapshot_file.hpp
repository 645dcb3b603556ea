#pragma once
// The snapshot data format (HDF5, readable with h5py without amk):
//   /times    float64[K]        strictly increasing, finite, K >= 2
//   /x        float32|float64 [N, d]  all samples, grouped by snapshot, d >= 1, finite
//   /offsets  int64[K+1]        offsets[0] = 0, strictly increasing, offsets[K] = N;
//                               snapshot k is rows offsets[k] .. offsets[k+1]-1 of /x
//   /mass     float64[N]        optional, finite, non-negative sample weights
//   root string attributes      optional provenance (e.g. amk_source)
#include <amk/data/shard.hpp>
#include <amk/data/snapshot_data.hpp>
#include <string>
#include <utility>
#include <vector>

namespace amk::io
{
using data::SnapshotData;

/// Reads and validates a snapshot file; amk::Error with a one-line message naming the file,
/// the dataset and the problem on anything malformed.
SnapshotData read_snapshots(const std::string &path);

/// Which shard to read: this rank of `ranks`, the grid's time ranks (0: chosen, see
/// data::RankGrid::choose), windows of interval pairs (Simpson's rule).
struct ShardRequest
{
  int rank = 0, ranks = 1, ranks_time = 0;
  bool pairs = false;
  bool collective = false; ///< every rank of MPI_COMM_WORLD reads together through MPI-IO
};

/// Reads rank's shard of a snapshot file (data/shard.hpp): the layout, then only the rows
/// the rank holds (one read of hyperslabs each of /x and /mass; MPI-IO when `collective`),
/// /x in the file's precision; validates what it read. Layout errors are the same on every
/// rank; a bad value is reported by the rank that holds it (row numbers are the file's).
data::Shard read_shard(const std::string &path, const ShardRequest &request);

/// The checks a rank can make alone (the file exists and is HDF5): run and agree on them
/// before a collective read_shard, in which a rank that fails alone would leave the others waiting.
void check_readable(const std::string &path);

/// Validates data, then writes it atomically (temporary file, renamed) to path; /x is stored
/// as float32 when x_as_float32, and string_attrs become root string attributes.
void write_snapshots(const std::string &path, const SnapshotData &data, bool x_as_float32 = false,
                     const std::vector<std::pair<std::string, std::string>> &string_attrs = {});

/// The checks read_snapshots applies, for data in memory; where names the source in messages.
void validate(const SnapshotData &data, const std::string &where);
} // namespace amk::io
