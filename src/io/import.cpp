#include <amk/core/error.hpp>
#include <amk/io/import.hpp>
#include "import_rows.hpp"
#include <amk/io/snapshot_file.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>

namespace amk::io
{
namespace
{
std::string lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string &s, const std::string &tail)
{
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// The fields of one CSV line: split at commas, quotes ("a,b", "" inside) and surrounding spaces removed.
std::vector<std::string> fields(const std::string &line)
{
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i)
  {
    const char c = line[i];
    if (quoted)
    {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        field += line[++i];
      else if (c == '"')
        quoted = false;
      else
        field += c;
    }
    else if (c == '"')
      quoted = true;
    else if (c == ',')
    {
      out.push_back(field);
      field.clear();
    }
    else
      field += c;
  }
  out.push_back(field);
  for (auto &f : out)
  {
    const auto b = f.find_first_not_of(" \t\r"), e = f.find_last_not_of(" \t\r");
    f = b == std::string::npos ? std::string() : f.substr(b, e - b + 1);
  }
  return out;
}

/// A table's value as a finite double, or an error naming where it is.
double number(const std::string &word, const std::string &where)
{
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(word.c_str(), &end);
  require(!word.empty() && end == word.c_str() + word.size() && errno != ERANGE,
          where + " is not a number (got '" + word + "')");
  require(std::isfinite(v), where + " is not finite (got '" + word + "')");
  return v;
}

} // namespace

DataFormat format_of(const std::string &path)
{
  const std::string p = lower(path);
  return ends_with(p, ".csv") ? DataFormat::csv : ends_with(p, ".h5ad") ? DataFormat::h5ad : DataFormat::amk;
}

const char *format_name(DataFormat format)
{
  return format == DataFormat::csv ? "CSV" : format == DataFormat::h5ad ? "AnnData" : "amk HDF5";
}

data::SnapshotData read_csv(const std::string &path, const ImportOptions &options)
{
  std::ifstream in(path);
  require(in.good(), path + ": cannot open the file");
  std::string line;
  std::int64_t line_number = 0;
  auto next = [&]
  {
    while (std::getline(in, line))
    {
      ++line_number;
      if (line.find_first_not_of(" \t\r") != std::string::npos)
        return true;
    }
    return false;
  };
  require(next(), path + ": the file is empty (a CSV needs a header line and rows)");
  const std::vector<std::string> header = fields(line);
  require(header.size() >= 2, path + ": the header names " + std::to_string(header.size()) +
                                  " column; a time column and at least one coordinate are needed");
  std::size_t time_col = 0;
  if (!options.time_column.empty())
  {
    const auto it = std::find(header.begin(), header.end(), options.time_column);
    if (it == header.end())
    {
      std::string names;
      for (const auto &h : header)
        names += (names.empty() ? "" : ", ") + h;
      throw Error(path + ": no column '" + options.time_column + "' for --time-column (the columns: " + names + ")");
    }
    time_col = std::size_t(it - header.begin());
  }
  const std::int64_t available = std::int64_t(header.size()) - 1;
  require(options.dims >= 0 && options.dims <= available,
          fmt::format("{}: --dims {} but the table has {} coordinate column{}", path, options.dims, available,
                      available == 1 ? "" : "s"));
  const std::int64_t dim = options.dims > 0 ? options.dims : available;
  std::vector<double> time, x;
  while (next())
  {
    const std::vector<std::string> row = fields(line);
    require(row.size() == header.size(), fmt::format("{}: line {} has {} fields, the header {}", path, line_number,
                                                     row.size(), header.size()));
    time.push_back(number(row[time_col], fmt::format("{}: line {}, column '{}' (the time)", path, line_number,
                                                     header[time_col])));
    std::int64_t kept = 0;
    for (std::size_t c = 0; c < row.size() && kept < dim; ++c)
      if (c != time_col)
      {
        x.push_back(number(row[c], fmt::format("{}: line {}, column '{}'", path, line_number, header[c])));
        ++kept;
      }
  }
  require(!time.empty(), path + ": the table has a header but no rows");
  require(options.embedding.empty(), path + ": --embedding names an AnnData .obsm entry; a CSV's coordinates are its columns");
  data::SnapshotData out = group_by_time(time, x, dim, path);
  validate(out, path);
  return out;
}

data::SnapshotData read_data(const std::string &path, const ImportOptions &options)
{
  const DataFormat format = format_of(path);
  if (format == DataFormat::csv)
    return read_csv(path, options);
  if (format == DataFormat::h5ad)
    return read_h5ad(path, options);
  require(!options.given(), path + ": --time-column, --embedding and --dims apply to tables (.csv, .h5ad); an amk "
                                   "HDF5 file has its own /times and dimension");
  return read_snapshots(path);
}
} // namespace amk::io
