// AnnData .h5ad files read through HDF5 (io/import.hpp): the layout anndata ≥ 0.8 writes
// (https://anndata.readthedocs.io, "On-disk format"): /X dense or a sparse group, /obsm/<key>
// dense [n_obs, k], /obs a dataframe group whose columns are datasets (numeric, or strings with
// encoding-type string-array) or categorical groups (codes, categories; code −1: missing).
#include "import_rows.hpp"
#include <amk/core/error.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <cctype>

namespace amk::io
{
namespace
{
std::string joined(const std::vector<std::string> &names)
{
  std::string out;
  for (const auto &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::string encoding(const H5Reader &f, const std::string &object)
{
  return f.has_attr("encoding-type", object) ? f.read_string_attr("encoding-type", object) : std::string();
}

/// The time a label names: the label itself when it is a number, else the one number in it
/// ("day 3", "E14.5", "72h").
double time_of_label(const std::string &label, const std::string &where)
{
  char *end = nullptr;
  const double whole = std::strtod(label.c_str(), &end);
  if (!label.empty() && end == label.c_str() + label.size() && std::isfinite(whole))
    return whole;
  // the runs of digits and points that hold a digit ("E14.5": 14.5; a minus sign counts at the
  // start or after a space); std::regex is not used: GCC 12 warns inside it under -O1 sanitizers
  std::vector<std::string> numbers;
  for (std::size_t i = 0; i < label.size();)
  {
    if (!(std::isdigit(static_cast<unsigned char>(label[i])) || label[i] == '.'))
    {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < label.size() && (std::isdigit(static_cast<unsigned char>(label[j])) || label[j] == '.'))
      ++j;
    std::string run = label.substr(i, j - i);
    if (run.find_first_of("0123456789") != std::string::npos)
    {
      if (i > 0 && label[i - 1] == '-' && (i == 1 || label[i - 2] == ' '))
        run = "-" + run;
      numbers.push_back(run);
    }
    i = j;
  }
  const std::size_t count = numbers.size();
  require(count == 1, fmt::format("{}: the time label '{}' {} (give a numeric column as --time-column)", where, label,
                                  count == 0 ? "holds no number" : "holds more than one number"));
  char *stop = nullptr;
  const double v = std::strtod(numbers[0].c_str(), &stop);
  require(stop == numbers[0].c_str() + numbers[0].size(), where + ": the time label '" + label + "' holds no number");
  require(std::isfinite(v), where + ": the time label '" + label + "' is not finite");
  return v;
}

/// The obs column's value per cell as a time.
std::vector<double> obs_times(const H5Reader &f, const std::string &column, std::int64_t n, const std::string &path)
{
  const std::string name = "/obs/" + column, where = path + ": obs column '" + column + "'";
  std::vector<double> t;
  if (f.is_group(name))
  {
    const std::string enc = encoding(f, name);
    require(enc == "categorical", fmt::format("{} is a group of encoding '{}' (amk reads numeric, string and "
                                              "categorical columns)", where, enc));
    require(f.has(name + "/codes") && f.has(name + "/categories"), where + ": a categorical without codes and categories");
    const auto codes = f.read_i64(name + "/codes");
    std::vector<double> category_time;
    if (f.is_float(name + "/categories") || f.is_integer(name + "/categories"))
      category_time = f.read_f64(name + "/categories");
    else
      for (const auto &label : f.read_strings(name + "/categories"))
        category_time.push_back(time_of_label(label, where));
    for (std::size_t i = 0; i < codes.size(); ++i)
    {
      require(codes[i] >= 0 && codes[i] < std::int64_t(category_time.size()),
              fmt::format("{}: cell {} has no time (a missing category)", where, i));
      t.push_back(category_time[std::size_t(codes[i])]);
    }
  }
  else if (f.has(name))
  {
    if (f.is_float(name) || f.is_integer(name))
      t = f.read_f64(name);
    else
      for (const auto &label : f.read_strings(name))
        t.push_back(time_of_label(label, where));
  }
  else
  {
    std::vector<std::string> columns;
    for (const auto &m : f.members("/obs"))
      if (m != "_index" && m != "__categories")
        columns.push_back(m);
    throw Error(fmt::format("{}: no obs column '{}' for --time-column (obs has: {})", path, column, joined(columns)));
  }
  require(std::int64_t(t.size()) == n,
          fmt::format("{} has {} values for {} cells", where, t.size(), n));
  for (std::size_t i = 0; i < t.size(); ++i)
    require(std::isfinite(t[i]), fmt::format("{}: cell {} has a time that is not finite", where, i));
  return t;
}
} // namespace

data::SnapshotData read_h5ad(const std::string &path, const ImportOptions &options)
{
  const H5Reader f(path);
  require(f.is_group("/obs"), path + ": not an AnnData file (no /obs group)");
  // the coordinates: an embedding of /obsm, or X when it is dense
  std::string key = options.embedding;
  const bool has_obsm = f.is_group("/obsm");
  const std::vector<std::string> obsm = has_obsm ? f.members("/obsm") : std::vector<std::string>();
  if (key.empty())
    key = std::find(obsm.begin(), obsm.end(), "X_pca") != obsm.end() ? "X_pca" : "X";
  const std::string name = key == "X" ? "/X" : "/obsm/" + key;
  if (key == "X" && f.is_group("/X"))
    throw Error(fmt::format("{}: X is sparse ({}); give --embedding with a dense /obsm entry (obsm has: {})", path,
                            encoding(f, "/X"), joined(obsm)));
  require(f.has(name), key == "X" ? path + ": no /X" : fmt::format("{}: no /obsm entry '{}' for --embedding (obsm has: {})", path, key, joined(obsm)));
  const auto shape = f.shape(name);
  require(shape.size() == 2 && shape[0] >= 1 && shape[1] >= 1,
          fmt::format("{}: {} has shape {}; an embedding is [cells, components]", path, name, shape_string(shape)));
  require(options.dims >= 0 && options.dims <= shape[1],
          fmt::format("{}: --dims {} but {} has {} components", path, options.dims, name, shape[1]));
  const std::int64_t n = shape[0], k = shape[1], dim = options.dims > 0 ? options.dims : k;
  const auto all = f.read_f64(name);
  std::vector<double> x(std::size_t(n * dim));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t r = 0; r < dim; ++r)
    {
      const double v = all[std::size_t(i * k + r)];
      require(std::isfinite(v), fmt::format("{}: {} of cell {}, component {} is not finite", path, name, i, r));
      x[std::size_t(i * dim + r)] = v;
    }
  // the time
  if (options.time_column.empty())
  {
    std::vector<std::string> columns;
    for (const auto &m : f.members("/obs"))
      if (m != "_index" && m != "__categories")
        columns.push_back(m);
    throw Error(fmt::format("{}: give --time-column, the obs column of each cell's time (obs has: {})", path,
                            joined(columns)));
  }
  const auto t = obs_times(f, options.time_column, n, path);
  data::SnapshotData out = group_by_time(t, x, dim, path);
  validate(out, path);
  return out;
}
} // namespace amk::io
