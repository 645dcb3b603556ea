// amk eval: energy distance, MMD and exact W1 and W2 between sampled trajectories and the
// data snapshots at the same times; for weighted particles (unbalanced AM: /log_weights) the weighted
// distances against the data's masses, and the total mass against the data's. With
// --velocity, the learned velocity against the true one of a built-in path with a known
// field (written by amk datagen as the data's amk_path attribute), on the data's samples,
// or of a field given at points (--points, --field: amk field's output, or another code's).
#include "choice_option.hpp"
#include "commands.hpp"
#include <amk/core/json.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>
#include <amk/examples/closed_forms.hpp>
#include <amk/examples/hydrogen.hpp>
#include <amk/metrics/distances.hpp>
#include <amk/metrics/velocity_error.hpp>
#include <amk/metrics/wasserstein.hpp>
#include <amk/sample/model.hpp>
#include <amk/train/checkpoint.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

namespace amk::app
{
namespace
{
/// The built-in paths whose true velocity amk eval knows.
enum class KnownField
{
  harmonic,
  hydrogen
};
const std::vector<Named<KnownField>> &choices(KnownField)
{
  static const std::vector<Named<KnownField>> table = {{KnownField::harmonic, "harmonic"},
                                                       {KnownField::hydrogen, "hydrogen"}};
  return table;
}

struct EvalOptions
{
  std::string data, samples, out, checkpoint, points, field;
  std::optional<KnownField> velocity; ///< the true velocity to compare with (none: no field error)
  sample::Weights weights = sample::Weights::ema;
  sample::InferenceEngine engine;
  metrics::MmdKernel mmd_kernel = metrics::MmdKernel::multiscale;
  double alpha = 1e-4;
  bool alpha_given = false, engine_given = false, weights_given = false;
  double exclude_nodal = -1; ///< < 0: the default, 2 % for a field with nodes
  std::int64_t max_samples = 2000;
  bool wasserstein = true; ///< exact W1 and W2 beside the energy distance and MMD
  bool growth = false;      ///< the learned growth rate per snapshot (unbalanced AM)
  io::ImportOptions import;
};

/// The true velocity of the data's built-in path (its amk_path attribute), and for a field
/// with nodes (hydrogen) a point's distance to the nodal set, |ψ|/|∇ψ| to first order, and
/// the squared speed of the part no density shows (Hydrogen::hidden_circulation).
metrics::ReferenceField true_field(const std::string &file, KnownField known)
{
  const std::string name = name_of(known);
  const io::H5Reader r(file);
  require(r.has_attr("amk_path"), file + ": has no amk_path attribute (the parameters amk datagen " + name +
                                      " writes); --velocity needs data from amk datagen " + name);
  nlohmann::json j = nlohmann::json::parse(r.read_string_attr("amk_path"), nullptr, false);
  require(j.is_object() && j.value("name", std::string()) == name,
          file + ": its amk_path attribute is not from amk datagen " + name);
  if (known == KnownField::harmonic)
  {
    const auto p = examples::HarmonicPacket::from_json(j);
    return {[p](const double *x, double T, double *v) { p.velocity(x, T, v); }, {}, {}};
  }
  const auto h = examples::Hydrogen::from_json(j);
  return {[h](const double *x, double T, double *v) { h.velocity(x, T, v); },
          [h](const double *x, double T) { return h.node_distance(x, T); },
          [h](const double *x, double T) { return h.hidden_circulation(x, T); }};
}


/// The checkpoint's velocity on up to max_samples of every snapshot's samples.
template <class Scalar>
metrics::FieldAtPoints checkpoint_field(const EvalOptions &o, const io::Checkpoint &checkpoint, const data::SnapshotData &data)
{
  const DefaultExec space;
  sample::ActionModel<Scalar> model(space, checkpoint, o.weights == sample::Weights::ema, 8192, false, o.engine);
  const std::int64_t d = data.dim;
  require(model.shape().dim == d,
          fmt::format("eval: {} has d = {} but {} has d = {}", o.checkpoint, model.shape().dim, o.data, d));
  metrics::FieldAtPoints f;
  for (std::int64_t k = 0; k < data.snapshots(); ++k)
    for (std::int64_t i = data.offsets[k]; i < std::min(data.offsets[k + 1], data.offsets[k] + o.max_samples); ++i)
    {
      f.x.insert(f.x.end(), data.x.begin() + i * d, data.x.begin() + (i + 1) * d);
      f.t.push_back(data.times[k]);
    }
  f.velocity = sample::field_at(space, model, f.x, f.t).velocity;
  return f;
}

/// Unbalanced AM's learned per-capita growth rate g(x, T) = d log w/dT = κ s̃ / span (the
/// sampler's weight equation in physical time; s̃ = s / (scale²/span)) averaged over each
/// snapshot's samples (weighted by their masses), beside the data's own rate d log M/dT from
/// the snapshot masses (central differences; one-sided at the ends).
template <class Scalar>
nlohmann::json growth_rates(const EvalOptions &o, const io::Checkpoint &checkpoint, const data::SnapshotData &data)
{
  const DefaultExec space;
  sample::ActionModel<Scalar> model(space, checkpoint, o.weights == sample::Weights::ema, 8192, false, o.engine);
  require(model.objective().kind == am::LossKind::unbalanced,
          "eval: --growth needs an unbalanced AM checkpoint (amk train --loss uam); " + o.checkpoint + " is " +
              name_of(model.objective().kind));
  require(model.shape().dim == data.dim,
          fmt::format("eval: {} has d = {} but {} has d = {}", o.checkpoint, model.shape().dim, o.data, data.dim));
  const double per_action = model.growth_per_action();
  const std::int64_t K = data.snapshots(), d = data.dim;
  nlohmann::json rows = nlohmann::json::array();
  for (std::int64_t k = 0; k < K; ++k)
  {
    const std::int64_t begin = data.offsets[k], n = std::min(data.offsets[k + 1] - begin, o.max_samples);
    const std::vector<double> x(data.x.begin() + begin * d, data.x.begin() + (begin + n) * d);
    const auto f = sample::field_at(space, model, x, std::vector<double>(std::size_t(n), data.times[k]));
    double sum_w = 0, mean = 0, square = 0;
    for (std::int64_t i = 0; i < n; ++i)
    {
      const double w = data.mass.empty() ? 1.0 : data.mass[std::size_t(begin + i)];
      const double g = per_action * f.s[std::size_t(i)];
      sum_w += w;
      mean += w * g;
      square += w * g * g;
    }
    mean /= sum_w;
    nlohmann::json row = {{"time", data.times[k]}, {"learned_rate", mean},
                          {"learned_rate_sd", std::sqrt(std::max(0.0, square / sum_w - mean * mean))}};
    if (data.has_mass() && K >= 2)
    {
      const std::int64_t a = std::max<std::int64_t>(k - 1, 0), b = std::min(k + 1, K - 1);
      row["data_rate"] = std::log(data.total_mass(b) / data.total_mass(a)) / (data.times[b] - data.times[a]);
    }
    rows.push_back(row);
  }
  return {{"per_snapshot", rows},
          {"rate", "per-capita growth rate d log w/dT in the data's time units: the checkpoint's mean over each "
                   "snapshot's samples (sd across them); data_rate = d log M/dT from the snapshot masses (central "
                   "differences, one-sided at the ends)"}};
}

/// A field computed elsewhere (amk field, another code): --points (/x, /t) and --field (/grad_x).
metrics::FieldAtPoints file_field(const EvalOptions &o, std::int64_t d)
{
  auto points = read_points(o.points, d);
  const io::H5Reader in(o.field);
  require(in.has("/grad_x"), o.field + ": missing dataset /grad_x [n, d] (the velocity at --points)");
  require(in.shape("/grad_x") == std::vector<std::int64_t>({points.n, d}),
          fmt::format("{}: /grad_x must have shape [{}, {}] like /x of {}", o.field, points.n, d, o.points));
  metrics::FieldAtPoints f{std::move(points.x), std::move(points.t), in.read_f64("/grad_x")};
  for (double v : f.velocity)
    require(std::isfinite(v), o.field + ": /grad_x holds NaN or Inf");
  return f;
}

/// The learned velocity's error against the data's true one (metrics/velocity_error.hpp).
nlohmann::json velocity_error(const EvalOptions &o, const metrics::FieldAtPoints &learned, std::int64_t d)
{
  const auto field = true_field(o.data, *o.velocity);
  require(o.exclude_nodal < 0 || field.node_distance,
          "eval: --exclude-nodal applies to a field with nodes (--velocity hydrogen)");
  // leave out the fraction of points nearest the nodal set, where ∇ arg ψ diverges
  nlohmann::json report = {{"field", name_of(*o.velocity)}};
  report.update(to_json(metrics::velocity_error(learned, field, d, o.exclude_nodal < 0 ? 0.02 : o.exclude_nodal)));
  return report;
}

/// The first `max` entries of w as device weights (empty w: none).
metrics::Weights<> weights_to_device(const std::vector<double> &w, std::int64_t max)
{
  if (w.empty())
    return {};
  Kokkos::View<double *, Kokkos::HostSpace> h("amk::eval::weights", std::min<std::int64_t>(w.size(), max));
  for (std::size_t i = 0; i < h.extent(0); ++i)
    h(i) = w[i];
  return Kokkos::create_mirror_view_and_copy(DefaultExec::memory_space(), h);
}

/// The first `max` rows of an (n × d) row-major block as a device sample set.
metrics::Samples<> to_device(const double *rows, std::int64_t n, std::int64_t d, std::int64_t max)
{
  const std::int64_t m = std::min(n, max);
  Kokkos::View<double **, Kokkos::LayoutRight, Kokkos::HostSpace> h("amk::eval::host", m, d);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t r = 0; r < d; ++r)
      h(i, r) = rows[i * d + r];
  return Kokkos::create_mirror_view_and_copy(DefaultExec::memory_space(), h);
}

/// Energy distance, MMD (and masses) of o.samples against the data at matching times.
nlohmann::json distances(const EvalOptions &o, const data::SnapshotData &data)
{
  const DefaultExec space;
  io::H5Reader in(o.samples);
  require(in.has("/times") && in.has("/x"), o.samples + ": needs /times [M] and /x [M, n, d] (amk sample output)");
  const auto ts = in.shape("/times"), xs = in.shape("/x");
  require(ts.size() == 1 && xs.size() == 3 && xs[0] == ts[0],
          o.samples + ": /x must have shape [M, n, d] with M = length of /times");
  require(xs[2] == data.dim, fmt::format("{}: d = {} but {} has d = {}", o.samples, xs[2], o.data, data.dim));
  require(xs[1] >= 2, o.samples + ": needs at least 2 samples per time");
  const auto times = in.read_f64("/times");
  const auto x = in.read_f64("/x");
  for (double v : times)
    require(std::isfinite(v), o.samples + ": /times holds NaN or Inf");
  for (double v : x)
    require(std::isfinite(v), o.samples + ": /x holds NaN or Inf");
  const std::int64_t n = xs[1], d = xs[2];
  const double tol = 1e-9 * (data.times.back() - data.times.front());
  std::vector<double> log_weights; // [M, n] when the particles carry weights
  const bool weighted = in.has("/log_weights");
  if (weighted)
  {
    require(in.shape("/log_weights") == std::vector<std::int64_t>({xs[0], n}),
            o.samples + ": /log_weights must have shape [M, n] like /x's first two");
    log_weights = in.read_f64("/log_weights");
    for (double v : log_weights)
      require(std::isfinite(v), o.samples + ": /log_weights holds NaN or Inf");
  }

  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < times.size(); ++i)
    for (std::int64_t k = 0; k < data.snapshots(); ++k)
      if (std::abs(times[i] - data.times[k]) <= tol)
      {
        const auto X = to_device(x.data() + i * n * d, n, d, o.max_samples);
        const std::int64_t begin = data.offsets[k], nk = data.offsets[k + 1] - begin;
        require(nk >= 2, fmt::format("{}: snapshot {} has fewer than 2 samples", o.data, k));
        const auto Y = to_device(data.x.data() + begin * d, nk, d, o.max_samples);
        std::vector<double> a, b; // particle weights (relative), the data's masses
        double mass = 0;
        if (weighted)
        {
          const double *lw = log_weights.data() + i * n;
          const double top = *std::max_element(lw, lw + n);
          for (std::int64_t c = 0; c < n; ++c)
          {
            a.push_back(std::exp(lw[c] - top));
            mass += std::exp(lw[c]);
          }
        }
        if (!data.mass.empty())
          b.assign(data.mass.begin() + begin, data.mass.begin() + begin + nk);
        const auto A = weights_to_device(a, o.max_samples), Bw = weights_to_device(b, o.max_samples);
        nlohmann::json entry = {{"time", times[i]},
                                {"snapshot", k},
                                {"samples", X.extent(0)},
                                {"reference_samples", Y.extent(0)},
                                {"energy_distance", metrics::energy_distance(space, X, Y, A, Bw)},
                                {"mmd2", o.mmd_kernel == metrics::MmdKernel::reference
                                             ? metrics::mmd2_fixed(space, X, Y, std::vector<double>(std::size_t(d), o.alpha), A, Bw)
                                             : metrics::mmd2(space, X, Y, A, Bw)}};
        if (o.wasserstein)
        { // exact OT on the same subsets, both normalised to a probability
          const std::int64_t nx = X.extent(0), ny = Y.extent(0);
          const auto w = metrics::wasserstein(std::vector<double>(x.data() + i * n * d, x.data() + i * n * d + nx * d), nx,
                                              std::vector<double>(data.x.data() + begin * d, data.x.data() + (begin + ny) * d),
                                              ny, d, std::vector<double>(a.begin(), a.begin() + std::min<std::int64_t>(a.size(), nx)),
                                              std::vector<double>(b.begin(), b.begin() + std::min<std::int64_t>(b.size(), ny)));
          entry["w1"] = w.w1;
          entry["w2"] = w.w2;
        }
        if (weighted)
        {
          entry["mass"] = mass;
          entry["reference_mass"] = data.total_mass(k);
          entry["mass_error"] = std::abs(mass - data.total_mass(k)) / data.total_mass(k);
        }
        results.push_back(entry);
      }
  require(!results.empty(), o.samples + ": none of its /times matches a snapshot time of " + o.data);
  return results;
}

int run_eval(const EvalOptions &o)
{
  require(!o.samples.empty() || o.velocity || o.growth,
          "eval: give --samples (distances), --velocity (field error) and/or --growth (growth rates)");
  const bool from_file = !o.points.empty() || !o.field.empty();
  require(o.points.empty() == o.field.empty(), "eval: --points and --field go together (the points and the field there)");
  require(!from_file || o.checkpoint.empty(), "eval: give the learned field as --checkpoint or as --points and --field, not both");
  require(!o.velocity || !o.checkpoint.empty() || from_file,
          "eval: --velocity needs --checkpoint (or --points and --field: the learned field)");
  require(!o.growth || !o.checkpoint.empty(), "eval: --growth needs --checkpoint (an unbalanced AM run)");
  require(from_file ? bool(o.velocity) : (o.checkpoint.empty() || o.velocity || o.growth),
          "eval: --checkpoint is read with --velocity or --growth; --points and --field with --velocity");
  require(!o.alpha_given || (o.mmd_kernel == metrics::MmdKernel::reference && !o.samples.empty()),
          "eval: --alpha sets the kernel of --mmd-kernel reference (with --samples)");
  require((!o.engine_given && !o.weights_given) || !o.checkpoint.empty(),
          "eval: --engine and --weights apply to the network of --checkpoint");
  const auto data = io::read_data(o.data, o.import);
  nlohmann::json report = {{"data", o.data}};
  if (!o.samples.empty())
  {
    report["samples"] = o.samples;
    report["results"] = distances(o, data);
    double avg = 0; // the reference code's avg_mmd: |MMD²| averaged over the compared times
    for (const auto &r : report["results"])
      avg += std::abs(r["mmd2"].get<double>()) / double(report["results"].size());
    report["mmd_kernel"] = o.mmd_kernel == metrics::MmdKernel::reference ? fmt::format("sum of d exp(-{} |x-y|^2)", o.alpha)
                                                       : std::string("multiscale RBF");
    report["avg_abs_mmd2"] = avg;
    if (o.wasserstein)
      report["wasserstein"] = "exact OT (network simplex) between the two sets, each normalised to a probability "
                              "(uniform, or the particles' weights and the data's masses), in the data's own "
                              "coordinates; w1 with cost |x - y|, w2 with |x - y|^2 (its square root)";
  }
  if (o.velocity && from_file)
  {
    report["points"] = o.points;
    report["field"] = o.field;
    report["velocity"] = velocity_error(o, file_field(o, data.dim), data.dim);
  }
  else if (o.velocity)
  {
    const auto checkpoint = train::load_checkpoint(o.checkpoint);
    report["checkpoint"] = o.checkpoint;
    train::with_precision(checkpoint, [&](auto scalar)
                          { report["velocity"] = velocity_error(o, checkpoint_field<decltype(scalar)>(o, checkpoint, data), data.dim); });
    report["velocity"]["weights"] = name_of(o.weights);
  }
  if (o.growth)
  {
    const auto checkpoint = train::load_checkpoint(o.checkpoint);
    report["checkpoint"] = o.checkpoint;
    train::with_precision(checkpoint, [&](auto scalar)
                          { report["growth"] = growth_rates<decltype(scalar)>(o, checkpoint, data); });
  }
  std::cout << to_text(report) << std::endl;
  if (!o.out.empty())
  {
    std::ofstream f(o.out + ".tmp");
    f << report.dump(2) << '\n';
    f.close();
    require(bool(f), "eval: cannot write " + o.out);
    std::filesystem::rename(o.out + ".tmp", o.out);
  }
  return 0;
}
} // namespace

Action add_eval(CLI::App &app)
{
  auto *cmd = app.add_subcommand("eval", "Energy distance, MMD and W1/W2 of sampled trajectories against the data snapshots");
  auto o = std::make_shared<EvalOptions>();
  cmd->add_option("--data", o->data, "Snapshot file (the reference): amk HDF5 or .csv")->required();
  add_import_options(cmd, o->import);
  cmd->add_option("--samples", o->samples,
                  "Output of amk sample (/times, /x): energy distance, MMD and exact W1, W2 at each snapshot time");
  cmd->add_flag("!--no-wasserstein", o->wasserstein, "Skip the exact W1 and W2 (O(n^2) memory, about 1 s at 2000 samples)");
  add_choice(cmd, "--mmd-kernel", o->mmd_kernel,
             "multiscale (RBF at 1/4..4 of the data's scale) or reference (sum over j = 1..d of "
             "exp(-alpha |x-y|^2), the reference AM code's hydrogen metric)");
  auto *alpha = cmd->add_option("--alpha", o->alpha, "alpha of --mmd-kernel reference")
                    ->check(CLI::PositiveNumber)
                    ->capture_default_str();
  add_choice(cmd, "--velocity", o->velocity,
             "harmonic or hydrogen: the relative L2 error of the learned velocity (--checkpoint) against the "
             "data's true Bohmian velocity, on the data's samples (up to --max-samples per snapshot)",
             false);
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written by amk train (with --velocity or --growth)");
  cmd->add_flag("--growth", o->growth,
                "with --checkpoint of an unbalanced AM run: its per-capita growth rate averaged over each snapshot's "
                "samples (up to --max-samples), beside the data's d log M/dT from the snapshot masses");
  cmd->add_option("--points", o->points,
                  "with --velocity, instead of --checkpoint: points /x [n, d], /t [n] (as for amk field) where "
                  "--field gives a learned velocity (e.g. another code's)");
  cmd->add_option("--field", o->field, "with --points: HDF5 file with /grad_x [n, d], the velocity at the points "
                                       "(amk field output)");
  cmd->add_option("--exclude-nodal", o->exclude_nodal,
                  "with --velocity hydrogen: the fraction of points nearest the nodal set (smallest |psi|/|grad psi|, "
                  "where grad arg psi diverges) left out (default 0.02)")
      ->check(CLI::Range(0.0, 0.5));
  auto *weights = add_weights(cmd, o->weights, "with --checkpoint: ema or raw");
  cmd->add_option("--max-samples", o->max_samples, "Use at most this many samples per set")->capture_default_str();
  auto *engine = add_inference_engine(cmd, o->engine);
  cmd->add_option("--out", o->out, "Also write the JSON report to this file");
  return [o, alpha, engine, weights]()
  {
    o->alpha_given = alpha->count() > 0;
    o->engine_given = engine->count() > 0;
    o->weights_given = weights->count() > 0;
    return dist::Comm::world().root() ? run_eval(*o) : 0;
  };
}
} // namespace amk::app
