#pragma once
// A named choice (core/choice.hpp) as a CLI11 option: the word is checked against the enum's
// table at the door and stored as the enum, so that no command compares a string past its
// parser; a wrong word is one line "--x: must be a, b or c (got 'y')".
#include <CLI/CLI.hpp>
#include <amk/core/choice.hpp>
#include <optional>
#include <string>

namespace amk::app
{
/// "{a,b,c}" (and "auto" first when `automatic`).
template <class E> std::string choice_names(bool automatic = false)
{
  std::string s = automatic ? "{auto" : "";
  for (const auto &c : choices(E{}))
    if (*c.name)
      s += (s.empty() ? "{" : ",") + std::string(c.name);
  return s + "}";
}

template <class E> CLI::Option *add_choice(CLI::App *cmd, const std::string &flag, E &value, const std::string &help)
{
  return cmd
      ->add_option_function<std::string>(
          flag, [&value](const std::string &word) { value = *find_choice<E>(word); }, help)
      ->check(CLI::Validator(
          [](std::string &word)
          { return find_choice<E>(word) ? std::string() : "must be " + name_list<E>() + " (got '" + word + "')"; },
          ""))
      ->type_name(choice_names<E>())
      ->default_str(name_of(value));
}

/// The same into an optional: empty for `auto` (automatic) or while not given (not automatic).
template <class E>
CLI::Option *add_choice(CLI::App *cmd, const std::string &flag, std::optional<E> &value, const std::string &help,
                        bool automatic = true)
{
  return cmd
      ->add_option_function<std::string>(
          flag, [&value, automatic](const std::string &word)
          { value = automatic && word == "auto" ? std::nullopt : find_choice<E>(word); },
          help)
      ->check(CLI::Validator(
          [automatic](std::string &word)
          {
            return (automatic && word == "auto") || find_choice<E>(word)
                       ? std::string()
                       : "must be " + name_list<E>(automatic ? "auto" : nullptr) + " (got '" + word + "')";
          },
          ""))
      ->type_name(choice_names<E>(automatic))
      ->default_str(value ? name_of(*value) : automatic ? "auto" : "");
}
} // namespace amk::app
