// --time-column and --dims of the commands that read snapshots (io/import.hpp).
#include "commands.hpp"

namespace amk::app
{
void add_import_options(CLI::App *cmd, io::ImportOptions &import)
{
  cmd->add_option("--time-column", import.time_column,
                  "--data table: the column of the time (.csv: default the first; .h5ad: an obs column)");
  cmd->add_option("--embedding", import.embedding, "--data .h5ad: the /obsm embedding (default: X_pca, else a dense X)");
  cmd->add_option("--dims", import.dims, "--data table (.csv, .h5ad): keep its first N coordinates (0: all)")
      ->check(CLI::NonNegativeNumber);
}

io::ImportOptions import_of_run(const io::ImportOptions &given, const nlohmann::json &config)
{
  if (given.given())
    return given;
  io::ImportOptions o;
  if (config.contains("time_column") && config["time_column"].is_string())
    o.time_column = config["time_column"].get<std::string>();
  if (config.contains("embedding") && config["embedding"].is_string())
    o.embedding = config["embedding"].get<std::string>();
  if (config.contains("dims") && config["dims"].is_number_integer())
    o.dims = config["dims"].get<int>();
  return o;
}
} // namespace amk::app
