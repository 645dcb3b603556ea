#pragma once
// Snapshot data in the forms biologists have, read into amk's layout (data/snapshot_data.hpp):
//   .csv   a header line, then one sample a row: a time column (--time-column: its name;
//          default the first column) and the coordinates (every other column, or the first
//          --dims of them); the rows of one time form one snapshot, in the file's order.
//   .h5ad  an AnnData file, read through HDF5: the coordinates an embedding of /obsm
//          (--embedding KEY; default X_pca where there is one, else X when it is dense),
//          the time an /obs column (--time-column, required), numeric, strings or categorical
//          (AnnData ≥ 0.8's encodings; a category names its time by the one number in it:
//          "day 3", "E14.5", "72h"); cells of one time form one snapshot, in the file's order.
//   other  amk's HDF5 snapshot file (io/snapshot_file.hpp), which the import options do not apply to.
// Imported snapshots carry /snapshot_mass = their cell counts relative to the first (the
// populations' growth, as DeepRUOT and Var-RUOT assume for unbalanced AM); plain and entropic AM
// normalise every snapshot, so the counts do not change them.
#include <amk/data/snapshot_data.hpp>
#include <string>

namespace amk::io
{
/// How a file's snapshots are read.
enum class DataFormat
{
  amk, ///< amk's HDF5 snapshot file
  csv, ///< a CSV table with a time column
  h5ad ///< an AnnData file (an embedding and an obs time column)
};

/// The format of path, from its extension (.csv, .h5ad, case-insensitive; anything else: amk's HDF5).
DataFormat format_of(const std::string &path);
/// "CSV", "amk HDF5": the format in messages.
const char *format_name(DataFormat format);

/// What to take from a table: the time column and how many coordinates.
struct ImportOptions
{
  std::string time_column; ///< empty: the first column (CSV; AnnData needs one)
  std::string embedding;   ///< AnnData: the /obsm key (empty: X_pca, else a dense X); "X" for X itself
  int dims = 0;            ///< keep the first dims coordinates (0: all)
  /// Whether any option differs from its default (they apply to tables only).
  bool given() const { return !time_column.empty() || !embedding.empty() || dims != 0; }
};

/// Reads the snapshots of a file of any format, validated (io::validate); amk::Error with one
/// line naming the file and the problem (a missing column, a non-numeric or non-finite value,
/// a row of the wrong length, fewer than two times, import options given for an amk file).
data::SnapshotData read_data(const std::string &path, const ImportOptions &options = {});

/// Reads a CSV table (see the file comment).
data::SnapshotData read_csv(const std::string &path, const ImportOptions &options);
/// Reads an AnnData .h5ad file (see the file comment).
data::SnapshotData read_h5ad(const std::string &path, const ImportOptions &options);
} // namespace amk::io
