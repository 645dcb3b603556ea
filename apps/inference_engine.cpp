// --engine and --weights of the commands that evaluate a trained network (commands.hpp).
#include "choice_option.hpp"
#include "commands.hpp"

namespace amk::app
{
namespace
{
/// The engine a word names: trained, auto, or a registered engine's name.
std::optional<sample::InferenceEngine> named_engine(const std::string &word)
{
  sample::InferenceEngine e;
  if (word == "trained")
    return e;
  if (word == "auto")
  {
    e.kind = sample::InferenceEngine::Kind::automatic;
    return e;
  }
  const auto id = find_choice<nn::EngineId>(word);
  if (!id)
    return std::nullopt;
  e.kind = sample::InferenceEngine::Kind::named;
  e.id = *id;
  return e;
}
} // namespace

CLI::Option *add_inference_engine(CLI::App *cmd, sample::InferenceEngine &engine)
{
  std::string names = "{trained,auto";
  for (const auto &c : choices(nn::EngineId()))
    names += std::string(",") + c.name;
  return cmd
      ->add_option_function<std::string>(
          "--engine", [&engine](const std::string &word) { engine = *named_engine(word); },
          "the engine that evaluates the network: trained (the one its run trained with, where it can evaluate; "
          "else auto), auto (the untimed rule) or an engine by name")
      ->check(CLI::Validator(
          [](std::string &word)
          {
            return named_engine(word) ? std::string()
                                      : "must be trained, " + name_list<nn::EngineId>("auto") + " (got '" + word + "')";
          },
          ""))
      ->type_name(names + "}")
      ->default_str("trained");
}

CLI::Option *add_weights(CLI::App *cmd, sample::Weights &weights, const std::string &help)
{
  return add_choice(cmd, "--weights", weights, help);
}
} // namespace amk::app
