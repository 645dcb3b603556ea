#pragma once
// JSON as amk writes it (checkpoint attributes, metrics.jsonl, reports): strings that are not
// UTF-8 (a Latin-1 file name is a valid Linux path) are written with U+FFFD in place of the
// bad bytes instead of throwing, which would lose a checkpoint.
#include <nlohmann/json.hpp>
#include <string>

namespace amk
{
inline std::string to_text(const nlohmann::json &j)
{
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
} // namespace amk
