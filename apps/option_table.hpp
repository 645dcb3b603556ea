#pragma once
// The option table's rows (train/options.hpp) as CLI11 options of a subcommand. CLI11 keeps
// each given option's words as written; after the parse each row parses its own words into
// the run specification, so that every message about a value is amk's one line naming the
// option.
#include <CLI/CLI.hpp>
#include <amk/train/options.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace amk::app
{
class OptionWords
{
public:
  /// Adds the rows called `names` (every row when empty) to `cmd`.
  explicit OptionWords(CLI::App *cmd, const std::vector<std::string> &names = {});
  /// `base` with every option the line gave parsed into it; `given` gets their names ("--lr").
  /// amk::Error naming the first bad value.
  train::RunSpec spec(train::RunSpec base = train::RunSpec(), std::set<std::string> *given = nullptr) const;

private:
  struct Row
  {
    const train::Option *option;
    CLI::Option *cli;
    std::shared_ptr<std::vector<std::string>> words;
  };
  std::vector<Row> m_rows;
};
} // namespace amk::app
