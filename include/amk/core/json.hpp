#pragma once
// JSON as amk writes it (checkpoint attributes, metrics.jsonl, reports): strings that are not
// UTF-8 (a Latin-1 file name is a valid Linux path) are written with U+FFFD in place of the
// bad bytes instead of throwing, which would lose a checkpoint.
#include <amk/core/error.hpp>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace amk
{
inline std::string to_text(const nlohmann::json &j)
{
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
/// An integer value read from a file: a JSON integer within T's range, else amk::Error naming
/// it (nlohmann's get<int> of -593.85 or 1e30 converts a float out of range: undefined
/// behaviour, found by the checkpoint fuzzer).
template <class T> T json_integer(const nlohmann::json &v, const std::string &name)
{
  static_assert(std::is_integral_v<T>, "json_integer: an integer type");
  bool ok = false;
  if (v.is_number_unsigned())
    ok = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  else if (v.is_number_integer()) // negative (nlohmann keeps parsed non-negative integers unsigned)
  {
    const std::int64_t x = v.get<std::int64_t>();
    if constexpr (std::is_signed_v<T>)
      ok = x >= static_cast<std::int64_t>(std::numeric_limits<T>::lowest()) &&
           x <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
    else
      ok = x >= 0 && static_cast<std::uint64_t>(x) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  }
  if (!ok)
    throw Error("'" + name + "' is not an integer in range: " + to_text(v));
  return v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>()) : static_cast<T>(v.get<std::int64_t>());
}

/// The integer field j[name] (json_integer).
template <class T> T whole_number(const nlohmann::json &j, const char *name) { return json_integer<T>(j.at(name), name); }
} // namespace amk
