#include "option_table.hpp"
#include <algorithm>

namespace amk::app
{
OptionWords::OptionWords(CLI::App *cmd, const std::vector<std::string> &names)
{
  for (const auto &o : train::options())
  {
    if (!names.empty() && std::find(names.begin(), names.end(), o.name) == names.end())
      continue;
    Row row{&o, nullptr, std::make_shared<std::vector<std::string>>()};
    if (o.arity == train::Option::Arity::flag)
      row.cli = cmd->add_flag(o.flag(), o.help);
    else
    {
      row.cli = cmd->add_option(o.flag(), *row.words, o.help)->type_name(o.value_names);
      if (o.arity == train::Option::Arity::one)
        row.cli->expected(1);
      else
        row.cli->expected(1, -1);
      if (!o.default_text.empty())
        row.cli->default_str(o.default_text);
    }
    m_rows.push_back(std::move(row));
  }
}

train::RunSpec OptionWords::spec(train::RunSpec base, std::set<std::string> *given) const
{
  for (const auto &row : m_rows)
  {
    if (row.cli->count() == 0)
      continue;
    row.option->parse(base, *row.words);
    if (given)
      given->insert(row.option->flag());
  }
  return base;
}
} // namespace amk::app
