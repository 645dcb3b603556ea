#include <algorithm>
#include <amk/config.hpp>
#include <amk/train/engine_cache.hpp>
#include <amk/train/run_spec.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace amk::train
{
namespace
{
std::string environment(const char *name)
{
  const char *v = std::getenv(name);
  return v ? v : "";
}

/// The CPU's model name (Linux /proc/cpuinfo; "" elsewhere).
std::string cpu_model()
{
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
      return line.substr(line.find(':') + 2);
  return "";
}

std::string host_name()
{
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "";
}

nlohmann::json read_cache(const std::string &path)
{
  std::ifstream in(path);
  if (!in)
    return nlohmann::json::object();
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}
} // namespace

std::string engine_cache_path()
{
  std::string base = environment("XDG_CACHE_HOME");
  if (base.empty() && !environment("HOME").empty())
    base = environment("HOME") + "/.cache";
  return base.empty() ? "" : base + "/amk/engines.json";
}

std::string engine_cache_key(const RunSpec &spec, const nn::Capacity &capacity, const std::string &backend,
                             int concurrency, int ranks)
{
  const nlohmann::json key = {{"host", host_name()},
                              {"cpu", cpu_model()},
                              {"backend", backend},
                              {"threads", concurrency},
                              {"blas_threads", environment("OPENBLAS_NUM_THREADS")},
                              {"omp_threads", environment("OMP_NUM_THREADS")},
                              {"ranks", ranks},
                              {"amk", AMK_VERSION_STRING},
                              {"network", nn::to_json(spec.network)},
                              {"dtype", name_of(spec.dtype)},
                              {"loss", name_of(spec.loss)},
                              {"columns", {capacity.max_tangent, capacity.max_primal}},
                              {"directions", capacity.directions}};
  return key.dump();
}

std::optional<EngineTiming> cached_engine(const std::string &path, const std::string &key)
{
  if (path.empty())
    return std::nullopt;
  const auto cache = read_cache(path);
  const auto it = cache.find(key);
  if (it == cache.end() || !it->is_object() || !it->contains("engine") || !it->contains("seconds"))
    return std::nullopt;
  const auto &name = (*it)["engine"], &seconds = (*it)["seconds"];
  if (!name.is_string() || !seconds.is_object())
    return std::nullopt; // a hand-edited or foreign entry: measure again
  EngineTiming timing;
  timing.cached = true;
  const auto engine = find_choice<nn::EngineId>(name.get<std::string>());
  if (!engine)
    return std::nullopt;
  timing.engine = *engine;
  for (const auto &[e, s] : seconds.items())
  {
    const auto id = find_choice<nn::EngineId>(e);
    if (!id || !s.is_number() || !(s.get<double>() > 0 && std::isfinite(s.get<double>())))
      return std::nullopt;
    timing.seconds.emplace_back(*id, s.get<double>());
  }
  if (it->contains("measured_at") && (*it)["measured_at"].is_number())
    timing.measured_at = (*it)["measured_at"].get<double>();
  if (it->contains("rounds") && (*it)["rounds"].is_number_integer())
    timing.rounds = (*it)["rounds"].get<int>();
  std::sort(timing.seconds.begin(), timing.seconds.end(),
            [](const auto &a, const auto &b) { return a.first.index < b.first.index; });
  if (timing.of(timing.engine) == 0)
    return std::nullopt;
  return timing;
}

std::string cache_engine(const std::string &path, const std::string &key, const EngineTiming &timing)
{
  namespace fs = std::filesystem;
  if (path.empty())
    return "neither XDG_CACHE_HOME nor HOME is set";
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return "cannot create " + fs::path(path).parent_path().string() + ": " + ec.message();
  auto cache = read_cache(path);
  nlohmann::json seconds = nlohmann::json::object();
  for (const auto &[e, t] : timing.seconds)
    seconds[name_of(e)] = t;
  cache[key] = {{"engine", name_of(timing.engine)}, {"seconds", seconds}, {"measured_at", timing.measured_at}, {"rounds", timing.rounds}};
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp);
    out << cache.dump(1) << '\n';
    if (!out.flush())
    {
      fs::remove(tmp, ec);
      return "cannot write " + tmp + ": " + std::strerror(errno);
    }
  }
  fs::rename(tmp, path, ec);
  if (ec)
  {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    return "cannot write " + path + ": " + why;
  }
  return "";
}
double runner_up_ratio(const EngineTiming &timing)
{
  std::vector<double> t;
  for (const auto &[e, s] : timing.seconds)
    if (s > 0)
      t.push_back(s);
  if (t.size() < 2)
    return std::numeric_limits<double>::infinity();
  std::sort(t.begin(), t.end());
  return t[1] / t[0];
}

std::string stale_reason(const EngineTiming &cached, double now)
{
  if (runner_up_ratio(cached) < close_ratio && cached.rounds < max_rounds)
    return fmt::format("the cached times were within {:.0f} % in {} round{}", 100 * (close_ratio - 1), cached.rounds,
                       cached.rounds == 1 ? "" : "s");
  if (!(cached.measured_at > 0))
    return "the cached entry did not say when it was measured";
  const double days = (now - cached.measured_at) / 86400;
  if (days > stale_days)
    return fmt::format("the cached entry was {:.0f} days old", days);
  return "";
}

std::string describe(const EngineTiming &timing, const std::string &path, const std::string &cache_error)
{
  std::string s = std::string("auto: ") + (timing.cached ? "cached" : "timed");
  if (!timing.cached && timing.rounds > 1)
    s += fmt::format(" ({} rounds: within {:.0f} %)", timing.rounds, 100 * (close_ratio - 1));
  for (std::size_t i = 0; i < timing.seconds.size(); ++i)
    s += fmt::format("{} {} {:.3g} ms", i == 0 ? "" : ",", name_of(timing.seconds[i].first),
                     1e3 * timing.seconds[i].second);
  s += " a step";
  if (!timing.retimed.empty())
    s += " (re-timed: " + timing.retimed + ")";
  if (!cache_error.empty())
    s += ", not kept: " + cache_error;
  else if (!path.empty())
    s += (timing.cached ? ", from " : ", kept in ") + path;
  return s;
}
} // namespace amk::train
