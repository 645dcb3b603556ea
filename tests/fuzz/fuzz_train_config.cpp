// libFuzzer harness: `amk train --config FILE.toml`: the file expanded into options
// (expand_config, CLI11's TOML reader), the command line parsed as amk's main does, each
// given option's words parsed by its row of the option table, the run specification checked
// (train::validate), and a valid one written to a checkpoint's JSON and read back unchanged.
#include "../../apps/commands.hpp"
#include "fuzz_common.hpp"
#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string &path = amk::fuzz::scratch("config.toml");
  amk::fuzz::write_file(path, data, size);
  amk::fuzz::only_amk_errors([&] {
    auto args = amk::app::expand_config({"train", "--config", path, "--out", "fuzz-out"});
    CLI::App app;
    app.require_subcommand(1);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    const auto options = amk::app::add_train_options(app);
    std::reverse(args.begin(), args.end());
    try
    {
      app.parse(args);
    }
    catch (const CLI::ParseError &e) // amk prints these through CLI11 and exits non-zero
    {
      if (e.get_exit_code() == 0 || std::string(e.what()).find('\n') != std::string::npos)
        std::abort();
      return;
    }
    std::set<std::string> given;
    const auto spec = options.spec(&given);
    amk::train::validate(spec, &given);
    const auto json = amk::train::to_json(spec);
    if (amk::train::to_json(amk::train::spec_from_json(json)) != json)
    {
      std::fprintf(stderr, "a valid configuration does not survive its checkpoint JSON: %s\n", json.dump().c_str());
      std::abort();
    }
  });
  std::remove(path.c_str());
  return 0;
}
