#include <amk/core/error.hpp>
#include <amk/core/memory.hpp>
#include <amk/io/hdf5.hpp>

#include <amk/config.hpp>
#include <hdf5.h>
#if AMK_ENABLE_MPI && defined(H5_HAVE_PARALLEL)
#include <mpi.h>
#define AMK_PARALLEL_HDF5 1
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>
#include <utility>
#include <fcntl.h>
#include <unistd.h>

namespace amk::io
{
// The header stores hid_t as std::int64_t so that it need not include hdf5.h.
static_assert(std::is_same_v<hid_t, std::int64_t>, "amk::io expects hid_t to be int64_t (HDF5 >= 1.10)");

namespace
{
/// Switches off HDF5's automatic error-stack printing once, before the first HDF5 call, so
/// that users see only our one-line amk::Error.
void quiet_hdf5()
{
  static const bool done = []
  {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

/// Owns one HDF5 identifier and releases it with the matching close function.
class Handle
{
public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  ~Handle()
  {
    if (m_id >= 0)
      m_close(m_id);
  }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  Handle(Handle &&other) noexcept : m_id(other.m_id), m_close(other.m_close) { other.m_id = -1; }
  Handle &operator=(Handle &&) = delete;
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }

private:
  hid_t m_id;
  herr_t (*m_close)(hid_t);
};

/// File-access properties shared by reader and writer.
Handle file_access()
{
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Strong close: H5Fclose really closes the file, so commit() can rename it at once.
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  // Lock where the file system supports it, but do not fail where it does not (NFS, Lustre).
  H5Pset_file_locking(fapl.get(), true, true);
#endif
  return fapl;
}

std::int64_t element_count(const std::vector<std::int64_t> &shape)
{
  std::int64_t n = 1;
  for (std::int64_t s : shape)
    n *= s;
  return n;
}

/// Opens dataset name of file, or throws "<path>: missing dataset <name>".
Handle open_dataset(hid_t file, const std::string &path, const std::string &name)
{
  // H5Lexists fails (negative) when an intermediate group is missing; treat that as absent.
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0)
    throw Error(path + ": missing dataset " + name);
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    throw Error(path + ": " + name + " is not a dataset");
  return ds;
}

H5T_class_t dataset_class(hid_t file, const std::string &path, const std::string &name)
{
  Handle ds = open_dataset(file, path, name);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (!type.valid())
    throw Error(path + ": cannot read the type of " + name);
  return H5Tget_class(type.get());
}

std::vector<std::int64_t> dataspace_shape(hid_t space)
{
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0)
    return {};
  std::vector<hsize_t> dims(std::size_t(rank) + 1);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank));
  for (int i = 0; i < rank; ++i)
    shape[std::size_t(i)] = std::int64_t(dims[std::size_t(i)]);
  return shape;
}

/// Room for n values of dataset name, refusing a shape the file cannot hold: a contiguous or
/// compact dataset (no filters) stores every value, so its storage bounds its size (a
/// corrupt dimension would otherwise ask for terabytes); and an allocation failure is an
/// amk::OutOfMemory with the size, not std::bad_alloc.
template <class T>
std::vector<T> room_for(hid_t ds, const std::string &path, const std::string &name, std::int64_t n)
{
  Handle dcpl(H5Dget_create_plist(ds), H5Pclose);
  Handle type(H5Dget_type(ds), H5Tclose);
  if (dcpl.valid() && type.valid() && H5Pget_layout(dcpl.get()) != H5D_CHUNKED && H5Pget_nfilters(dcpl.get()) == 0)
  {
    const double need = double(n) * double(H5Tget_size(type.get())), have = double(H5Dget_storage_size(ds));
    if (need > have)
      throw Error(path + ": " + name + " claims " + std::to_string(n) + " values but the file stores " +
                  std::to_string(std::int64_t(have)) + " bytes of them (corrupt or truncated)");
  }
  // a file may describe more than it stores (unallocated chunks read as fill values): refuse
  // what this process cannot hold before trying, with both sizes
  const double bytes = double(n) * double(sizeof(T)), available = host_bytes_available();
  if (available > 0 && bytes > available)
    throw OutOfMemory(path + ": " + name + " holds " + std::to_string(n) + " values (" + format_bytes(bytes) +
                      "), more than the memory available (" + memory_available() + ")");
  try
  {
    return std::vector<T>(static_cast<std::size_t>(n));
  }
  catch (const std::bad_alloc &)
  {
    throw OutOfMemory(path + ": cannot allocate " + std::to_string(double(n) * sizeof(T) / (1 << 20)) + " MiB for " +
                name + " (" + std::to_string(n) + " values; more than this process can hold)");
  }
  catch (const std::length_error &)
  {
    throw Error(path + ": " + name + " claims " + std::to_string(n) + " values, more than any process can hold");
  }
}

/// Reads the whole of dataset name converted to mem_type into out (sized to fit).
template <class T>
std::vector<T> read_dataset(hid_t file, const std::string &path, const std::string &name, hid_t mem_type)
{
  Handle ds = open_dataset(file, path, name);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  if (!space.valid())
    throw Error(path + ": cannot read the shape of " + name);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0)
    throw Error(path + ": cannot read the shape of " + name);
  auto out = room_for<T>(ds.get(), path, name, n);
  // A zero-sized dataset has nothing to read (and out.data() may be null).
  if (n > 0 && H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw Error(path + ": cannot read " + name + " (corrupt file or unconvertible values)");
  return out;
}

Handle open_root(hid_t file, const std::string &path)
{
  Handle root(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose);
  if (!root.valid())
    throw Error(path + ": cannot open the root group");
  return root;
}

/// The object (group or dataset) at name: "/" is the root group.
Handle open_object(hid_t file, const std::string &path, const std::string &object)
{
  if (object == "/")
    return open_root(file, path);
  if (H5Lexists(file, object.c_str(), H5P_DEFAULT) <= 0)
    throw Error(path + ": missing " + object);
  Handle obj(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid())
    throw Error(path + ": cannot open " + object);
  return obj;
}

/// Opens attribute name of object, checks it holds exactly one value, and returns it with its type.
std::pair<Handle, Handle> open_scalar_attr(hid_t file, const std::string &path, const std::string &name,
                                           const std::string &object = "/")
{
  Handle root = open_object(file, path, object);
  if (H5Aexists(root.get(), name.c_str()) <= 0)
    throw Error(path + ": missing attribute " + name + (object == "/" ? "" : " of " + object));
  Handle attr(H5Aopen(root.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.valid())
    throw Error(path + ": cannot open attribute " + name);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n != 1)
    throw Error(path + ": attribute " + name + " holds " + std::to_string(n) + " values; expected one");
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (!type.valid())
    throw Error(path + ": cannot read the type of attribute " + name);
  return {std::move(attr), std::move(type)};
}
} // namespace

// ---------------------------------------------------------------------------------------
// H5Reader

H5Reader::H5Reader(const std::string &path, bool collective) : m_path(path)
{
  quiet_hdf5();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": is a directory, not an HDF5 file");
  if (!std::ifstream(path, std::ios::binary))
    throw Error(path + ": cannot be opened for reading (permission denied?)");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error(path + ": not an HDF5 file");
  Handle fapl = file_access();
#if AMK_PARALLEL_HDF5
  int mpi = 0, ranks = 1;
  MPI_Initialized(&mpi);
  if (mpi)
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const bool parallel = collective && ranks > 1;
  if (parallel && H5Pset_fapl_mpio(fapl.get(), MPI_COMM_WORLD, MPI_INFO_NULL) < 0)
    throw Error(path + ": cannot set up parallel HDF5 (MPI-IO) to read it");
#else
  (void)collective; // one process reads its rows by itself
  const bool parallel = false;
#endif
  // Read as a SWMR reader where the driver allows it (not MPI-IO): that turns off HDF5's
  // metadata accumulator, which in 1.10 keeps a null buffer after a failed allocation and
  // then crashes (memcpy from it) on files whose addresses are corrupt, as the fuzzer found.
  // One read attempt: a checksum that fails is corruption here, not a writer mid-flush.
  unsigned flags = H5F_ACC_RDONLY;
  if (!parallel)
  {
    flags |= H5F_ACC_SWMR_READ;
    H5Pset_metadata_read_attempts(fapl.get(), 1);
  }
  m_file = H5Fopen(path.c_str(), flags, fapl.get());
  if (m_file < 0)
    throw Error(path + ": cannot open as HDF5 (corrupt, truncated or locked by a writer)");
}

H5Reader::~H5Reader()
{
  if (m_file >= 0)
    H5Fclose(m_file);
}

H5Reader::H5Reader(H5Reader &&other) noexcept
    : m_path(std::move(other.m_path)), m_file(other.m_file)
{
  other.m_file = -1;
}

H5Reader &H5Reader::operator=(H5Reader &&other) noexcept
{
  if (this != &other)
  {
    if (m_file >= 0)
      H5Fclose(m_file);
    m_path = std::move(other.m_path);
    m_file = other.m_file;
    other.m_file = -1;
  }
  return *this;
}

bool H5Reader::has(const std::string &name) const
{
  if (H5Lexists(m_file, name.c_str(), H5P_DEFAULT) <= 0)
    return false;
  Handle obj(H5Oopen(m_file, name.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.valid() && H5Iget_type(obj.get()) == H5I_DATASET;
}

std::vector<std::int64_t> H5Reader::shape(const std::string &name) const
{
  Handle ds = open_dataset(m_file, m_path, name);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  if (!space.valid())
    throw Error(m_path + ": cannot read the shape of " + name);
  return dataspace_shape(space.get());
}

bool H5Reader::is_float(const std::string &name) const { return dataset_class(m_file, m_path, name) == H5T_FLOAT; }

bool H5Reader::is_integer(const std::string &name) const { return dataset_class(m_file, m_path, name) == H5T_INTEGER; }

std::vector<double> H5Reader::read_f64(const std::string &name) const
{
  const H5T_class_t c = dataset_class(m_file, m_path, name);
  if (c != H5T_FLOAT && c != H5T_INTEGER)
    throw Error(m_path + ": " + name + " is not numeric (expected floating-point or integer values)");
  return read_dataset<double>(m_file, m_path, name, H5T_NATIVE_DOUBLE);
}

bool H5Reader::is_float32(const std::string &name) const
{
  Handle ds = open_dataset(m_file, m_path, name);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  return type.valid() && H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 4;
}

template <class T>
std::vector<T> H5Reader::read_rows(const std::string &name,
                                   const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges,
                                   std::int64_t mem_type) const
{
  const H5T_class_t c = dataset_class(m_file, m_path, name);
  if (c != H5T_FLOAT && c != H5T_INTEGER)
    throw Error(m_path + ": " + name + " is not numeric (expected floating-point or integer values)");
  Handle ds = open_dataset(m_file, m_path, name);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const auto shape = space.valid() ? dataspace_shape(space.get()) : std::vector<std::int64_t>();
  if (shape.empty())
    throw Error(m_path + ": cannot read the shape of " + name);
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  std::int64_t rows = 0, row_size = 1;
  for (std::size_t i = 1; i < shape.size(); ++i)
    row_size *= shape[i];
  H5Sselect_none(space.get());
  for (const auto &[begin, end] : ranges)
  {
    if (begin < 0 || end > shape[0] || begin >= end)
      throw Error(m_path + ": rows " + std::to_string(begin) + ".." + std::to_string(end - 1) + " of " + name +
                  " are outside its " + std::to_string(shape[0]) + " rows");
    start[0] = hsize_t(begin);
    count[0] = hsize_t(end - begin);
    H5Sselect_hyperslab(space.get(), H5S_SELECT_OR, start.data(), nullptr, count.data(), nullptr);
    rows += end - begin;
  }
  auto out = room_for<T>(ds.get(), m_path, name, rows * row_size);
  const hsize_t n = hsize_t(out.size());
  Handle memory(H5Screate_simple(1, &n, nullptr), H5Sclose);
  // Independent MPI-IO reads: a rank's rows are a few large contiguous blocks, which need no
  // collective aggregation; and collective reads of such selections return zeros on some
  // ranks with Open MPI 4.1.0–4.1.4's ompio (Debian 12 ships 4.1.4; open-mpi/ompi#10546,
  // its read data sieving; tests/test_mpi.cpp caught it at 3 ranks).
  if (!out.empty() && H5Dread(ds.get(), mem_type, memory.get(), space.get(), H5P_DEFAULT, out.data()) < 0)
    throw Error(m_path + ": cannot read " + name + " (corrupt file or unconvertible values)");
  return out;
}

std::vector<double> H5Reader::read_rows_f64(const std::string &name,
                                            const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges) const
{
  return read_rows<double>(name, ranges, H5T_NATIVE_DOUBLE);
}

std::vector<float> H5Reader::read_rows_f32(const std::string &name,
                                           const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges) const
{
  return read_rows<float>(name, ranges, H5T_NATIVE_FLOAT);
}

std::vector<std::int64_t> H5Reader::read_i64(const std::string &name) const
{
  if (dataset_class(m_file, m_path, name) != H5T_INTEGER)
    throw Error(m_path + ": " + name + " must hold integers");
  return read_dataset<std::int64_t>(m_file, m_path, name, H5T_NATIVE_INT64);
}

bool H5Reader::has_attr(const std::string &name, const std::string &object) const
{
  if (object != "/" && H5Lexists(m_file, object.c_str(), H5P_DEFAULT) <= 0)
    return false;
  Handle root = open_object(m_file, m_path, object);
  return H5Aexists(root.get(), name.c_str()) > 0;
}

bool H5Reader::is_group(const std::string &name) const
{
  if (H5Lexists(m_file, name.c_str(), H5P_DEFAULT) <= 0)
    return false;
  Handle obj(H5Oopen(m_file, name.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP;
}

std::vector<std::string> H5Reader::members(const std::string &group) const
{
  Handle g(H5Gopen2(m_file, group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!g.valid())
    throw Error(m_path + ": cannot open group " + group);
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0)
    throw Error(m_path + ": cannot list group " + group);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i)
  {
    const ssize_t size = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size < 0)
      throw Error(m_path + ": cannot list group " + group);
    std::vector<char> buf(std::size_t(size) + 1, '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf.data(), buf.size(), H5P_DEFAULT);
    names.emplace_back(buf.data());
  }
  return names;
}

std::vector<std::string> H5Reader::read_strings(const std::string &name) const
{
  Handle ds = open_dataset(m_file, m_path, name);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (!type.valid() || H5Tget_class(type.get()) != H5T_STRING)
    throw Error(m_path + ": " + name + " is not a string dataset");
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n < 0)
    throw Error(m_path + ": cannot read the shape of " + name);
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0)
  {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char *> p(std::size_t(n), nullptr);
    if (n > 0 && H5Dread(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()) < 0)
      throw Error(m_path + ": cannot read " + name);
    for (char *c : p)
      out.emplace_back(c ? c : "");
    if (n > 0)
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, p.data());
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::vector<char> buf(std::size_t(n) * size + 1, '\0');
  if (n > 0 && H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    throw Error(m_path + ": cannot read " + name);
  for (hssize_t i = 0; i < n; ++i)
  {
    std::string v(buf.data() + std::size_t(i) * size, size);
    v = v.substr(0, v.find('\0'));
    if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD)
      v.erase(v.find_last_not_of(' ') + 1);
    out.push_back(v);
  }
  return out;
}

std::string H5Reader::read_string_attr(const std::string &name, const std::string &object) const
{
  auto [attr, type] = open_scalar_attr(m_file, m_path, name, object);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw Error(m_path + ": attribute " + name + " is not a string");
  if (H5Tis_variable_str(type.get()) > 0)
  {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char *p = nullptr;
    if (H5Aread(attr.get(), mem.get(), &p) < 0)
      throw Error(m_path + ": cannot read attribute " + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  // Fixed length: read the raw bytes, then cut at the first NUL (null-terminated or
  // null-padded) or strip trailing blanks (space-padded).
  const std::size_t size = H5Tget_size(type.get());
  std::vector<char> buf(size + 1, '\0');
  if (size > 0 && H5Aread(attr.get(), type.get(), buf.data()) < 0)
    throw Error(m_path + ": cannot read attribute " + name);
  std::string s(buf.data());
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD)
    s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

double H5Reader::read_f64_attr(const std::string &name) const
{
  auto [attr, type] = open_scalar_attr(m_file, m_path, name);
  const H5T_class_t c = H5Tget_class(type.get());
  if (c != H5T_FLOAT && c != H5T_INTEGER)
    throw Error(m_path + ": attribute " + name + " is not numeric");
  double v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v) < 0)
    throw Error(m_path + ": cannot read attribute " + name);
  return v;
}

namespace
{
/// fsync of a file or a directory by name; false (errno set) if it cannot be opened or synced.
bool sync_path(const std::string &path)
{
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}
bool g_unusable = false; ///< see hdf5_unusable()
} // namespace

bool hdf5_unusable() { return g_unusable; }

// ---------------------------------------------------------------------------------------
// H5Writer

H5Writer::H5Writer(const std::string &final_path) : m_path(final_path), m_tmp(final_path + ".tmp")
{
  quiet_hdf5();
  Handle fapl = file_access();
  // The 1.8 format (readable by HDF5 >= 1.8, h5py): its object headers, B-trees and heaps
  // carry checksums that HDF5 verifies on read, so a corrupt structure is an error, not a crash.
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  // No modification times in the object headers: the same run writes the same bytes
  // (reproducible files, and fuzz runs that do not depend on the clock).
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_obj_track_times(fcpl.get(), 0);
  m_file = H5Fcreate(m_tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (m_file < 0)
    throw Error(m_path + ": cannot create the temporary file " + m_tmp +
                " (does the directory exist and is it writable?)");
}

H5Writer::~H5Writer()
{
  if (m_file >= 0 && H5Fclose(m_file) < 0)
    g_unusable = true;
  // Never leave a half-written file behind: without commit() the temporary goes.
  if (!m_committed)
    std::remove(m_tmp.c_str());
}

void H5Writer::require_open(const std::string &what) const
{
  if (m_file < 0)
    throw Error(m_path + ": cannot write " + what + ": the file was already committed or failed");
}

void H5Writer::write_dataset(const std::string &name, std::int64_t file_type, std::int64_t mem_type, const void *data,
                             const std::vector<std::int64_t> &shape)
{
  require_open(name);
  std::vector<hsize_t> dims;
  for (std::int64_t s : shape)
  {
    if (s < 0)
      throw Error(m_path + ": cannot write " + name + " with negative extent " + shape_string(shape));
    dims.push_back(hsize_t(s));
  }
  const std::int64_t n = element_count(shape);
  if (n > 0 && data == nullptr)
    throw Error(m_path + ": cannot write " + name + ": no data for shape " + shape_string(shape));
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
               H5Sclose);
  // Writing a name twice replaces the earlier dataset.
  if (H5Lexists(m_file, name.c_str(), H5P_DEFAULT) > 0)
    H5Ldelete(m_file, name.c_str(), H5P_DEFAULT);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), 0);
  Handle ds(H5Dcreate2(m_file, name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!space.valid() || !ds.valid())
    throw Error(m_path + ": cannot create dataset " + name + " " + shape_string(shape));
  if (n > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw Error(m_path + ": cannot write dataset " + name + " (disk full?)");
}

void H5Writer::write_f64(const std::string &name, const double *data, const std::vector<std::int64_t> &shape)
{
  write_dataset(name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, shape);
}

void H5Writer::write_f32(const std::string &name, const double *data, const std::vector<std::int64_t> &shape)
{
  const std::int64_t n = element_count(shape);
  std::vector<float> f(data ? std::size_t(n > 0 ? n : 0) : 0);
  for (std::size_t i = 0; i < f.size(); ++i)
    f[i] = float(data[i]);
  write_dataset(name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data ? f.data() : nullptr, shape);
}

void H5Writer::write_i64(const std::string &name, const std::int64_t *data, const std::vector<std::int64_t> &shape)
{
  write_dataset(name, H5T_STD_I64LE, H5T_NATIVE_INT64, data, shape);
}

void H5Writer::write_attr(const std::string &name, std::int64_t type, const void *data)
{
  require_open("attribute " + name);
  Handle root = open_root(m_file, m_path);
  if (H5Aexists(root.get(), name.c_str()) > 0)
    H5Adelete(root.get(), name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(root.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type, data) < 0)
    throw Error(m_path + ": cannot write attribute " + name);
}

void H5Writer::write_string_attr(const std::string &name, const std::string &value)
{
  // Fixed length (null-terminated UTF-8), stored with the attribute in the object header,
  // which the 1.8 file format checksums (long values go to its dense attribute storage,
  // checksummed too). Variable-length strings live in the global heap, which has no
  // checksum: a flipped bit there crashes HDF5 1.10 inside H5Aread (H5HG_read).
  // h5py reads these as bytes; json.loads and .decode() take them as they are.
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  write_attr(name, type.get(), value.c_str());
}

void H5Writer::write_f64_attr(const std::string &name, double value) { write_attr(name, H5T_NATIVE_DOUBLE, &value); }

void H5Writer::write_i64_attr(const std::string &name, std::int64_t value)
{
  write_attr(name, H5T_NATIVE_INT64, &value);
}

void H5Writer::commit()
{
  require_open("the file");
  const herr_t closed = H5Fclose(m_file);
  m_file = -1;
  if (closed < 0)
  {
    g_unusable = true;
    throw Error(m_path + ": cannot close the temporary file " + m_tmp + " (disk full?)");
  }
  // The data on the disk before the name: a crash (or power loss) after the rename must not
  // leave the new name on blocks that were never written.
  if (!sync_path(m_tmp))
    throw Error(m_path + ": cannot sync the temporary file " + m_tmp + " (" + std::strerror(errno) + ")");
  // rename() replaces an existing file atomically on POSIX file systems; syncing the
  // directory makes the new name itself durable.
  if (std::rename(m_tmp.c_str(), m_path.c_str()) != 0)
    throw Error(m_path + ": cannot rename " + m_tmp + " onto it (" + std::strerror(errno) + ")");
  m_committed = true;
  const auto slash = m_path.find_last_of('/');
  sync_path(slash == std::string::npos ? "." : slash == 0 ? "/" : m_path.substr(0, slash));
}
std::string shape_string(const std::vector<std::int64_t> &shape)
{
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace amk::io
