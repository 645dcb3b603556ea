#pragma once
// A small RAII layer over the HDF5 C API: whole-dataset reads and writes of flat, root-level
// datasets ("/x") and scalar attributes on the root group, and reads of row ranges (a
// rank's shard) through parallel HDF5's MPI-IO driver. Every failure is an amk::Error
// with one line naming the file, the dataset or attribute and the problem; HDF5's own error
// stack printing is switched off. H5Writer writes to "<path>.tmp" and renames on commit(),
// so an exception or a crash never leaves a half-written file at the final path.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace amk::io
{
/// Read-only view of an HDF5 file.
class H5Reader
{
public:
  /// Opens path read-only; amk::Error if it does not exist or is not an HDF5 file.
  /// \param collective [in] open it with every rank of MPI_COMM_WORLD through MPI-IO (parallel
  ///                        HDF5; the open and the close are then collective, the reads each rank's own)
  explicit H5Reader(const std::string &path, bool collective = false);
  ~H5Reader();
  H5Reader(const H5Reader &) = delete;
  H5Reader &operator=(const H5Reader &) = delete;
  H5Reader(H5Reader &&other) noexcept;
  H5Reader &operator=(H5Reader &&other) noexcept;

  /// The path given to the constructor.
  const std::string &path() const { return m_path; }
  /// True when name (e.g. "/x") is a dataset in the file.
  bool has(const std::string &name) const;
  /// Extent of each dimension of dataset name (empty for a scalar dataset).
  std::vector<std::int64_t> shape(const std::string &name) const;
  /// True when dataset name holds floating-point values.
  bool is_float(const std::string &name) const;
  /// True when dataset name holds integers (signed or unsigned).
  bool is_integer(const std::string &name) const;
  /// Whole dataset as double, row-major; any float or integer type is converted.
  std::vector<double> read_f64(const std::string &name) const;
  /// True when dataset name holds 4-byte floats (float32).
  bool is_float32(const std::string &name) const;
  /// Rows of dataset name (ranges [begin, end) of its first index, sorted and disjoint; every
  /// other index whole), row-major, converted to double or float: one read of the union of
  /// the ranges.
  std::vector<double> read_rows_f64(const std::string &name,
                                    const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges) const;
  std::vector<float> read_rows_f32(const std::string &name,
                                   const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges) const;
  /// Whole dataset as int64, row-major; amk::Error unless it is an integer dataset.
  std::vector<std::int64_t> read_i64(const std::string &name) const;
  /// True when object (the root group by default; a group or dataset path) has an attribute called name.
  bool has_attr(const std::string &name, const std::string &object = "/") const;
  /// String attribute of object (the root group by default; variable or fixed length); amk::Error if missing.
  std::string read_string_attr(const std::string &name, const std::string &object = "/") const;
  /// True when name is a group in the file.
  bool is_group(const std::string &name) const;
  /// The names in a group (in name order).
  std::vector<std::string> members(const std::string &group) const;
  /// A dataset of strings (variable or fixed length), all of it, flattened.
  std::vector<std::string> read_strings(const std::string &name) const;
  /// Numeric (float or integer) single-value attribute on the root group, as double.
  double read_f64_attr(const std::string &name) const;

private:
  template <class T>
  std::vector<T> read_rows(const std::string &name, const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges,
                           std::int64_t mem_type) const;
  std::string m_path;
  std::int64_t m_file = -1; ///< hid_t of the open file
};

/// True once HDF5 failed to close a file it was writing (a full disk, a file-size limit):
/// HDF5 1.10 keeps that file half-closed, and its clean-up at exit (MPI_Finalize, H5close)
/// then crashes, so the program reports its error and ends with std::_Exit.
bool hdf5_unusable();

/// "[3, 4]": a dataset's shape in messages.
std::string shape_string(const std::vector<std::int64_t> &shape);

/// Writes a new HDF5 file atomically: to final_path + ".tmp", renamed onto final_path by
/// commit(). Without commit() the temporary file is removed when the writer is destroyed.
class H5Writer
{
public:
  /// Creates (truncating) final_path + ".tmp"; amk::Error if that is not possible.
  explicit H5Writer(const std::string &final_path);
  /// Closes and removes the temporary file unless commit() succeeded.
  ~H5Writer();
  H5Writer(const H5Writer &) = delete;
  H5Writer &operator=(const H5Writer &) = delete;

  /// Dataset name (e.g. "/x") of float64 values with the given shape, data row-major.
  void write_f64(const std::string &name, const double *data, const std::vector<std::int64_t> &shape);
  /// As write_f64, but stored as float32 (values rounded to nearest).
  void write_f32(const std::string &name, const double *data, const std::vector<std::int64_t> &shape);
  /// Dataset name of int64 values with the given shape, data row-major.
  void write_i64(const std::string &name, const std::int64_t *data, const std::vector<std::int64_t> &shape);
  /// Variable-length UTF-8 string attribute on the root group (h5py reads it as str).
  void write_string_attr(const std::string &name, const std::string &value);
  /// Scalar float64 attribute on the root group.
  void write_f64_attr(const std::string &name, double value);
  /// Scalar int64 attribute on the root group.
  void write_i64_attr(const std::string &name, std::int64_t value);
  /// Closes the file and renames it onto the final path (replacing any file there).
  void commit();

  /// The final path given to the constructor.
  const std::string &path() const { return m_path; }

private:
  void write_dataset(const std::string &name, std::int64_t file_type, std::int64_t mem_type, const void *data,
                     const std::vector<std::int64_t> &shape);
  void write_attr(const std::string &name, std::int64_t type, const void *data);
  void require_open(const std::string &what) const;

  std::string m_path, m_tmp;
  std::int64_t m_file = -1; ///< hid_t of the open temporary file
  bool m_committed = false;
};
} // namespace amk::io
