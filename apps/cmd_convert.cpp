// amk convert: a table's snapshots (io/import.hpp) written as amk's HDF5 snapshot file, the
// form `mpirun` shards read best (each rank reads only its rows).
#include "commands.hpp"
#include <amk/dist/comm.hpp>
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>
#include <fmt/format.h>

namespace amk::app
{
Action add_convert(CLI::App &app)
{
  auto *cmd = app.add_subcommand("convert", "Write a table's snapshots (.csv, .h5ad) as amk's HDF5 snapshot file");
  struct Options
  {
    std::string data, out;
    io::ImportOptions import;
    bool float32 = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--data", o->data, "The table: .csv (a header, a time column, coordinates) or AnnData .h5ad")->required();
  add_import_options(cmd, o->import);
  cmd->add_flag("--float32", o->float32, "Store /x as float32 (half the size; training reads float by default)");
  cmd->add_option("--out", o->out, "Output HDF5 snapshot file (/times, /x, /offsets, /snapshot_mass)")->required();
  return [o]()
  {
    if (!dist::Comm::world().root())
      return 0;
    require(io::format_of(o->data) != io::DataFormat::amk,
            "convert: " + o->data + " is already an amk HDF5 file (convert reads tables: .csv, .h5ad)");
    const data::SnapshotData data = io::read_data(o->data, o->import);
    io::write_snapshots(o->out, data, o->float32,
                        {{"amk_source", o->data},
                         {"amk_time_column", o->import.time_column.empty() ? "(the first)" : o->import.time_column},
                         {"amk_embedding", o->import.embedding}});
    std::string sizes;
    for (std::int64_t k = 0; k < data.snapshots(); ++k)
      sizes += fmt::format("{}{:g}: {}", k ? ", " : "", data.times[std::size_t(k)], data.offsets[k + 1] - data.offsets[k]);
    fmt::print("amk convert: {} samples of d = {} at {} times ({}); /snapshot_mass = cell counts relative to the "
               "first; wrote {}\n",
               data.samples(), data.dim, data.snapshots(), sizes, o->out);
    return 0;
  };
}
} // namespace amk::app
