#pragma once
// Named choices. Every enum a user picks by name (--loss am, --activation tanh, --method
// rk4, …) has ONE table of its names, `choices(E{})`, declared beside the enum and found by
// argument-dependent lookup; parsing, printing, help texts and JSON all read that table, so
// a new value is one row of it.
//   inline const std::vector<Named<Head>> &choices(Head)
//   { static const std::vector<Named<Head>> t = {{Head::scalar, "scalar"}, {Head::quadratic, "quadratic"}};
//     return t; }
#include <amk/core/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace amk
{
template <class E> struct Named
{
  E value;
  const char *name;
};

/// The name of e in its table ("?" for a value outside it).
template <class E> const char *name_of(E e)
{
  for (const auto &c : choices(E{}))
    if (c.value == e)
      return c.name;
  return "?";
}

/// The value called `name`, if any.
template <class E> std::optional<E> find_choice(const std::string &name)
{
  for (const auto &c : choices(E{}))
    if (name == c.name)
      return c.value;
  return std::nullopt;
}

/// "a, b or c": the names of E's table (those that are not empty), for messages and help.
template <class E> std::string name_list(const char *first = nullptr)
{
  std::vector<std::string> names;
  if (first)
    names.emplace_back(first);
  for (const auto &c : choices(E{}))
    if (*c.name)
      names.emplace_back(c.name);
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

/// The value called `name`, else amk::Error "<what> must be a, b or c (got 'x')".
template <class E> E parse_choice(const std::string &name, const std::string &what)
{
  if (const auto e = find_choice<E>(name))
    return *e;
  throw Error(what + " must be " + name_list<E>() + " (got '" + name + "')");
}
} // namespace amk
