// The option table of `amk train` (train/options.hpp): the rows, and everything generated
// from them.
#include <amk/core/error.hpp>
#include <amk/core/json.hpp>
#include <amk/io/import.hpp>
#include <amk/train/options.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <type_traits>
#include <utility>

namespace amk::train
{
namespace
{
using json = nlohmann::json;

/// A type with a table of names (core/choice.hpp).
template <class T, class = void> struct is_named : std::false_type
{
};
template <class T> struct is_named<T, std::void_t<decltype(choices(std::declval<T>()))>> : std::true_type
{
};

std::string one_word(const std::vector<std::string> &words, const std::string &flag)
{
  require(words.size() == 1, "train: " + flag + " takes one value");
  return words[0];
}

double real(const std::string &word, const std::string &flag)
{
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(word.c_str(), &end);
  require(!word.empty() && end == word.c_str() + word.size() && errno != ERANGE,
          "train: " + flag + " must be a number (got '" + word + "')");
  return v;
}

/// How a field of type T is read from words, written to and read from JSON, and shown.
template <class T, class = void> struct Codec;

template <class T> struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
{
  static constexpr Option::Arity arity = Option::Arity::one;
  static std::string value_names() { return std::is_signed_v<T> ? "INT" : "UINT"; }
  static T parse(const std::vector<std::string> &words, const std::string &flag)
  {
    const std::string w = one_word(words, flag);
    T v{};
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    require(!w.empty() && ec == std::errc() && end == w.data() + w.size(),
            "train: " + flag + " must be a whole number" + (std::is_signed_v<T> ? "" : " >= 0") + " in range (got '" +
                w + "')");
    return v;
  }
  static json to_json(T v) { return v; }
  static T from_json(const json &j, const std::string &key) { return json_integer<T>(j, key); }
  static std::string text(T v) { return std::to_string(v); }
};

template <> struct Codec<double>
{
  static constexpr Option::Arity arity = Option::Arity::one;
  static std::string value_names() { return "FLOAT"; }
  static double parse(const std::vector<std::string> &words, const std::string &flag)
  {
    return real(one_word(words, flag), flag);
  }
  static json to_json(double v) { return v; }
  static double from_json(const json &j, const std::string &key)
  {
    if (!(j.is_number()))
      throw Error("'" + key + "' is not a number: " + to_text(j));
    return j.get<double>();
  }
  static std::string text(double v) { return fmt::format("{}", v); }
};

template <> struct Codec<bool> // a flag: given means true
{
  static constexpr Option::Arity arity = Option::Arity::flag;
  static std::string value_names() { return ""; }
  static bool parse(const std::vector<std::string> &, const std::string &) { return true; }
  static json to_json(bool v) { return v; }
  static bool from_json(const json &j, const std::string &key)
  {
    if (!(j.is_boolean()))
      throw Error("'" + key + "' is not true or false: " + to_text(j));
    return j.get<bool>();
  }
  static std::string text(bool) { return ""; }
};

template <> struct Codec<std::string>
{
  static constexpr Option::Arity arity = Option::Arity::one;
  static std::string value_names() { return "TEXT"; }
  static std::string parse(const std::vector<std::string> &words, const std::string &flag)
  {
    return one_word(words, flag);
  }
  static json to_json(const std::string &v) { return v; }
  static std::string from_json(const json &j, const std::string &key)
  {
    if (!(j.is_string()))
      throw Error("'" + key + "' is not a string: " + to_text(j));
    return j.get<std::string>();
  }
  static std::string text(const std::string &v) { return v; }
};

template <> struct Codec<std::vector<double>>
{
  static constexpr Option::Arity arity = Option::Arity::many;
  static std::string value_names() { return "FLOAT"; } // CLI11 adds "..."
  static std::vector<double> parse(const std::vector<std::string> &words, const std::string &flag)
  {
    require(!words.empty(), "train: " + flag + " needs at least one value");
    std::vector<double> v;
    for (const auto &w : words)
      v.push_back(real(w, flag));
    return v;
  }
  static json to_json(const std::vector<double> &v) { return v; }
  static std::vector<double> from_json(const json &j, const std::string &key)
  {
    if (!(j.is_array()))
      throw Error("'" + key + "' is not a list of numbers: " + to_text(j));
    std::vector<double> v;
    for (const auto &x : j)
      v.push_back(Codec<double>::from_json(x, key));
    return v;
  }
  static std::string text(const std::vector<double> &v)
  {
    std::string s;
    for (double x : v)
      s += (s.empty() ? "" : " ") + Codec<double>::text(x);
    return s;
  }
};

template <class E> struct Codec<E, std::enable_if_t<is_named<E>::value>>
{
  static constexpr Option::Arity arity = Option::Arity::one;
  static std::string value_names()
  {
    std::string s;
    for (const auto &c : choices(E{}))
      if (*c.name)
        s += (s.empty() ? "{" : ",") + std::string(c.name);
    return s + "}";
  }
  static E parse(const std::vector<std::string> &words, const std::string &flag)
  {
    return parse_choice<E>(one_word(words, flag), "train: " + flag);
  }
  static json to_json(E v) { return name_of(v); }
  static E from_json(const json &j, const std::string &key)
  {
    if (!(j.is_string()))
      throw Error("'" + key + "' is not a string: " + to_text(j));
    return parse_choice<E>(j.get<std::string>(), "'" + key + "'");
  }
  static std::string text(E v) { return name_of(v); }
};

/// A named choice or auto (nullopt).
template <class E> struct Codec<std::optional<E>, std::enable_if_t<is_named<E>::value>>
{
  static constexpr Option::Arity arity = Option::Arity::one;
  static std::string value_names() { return "{auto," + Codec<E>::value_names().substr(1); }
  static std::optional<E> parse(const std::vector<std::string> &words, const std::string &flag)
  {
    const std::string w = one_word(words, flag);
    if (w == "auto")
      return std::nullopt;
    if (const auto e = find_choice<E>(w))
      return e;
    throw Error("train: " + flag + " must be " + name_list<E>("auto") + " (got '" + w + "')");
  }
  static json to_json(const std::optional<E> &v) { return v ? name_of(*v) : "auto"; }
  static std::optional<E> from_json(const json &j, const std::string &key)
  {
    if (!(j.is_string()))
      throw Error("'" + key + "' is not a string: " + to_text(j));
    const std::string w = j.get<std::string>();
    return w == "auto" ? std::nullopt : std::optional<E>(parse_choice<E>(w, "'" + key + "'"));
  }
  static std::string text(const std::optional<E> &v) { return v ? name_of(*v) : "auto"; }
};

/// A row for the field that `field` (RunSpec& → T&) names.
template <class Field>
Option row(const char *name, const char *json_at, Field field, std::string help,
           Option::Resume resume = Option::Resume::fixed)
{
  using T = std::remove_reference_t<decltype(field(std::declval<RunSpec &>()))>;
  using C = Codec<T>;
  const std::string flag = std::string("--") + name, key = *json_at == '/' ? json_at + 1 : json_at; // "network/width"
  Option o;
  o.name = name;
  o.json = json_at;
  o.help = std::move(help);
  o.value_names = C::value_names();
  RunSpec defaults;
  o.default_text = C::text(field(defaults));
  o.arity = C::arity;
  o.resume = resume;
  o.parse = [field, flag](RunSpec &s, const std::vector<std::string> &words) { field(s) = C::parse(words, flag); };
  o.get = [field](const RunSpec &s) { return C::to_json(field(const_cast<RunSpec &>(s))); };
  o.set = [field, key](RunSpec &s, const json &j) { field(s) = C::from_json(j, key); };
  return o;
}

/// A flag that sets a boolean field to false (--no-normalise: normalise = false).
template <class Field> Option negated_flag(const char *name, const char *json_at, Field field, std::string help)
{
  Option o = row(name, json_at, field, std::move(help));
  o.parse = [field](RunSpec &s, const std::vector<std::string> &) { field(s) = false; };
  return o;
}

Option &&applies(Option &&o, std::string text, std::function<bool(const RunSpec &)> when, bool needs_dimension = false)
{
  o.applies_text = std::move(text);
  o.applies = std::move(when);
  o.applies_needs_dimension = needs_dimension;
  return std::move(o);
}
Option &&check(Option &&o, std::function<std::string(const RunSpec &)> c)
{
  o.check = std::move(c);
  return std::move(o);
}
Option &&absent(Option &&o, json value)
{
  o.absent = std::move(value);
  return std::move(o);
}
std::string need(bool ok, const std::string &message) { return ok ? std::string() : message; }

#define AMK_FIELD(member) [](RunSpec & s) -> auto & { return s.member; }

bool eam(const RunSpec &s) { return s.loss == am::LossKind::entropic; }
bool coupled(const RunSpec &s) { return s.time_mode() == am::TimeMode::coupled; }

std::vector<Option> make_table()
{
  using R = Option::Resume;
  std::vector<Option> t;
  t.push_back(row("data", "/data", AMK_FIELD(data),
                  "Snapshot file: amk's HDF5 (see README: /times, /x, /offsets), a CSV table or an AnnData .h5ad",
                  R::resumable));
  const auto table = [](const RunSpec &s) { return !s.builtin() && io::format_of(s.data) != io::DataFormat::amk; };
  // (absent from checkpoints written before tables could be read: their defaults)
  t.push_back(absent(applies(row("time-column", "/time_column", AMK_FIELD(time_column),
                                 "--data table: the column of the time (default: the first; .h5ad: an obs column)"),
                             "a table (--data .csv, .h5ad) only (an amk HDF5 file has its own /times)", table),
                     ""));
  t.push_back(absent(applies(row("embedding", "/embedding", AMK_FIELD(embedding),
                                 "--data .h5ad: the /obsm embedding (default: X_pca, else a dense X)"),
                             "an AnnData file (--data .h5ad) only",
                             [](const RunSpec &s) { return !s.builtin() && io::format_of(s.data) == io::DataFormat::h5ad; }),
                     ""));
  t.push_back(absent(check(applies(row("dims", "/dims", AMK_FIELD(dims),
                                       "--data table: keep its first N coordinates (0: all)"),
                                   "a table (--data .csv, .h5ad) only", table),
                           [](const RunSpec &s) { return need(s.dims >= 0, "train: --dims must be non-negative"); }),
                     0));
  t.push_back(row("path", "/path", AMK_FIELD(path), "Train on a built-in path instead of --data"));
  Option dim = applies(row("dim", "/network/dim", AMK_FIELD(network.dim), "Dimension of the built-in --path"),
                       "a built-in --path only (a --data file has its own dimension)",
                       [](const RunSpec &s) { return s.builtin(); });
  dim.set_by_data = true;
  t.push_back(std::move(dim));
  const auto builtin = [](const RunSpec &s) { return s.builtin(); };
  t.push_back(applies(row("t0", "/path_t0", AMK_FIELD(path_t0), "Start time of the built-in --path (its units)"),
                      "a built-in --path only (a --data file carries its own /times)", builtin));
  t.push_back(applies(row("t1", "/path_t1", AMK_FIELD(path_t1), "End time of the built-in --path (its units)"),
                      "a built-in --path only (a --data file carries its own /times)", builtin));
  t.push_back(applies(negated_flag("no-normalise", "/normalise", AMK_FIELD(normalise),
                                   "Do not centre and scale x (the data is already of unit scale)"),
                      "--data only (a built-in path is drawn in its own units)",
                      [](const RunSpec &s) { return !s.builtin(); }));
  t.push_back(row("out", "/out", AMK_FIELD(out), "Output directory (checkpoint.h5, metrics.jsonl)", R::resumable));
  t.push_back(check(row("steps", "/steps", AMK_FIELD(steps), "Training steps", R::resumable),
                    [](const RunSpec &s) { return need(s.steps >= 1, "train: --steps must be at least 1"); }));
  t.push_back(check(row("batch", "/batch", AMK_FIELD(batch), "Interior samples per step (global, over all ranks)"),
                    [](const RunSpec &s) { return need(s.batch >= 1, "train: --batch must be at least 1"); }));
  t.push_back(check(row("boundary-batch", "/boundary_batch", AMK_FIELD(boundary_batch),
                        "Samples of q0 and of q1 per step (0: --batch)"),
                    [](const RunSpec &s)
                    { return need(s.boundary_batch >= 0, "train: --boundary-batch must be non-negative"); }));
  t.push_back(row("width", "/network/width", AMK_FIELD(network.width), "Hidden layer width"));
  t.push_back(row("depth", "/network/depth", AMK_FIELD(network.depth), "Hidden layers"));
  t.push_back(row("activation", "/network/activation", AMK_FIELD(network.activation),
                  "Smooth activation of the hidden layers (silu, tanh, softplus or gelu)"));
  t.push_back(row("time-features", "/network/time_features", AMK_FIELD(network.time_features),
                  "Fourier time feature pairs (sin, cos of 2 pi k t, k = 1..F, beside t)"));
  t.push_back(row("head", "/network/head", AMK_FIELD(network.head),
                  "scalar (s = net) or quadratic (s = |x - net|^2/2, the reference code's form)"));
  t.push_back(check(row("lr", "/lr", AMK_FIELD(adam.lr), "Adam learning rate", R::resumable),
                    [](const RunSpec &s)
                    { return need(s.adam.lr > 0 && std::isfinite(s.adam.lr), "train: --lr must be a positive number"); }));
  t.push_back(check(row("warmup", "/warmup", AMK_FIELD(adam.warmup), "Linear warm-up steps of the learning rate"),
                    [](const RunSpec &s) { return need(s.adam.warmup >= 0, "train: --warmup must be non-negative"); }));
  t.push_back(check(row("clip", "/clip", AMK_FIELD(adam.clip), "Global gradient-norm clip (0: off)"),
                    [](const RunSpec &s)
                    { return need(std::isfinite(s.adam.clip) && s.adam.clip >= 0, "train: --clip must be >= 0 (0: off)"); }));
  t.push_back(check(row("ema", "/ema", AMK_FIELD(adam.ema), "EMA decay of the weights (0: the last weights)"),
                    [](const RunSpec &s)
                    { return need(s.adam.ema >= 0 && s.adam.ema < 1, "train: --ema must be in [0, 1)"); }));
  t.push_back(check(row("beta1", "/beta1", AMK_FIELD(adam.beta1), "Adam beta1 (first-moment decay)"),
                    [](const RunSpec &s)
                    { return need(s.adam.beta1 >= 0 && s.adam.beta1 < 1, "train: --beta1 must be in [0, 1)"); }));
  t.push_back(check(row("beta2", "/beta2", AMK_FIELD(adam.beta2), "Adam beta2 (second-moment decay)"),
                    [](const RunSpec &s)
                    { return need(s.adam.beta2 >= 0 && s.adam.beta2 < 1, "train: --beta2 must be in [0, 1)"); }));
  t.push_back(check(row("adam-eps", "/adam_eps", AMK_FIELD(adam.eps), "Adam epsilon (added to sqrt(v))"),
                    [](const RunSpec &s)
                    {
                      return need(s.adam.eps > 0 && std::isfinite(s.adam.eps),
                                  "train: --adam-eps must be a positive number");
                    }));
  t.push_back(absent(row("loss", "/loss", AMK_FIELD(loss),
                         "am (plain AM: an ODE), eam (entropic AM: an SDE with diffusion --sigma) or uam (unbalanced "
                         "AM: mass created and destroyed, from the data's /mass or /snapshot_mass)"),
                     "am")); // absent in checkpoints of amk <= 0.1
  t.push_back(absent(
      check(applies(row("sigma", "/sigma", AMK_FIELD(sigma),
                        "eam: sigma of dX = grad s dT + sigma dW in the data's units: one value (constant), two "
                        "(linear from the first to the last time) or one per snapshot"),
                    "--loss eam only", eam),
            [](const RunSpec &s)
            {
              for (double v : s.sigma)
                if (!(std::isfinite(v) && v > 0))
                  return fmt::format("train: --sigma must be positive and finite (got {})", v);
              return std::string();
            }),
      json::array()));
  t.push_back(absent(applies(row("laplacian", "/laplacian", AMK_FIELD(laplacian),
                                 "eam: exact (d sweeps), hutchinson (--probes), or auto (exact up to d = 16)"),
                             "--loss eam only", eam),
                     "auto"));
  const auto hutchinson = [](const RunSpec &s) { return eam(s) && s.laplacian_mode() == am::LaplacianMode::hutchinson; };
  t.push_back(absent(check(applies(row("probes", "/probes", AMK_FIELD(probes),
                                       "eam, Hutchinson Laplacian: random probes per sample"),
                                   "--loss eam with the Hutchinson Laplacian only", hutchinson, true),
                           [](const RunSpec &s)
                           { return need(s.probes >= 1 && s.probes <= 4096, "train: --probes must be in 1...4096"); }),
                     1));
  t.push_back(absent(applies(row("probe-dist", "/probe_dist", AMK_FIELD(probe_dist),
                                 "Hutchinson probes: rademacher or gaussian"),
                             "--loss eam with the Hutchinson Laplacian only", hutchinson, true),
                     "rademacher"));
  t.push_back(absent(
      check(applies(row("growth-length", "/growth_length", AMK_FIELD(growth_length),
                        "uam: the length L in the data's units that ties growth to transport: the action is "
                        "1/2 |grad s|^2 + 1/2 s^2/L^2 and the growth rate s/L^2 (Wasserstein-Fisher-Rao's delta); "
                        "0: 10x the data's scale (transport and growth both learned from the same s)"),
                    "--loss uam only", [](const RunSpec &s) { return s.loss == am::LossKind::unbalanced; }),
            [](const RunSpec &s)
            {
              return need(std::isfinite(s.growth_length) && s.growth_length >= 0,
                          "train: --growth-length must be >= 0 (0: 10x the data's scale)");
            }),
      1.0)); // amk before 2026-12 used L = 1 in the data's units
  t.push_back(absent(row("weight", "/weight", AMK_FIELD(weight),
                         "time weighting: none or linear (w = 1 - t, as the reference code's option)"),
                     "none"));
  t.push_back(absent(row("time", "/time", AMK_FIELD(time),
                         "time in the loss: auto (coupled for --data, continuous for --path), coupled (minibatch-OT "
                         "path between adjacent snapshots), nearest (nearest snapshot), quadrature (at the snapshot "
                         "times, --rule), continuous (a built-in --path)"),
                     "nearest")); // amk <= 0.1 trained with the nearest snapshot
  t.push_back(absent(applies(row("rule", "/rule", AMK_FIELD(rule), "quadrature rule: trapezoid, simpson or difference"),
                             "--time quadrature only",
                             [](const RunSpec &s) { return s.time_mode() == am::TimeMode::quadrature; }),
                     "trapezoid"));
  t.push_back(absent(applies(row("coupling", "/coupling", AMK_FIELD(coupling),
                                 "coupled paths: straight lines, or bridge (Brownian bridges of --sigma with the "
                                 "entropic OT coupling; --loss eam)"),
                             "--time coupled only", coupled),
                     "straight"));
  t.push_back(absent(check(applies(row("coupling-batch", "/coupling_batch", AMK_FIELD(coupling_batch),
                                       "coupled: samples per minibatch-OT chunk"),
                                   "--time coupled only", coupled),
                           [](const RunSpec &s)
                           { return need(s.coupling_batch >= 2, "train: --coupling-batch must be at least 2"); }),
                     512));
  t.push_back(absent(
      check(applies(row("coupling-epsilon", "/coupling_epsilon", AMK_FIELD(coupling_epsilon),
                        "coupled: the auction's resolution relative to the mean transport cost (an assignment optimal "
                        "within N eps mean cost); a Brownian bridge's entropic plan sharper than it is taken as the "
                        "assignment"),
                    "--time coupled only", coupled),
            [](const RunSpec &s)
            {
              return need(s.coupling_epsilon > 0 && std::isfinite(s.coupling_epsilon),
                          "train: --coupling-epsilon must be positive");
            }),
      1e-3));
  t.push_back(row("time-sampling", "/time_sampling", AMK_FIELD(time_sampling),
                  "interior times: low-discrepancy, stratified or uniform"));
  t.push_back(row("dtype", "/dtype", AMK_FIELD(dtype), "training precision: float or double"));
  t.push_back(absent(row("engine", "/engine", AMK_FIELD(engine),
                         "derivative engine: auto (every engine that fits timed on the first batch, the fastest "
                         "kept), gemm (library GEMMs, any size) or fused (one team kernel per step, narrow networks)"),
                     "auto")); // absent in checkpoints of amk <= 0.1
  t.push_back(row("seed", "/seed", AMK_FIELD(seed), "Random seed (weights, batches, couplings)"));
  t.push_back(check(applies(row("ranks-time", "", AMK_FIELD(ranks_time),
                                "MPI ranks: time windows of the rank grid P = time x sample (0: the largest divisor "
                                "of P up to the snapshot intervals; see README)",
                                R::layout),
                            "--data only (a built-in --path is drawn exactly at any time, not sharded)",
                            [](const RunSpec &s) { return !s.builtin(); }),
                    [](const RunSpec &s)
                    { return need(s.ranks_time >= 0, "train: --ranks-time must be at least 1 (or 0: chosen)"); }));
  t.push_back(check(row("log-every", "/log_every", AMK_FIELD(log_every), "Steps between log lines", R::resumable),
                    [](const RunSpec &s) { return need(s.log_every >= 1, "train: --log-every must be at least 1"); }));
  t.push_back(check(row("checkpoint-every", "/checkpoint_every", AMK_FIELD(checkpoint_every),
                        "Steps between checkpoints", R::resumable),
                    [](const RunSpec &s)
                    { return need(s.checkpoint_every >= 1, "train: --checkpoint-every must be at least 1"); }));
  t.push_back(absent(row("on-nan", "/on_nan", AMK_FIELD(on_nan),
                         "a step with a NaN or Inf loss or gradient: stop (naming the step; the last checkpoint is "
                         "kept) or skip its batch (no update, counted; 100 in a row stop the run)",
                         R::resumable),
                     "stop")); // absent in checkpoints before 2026-11-24
  return t;
}
#undef AMK_FIELD
} // namespace

const std::vector<Option> &options()
{
  static const std::vector<Option> table = make_table();
  return table;
}

const Option &option(const std::string &name)
{
  for (const auto &o : options())
    if (o.name == name)
      return o;
  throw Error("train: no option --" + name);
}

void validate(const RunSpec &s, const std::set<std::string> *given, bool dimension_known)
{
  require(s.data.empty() == s.builtin(), "train: give exactly one of --data FILE.h5 or --path gaussian");
  require(!s.out.empty(), "train: --out DIR is required");
  for (const auto &o : options())
    if (o.check)
      if (const std::string why = o.check(s); !why.empty())
        throw Error(why);
  for (const auto &o : options()) // an option that was set where it has no effect is refused, never ignored
  {
    if (!o.applies || (o.applies_needs_dimension && !dimension_known))
      continue;
    const bool set = given ? given->count(o.flag()) > 0 : !o.set_by_data && o.differs_from_default(s);
    require(!set || o.applies(s), "train: " + o.flag() + " applies to " + o.applies_text);
  }
  // the rules between options
  require(!s.builtin() || s.path_t1 > s.path_t0, "train: --t1 must be greater than --t0");
  require(!eam(s) || !s.sigma.empty(), "train: --loss eam needs --sigma (the diffusion coefficient, in the data's units)");
  const am::TimeMode mode = s.time_mode();
  require(!s.builtin() || mode == am::TimeMode::continuous,
          std::string("train: --time ") + name_of(mode) + " needs snapshots (--data); a built-in --path is continuous in time");
  require(s.builtin() || mode != am::TimeMode::continuous,
          "train: --time continuous needs a built-in --path (snapshots are not continuous in time)");
  require(!(s.rule == am::QuadratureRule::difference && s.weight != am::Weighting::none),
          "train: --rule difference takes no --weight");
  require(s.coupling != data::CouplingPath::bridge || eam(s),
          "train: --coupling bridge needs --loss eam (a diffusion sigma)");
  s.network.validate();
}

nlohmann::json to_json(const RunSpec &s)
{
  json j = json::object();
  for (const auto &o : options())
    if (!o.json.empty())
      j[json::json_pointer(o.json)] = o.get(s);
  return j;
}

RunSpec spec_from_json(const nlohmann::json &j)
try
{
  require(j.is_object(), "malformed configuration: not a JSON object");
  RunSpec s;
  for (const auto &o : options())
  {
    if (o.json.empty())
      continue;
    const json::json_pointer at(o.json);
    if (j.contains(at))
      o.set(s, j[at]);
    else
    {
      require(o.absent.has_value(), "malformed configuration: no '" + o.json.substr(1) + "'");
      o.set(s, *o.absent);
    }
  }
  s.network.validate();
  return s;
}
catch (const nlohmann::json::exception &e) // a checkpoint written by another tool or damaged
{
  throw Error(std::string("malformed configuration: ") + e.what());
}
catch (const Error &e)
{
  const std::string what = e.what();
  throw Error(what.rfind("malformed configuration", 0) == 0 ? what : "malformed configuration: " + what);
}

std::set<std::string> resumable_options()
{
  std::set<std::string> names;
  for (const auto &o : options())
    if (o.resume == Option::Resume::resumable)
      names.insert(o.flag());
  return names;
}

RunSpec resumed_spec(const nlohmann::json &checkpoint, const RunSpec &requested,
                     const std::optional<std::set<std::string>> &given)
try
{
  const RunSpec stored = spec_from_json(checkpoint);
  const json asked = to_json(requested);
  json merged = checkpoint;
  for (const auto &o : options())
  {
    if (o.json.empty() || (given && !given->count(o.flag())))
      continue;
    if (o.applies && !o.applies(stored))
      continue; // an option the checkpoint's run has no use for (the data's own dimension) cannot conflict
    const json::json_pointer at(o.json);
    if (!merged.contains(at))
      continue; // a field this checkpoint's amk did not store: it keeps the value it was trained with
    if (o.resume == Option::Resume::resumable)
      merged[at] = asked[at];
    else if (merged[at] != asked[at])
      throw Error(fmt::format("train: --resume cannot change {} (the checkpoint has {}, given {}); continue "
                              "without it or start a new run in another --out",
                              o.flag(), to_text(merged[at]), to_text(asked[at])));
  }
  RunSpec s = spec_from_json(merged);
  for (const auto &o : options())
    if (o.resume == Option::Resume::layout) // a run's layout, not its model
      o.set(s, o.get(requested));
  return s;
}
catch (const nlohmann::json::exception &e)
{
  throw Error(std::string("malformed configuration: ") + e.what());
}

} // namespace amk::train
