// --engine of the commands that evaluate a trained network (commands.hpp).
#include "commands.hpp"
#include <amk/core/choice.hpp>

namespace amk::app
{
void add_inference_engine(CLI::App *cmd, std::string &choice)
{
  std::string names = "{trained,auto";
  for (const auto &c : choices(nn::EngineId()))
    names += std::string(",") + c.name;
  cmd->add_option("--engine", choice,
                  "the engine that evaluates the network: trained (the one its run trained with, where it can "
                  "evaluate; else auto), auto (the untimed rule) or an engine by name")
      ->type_name(names + "}")
      ->capture_default_str();
}

sample::InferenceEngine inference_engine(const std::string &choice)
{
  sample::InferenceEngine e;
  if (choice == "trained")
    return e;
  if (choice == "auto")
  {
    e.kind = sample::InferenceEngine::Kind::automatic;
    return e;
  }
  const auto id = find_choice<nn::EngineId>(choice);
  require(id.has_value(), "--engine must be trained, auto or " + name_list<nn::EngineId>() + " (got '" + choice + "')");
  e.kind = sample::InferenceEngine::Kind::named;
  e.id = *id;
  return e;
}
} // namespace amk::app
