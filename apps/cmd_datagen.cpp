// amk datagen: snapshots of the built-in paths with closed forms (the tests' and the README's
// examples): gaussian (plain AM), ou (Ornstein–Uhlenbeck: entropic AM), growth (unbalanced AM),
// harmonic (a quantum wave packet's Bohmian dynamics, periodic), hydrogen (the paper's
// Schrödinger experiment).
#include "choice_option.hpp"
#include "commands.hpp"
#include <amk/core/json.hpp>
#include <amk/examples/closed_forms.hpp>
#include <amk/examples/hydrogen.hpp>
#include <amk/examples/gaussian_path.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/snapshot_file.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sstream>

namespace amk::app
{
namespace
{
/// The options every path shares: how many snapshots of how many samples, over which times.
struct Common
{
  int dim = 2, snapshots = 10;
  std::int64_t samples = 2000;
  double t0 = 0, t1 = 1;
  std::uint64_t seed = 0;
  bool float32 = false;
  std::string out;
};

void add_common(CLI::App *cmd, Common &o)
{
  cmd->add_option("--dim", o.dim, "Space dimension d")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--snapshots", o.snapshots, "Number of equally spaced snapshots K")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  cmd->add_option("--samples", o.samples, "Samples per snapshot N")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--t0", o.t0, "Physical time of the first snapshot")->capture_default_str();
  cmd->add_option("--t1", o.t1, "Physical time of the last snapshot")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd->add_flag("--float32", o.float32, "Store /x as float32");
  cmd->add_option("--out", o.out, "Output HDF5 file")->required();
}

/// \param path [in] the path's parameters as JSON (the amk_path attribute: what `amk eval
///                  --velocity` compares with), or empty
void write(const Common &o, const data::SnapshotData &snapshots, const std::string &source,
           const std::string &path = "")
{
  std::vector<std::pair<std::string, std::string>> attrs = {{"amk_source", source}};
  if (!path.empty())
    attrs.emplace_back("amk_path", path);
  io::write_snapshots(o.out, snapshots, o.float32, attrs);
  fmt::print("amk datagen: wrote {} ({} snapshots x {} samples, d = {}, t in [{}, {}])\n", o.out, o.snapshots,
             o.samples, o.dim, o.t0, o.t1);
}
} // namespace

Action add_datagen(CLI::App &app)
{
  auto *cmd = app.add_subcommand("datagen", "Write snapshots of a built-in path to an HDF5 data file");
  cmd->require_subcommand(1);

  auto *gauss = cmd->add_subcommand(
      "gaussian", "Anisotropic Gaussian path q_t = N((1-t)mu0 + t mu1, diag((1-t)sigma0 + t sigma1)^2), "
                  "mu0 = c, mu1 = c + (2,-1,2,...), sigma0 = 1, sigma1 = (0.5,1.5,...); velocity in closed form");
  auto g = std::make_shared<Common>();
  auto offset = std::make_shared<double>(0.0);
  add_common(gauss, *g);
  gauss->add_option("--offset", *offset, "c: added to every coordinate of mu0 and mu1 (data away from the origin)")
      ->capture_default_str();

  auto *ou = cmd->add_subcommand("ou", "Ornstein-Uhlenbeck dX = -theta (X - c) dT + sigma dW from N(m0, s0^2 I): "
                                       "Gaussian marginals in closed form (for --loss eam with the same sigma)");
  auto u = std::make_shared<Common>();
  auto ou_path = std::make_shared<examples::OrnsteinUhlenbeck>();
  add_common(ou, *u);
  ou->add_option("--theta", ou_path->theta, "Mean-reversion rate theta (per unit of time)")->capture_default_str();
  ou->add_option("--sigma", ou_path->sigma, "Diffusion sigma (data units per sqrt time)")->capture_default_str();
  ou->add_option("--center", ou_path->center, "c: the point every coordinate reverts to")->capture_default_str();
  ou->add_option("--mean0", ou_path->mean0, "m0: every coordinate's mean at t0")->capture_default_str();
  ou->add_option("--std0", ou_path->std0, "s0: the standard deviation at t0")->capture_default_str();

  auto *growth =
      cmd->add_subcommand("growth", "Pure growth q_t = exp(g (t - t0)) q_0 with q_0 = M0 N(c, s0^2 I): positions "
                                    "fixed, mass grows at rate g (for --loss uam); masses as /snapshot_mass");
  auto w = std::make_shared<Common>();
  auto growth_path = std::make_shared<examples::PureGrowth>();
  auto per_sample = std::make_shared<bool>(false);
  add_common(growth, *w);
  growth->add_option("--rate", growth_path->rate, "g: growth rate per unit of time (negative: decay)")
      ->capture_default_str();
  growth->add_option("--mass0", growth_path->mass0, "M0: total mass at t0")->capture_default_str();
  growth->add_option("--center", growth_path->center, "c: every coordinate's mean")->capture_default_str();
  growth->add_option("--std0", growth_path->std0, "s0: the standard deviation")->capture_default_str();
  growth->add_flag("--per-sample-mass", *per_sample, "Write the masses per sample (/mass) instead of /snapshot_mass");

  auto *harmonic = cmd->add_subcommand(
      "harmonic", "Gaussian wave packet in a harmonic potential V = omega^2 |x - c|^2 / 2 (hbar = m = 1) from "
                  "x0 = c + (a, -a, ...), momentum p: |psi|^2 and its Bohmian velocity in closed form, periodic "
                  "(period 2 pi / omega); for amk eval --velocity harmonic");
  auto h = std::make_shared<Common>();
  auto packet = std::make_shared<examples::HarmonicPacket>();
  add_common(harmonic, *h);
  harmonic->add_option("--omega", packet->omega, "omega: the potential's angular frequency (default: period 1)")
      ->capture_default_str();
  harmonic->add_option("--center", packet->center, "c: every coordinate of the potential's minimum")
      ->capture_default_str();
  harmonic->add_option("--amplitude", packet->amplitude, "a: the packet starts at c + (a, -a, a, ...)")
      ->capture_default_str();
  harmonic->add_option("--momentum", packet->momentum, "p: every coordinate of the initial momentum")
      ->capture_default_str();
  harmonic->add_option("--sigma0", packet->sigma0, "sigma0: the packet's initial width")->capture_default_str();

  auto *hydrogen = cmd->add_subcommand(
      "hydrogen", "The AM paper's Schrodinger experiment: Bohmian trajectories of a superposition of hydrogen "
                  "eigenstates (hbar = m_e = e = eps0 = 1, a0 = 4 pi), from |psi(x,0)|^2 by random-walk Metropolis");
  auto ho = std::make_shared<examples::HydrogenOptions>();
  auto states = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"3,2,-1", "2,1,0"});
  auto hout = std::make_shared<std::string>();
  auto hfloat = std::make_shared<bool>(false);
  hydrogen->add_option("--states", *states, "Eigenstates n,l,m of the equal superposition")
      ->capture_default_str()
      ->expected(1, -1);
  hydrogen->add_option("--snapshots", ho->snapshots, "Snapshots K (K - 1 time steps)")->capture_default_str();
  hydrogen->add_option("--samples", ho->samples, "Particles")->capture_default_str();
  hydrogen->add_option("--t1", ho->t1, "End time (from 0; about one beat period by default)")->capture_default_str();
  add_choice(hydrogen, "--integrator", ho->integrator, "rk4, or euler (the reference code's; drifts off |psi|^2)");
  hydrogen->add_option("--substeps", ho->substeps, "Integrator steps per snapshot interval")->capture_default_str();
  hydrogen->add_option("--proposal", ho->proposal, "Metropolis proposal sigma")->capture_default_str();
  hydrogen->add_option("--burn-in", ho->burn_in, "Metropolis steps per particle")->capture_default_str();
  hydrogen->add_option("--seed", ho->seed, "Random seed")->capture_default_str();
  hydrogen->add_flag("--float32", *hfloat, "Store /x as float32");
  hydrogen->add_option("--out", *hout, "Output HDF5 file")->required();

  return [=]()
  {
    if (!dist::Comm::world().root())
      return 0;
    if (*gauss)
    {
      const auto path = examples::GaussianPath::preset(g->dim, g->t0, g->t1, *offset);
      write(*g, path.snapshots(g->snapshots, g->samples, g->seed), path.describe());
    }
    else if (*ou)
    {
      examples::OrnsteinUhlenbeck p = *ou_path;
      p.dim = u->dim;
      p.t0 = u->t0;
      p.t1 = u->t1;
      write(*u, p.snapshots(u->snapshots, u->samples, u->seed), p.describe());
    }
    else if (*growth)
    {
      examples::PureGrowth p = *growth_path;
      p.dim = w->dim;
      p.t0 = w->t0;
      p.t1 = w->t1;
      write(*w, p.snapshots(w->snapshots, w->samples, w->seed, *per_sample), p.describe());
    }
    else if (*harmonic)
    {
      examples::HarmonicPacket p = *packet;
      p.dim = h->dim;
      p.t0 = h->t0;
      p.t1 = h->t1;
      write(*h, p.snapshots(h->snapshots, h->samples, h->seed), p.describe(), to_text(p.to_json()));
    }
    else if (*hydrogen)
    {
      examples::Hydrogen atom;
      atom.states.clear();
      atom.coefficients.clear();
      for (const auto &text : *states)
      {
        examples::HydrogenState st;
        char comma1 = 0, comma2 = 0;
        std::istringstream in(text);
        in >> st.n >> comma1 >> st.l >> comma2 >> st.m;
        require(in && comma1 == ',' && comma2 == ',' && in.peek() == EOF,
                "datagen hydrogen: --states takes n,l,m triples (e.g. 3,2,-1), got '" + text + "'");
        atom.states.push_back(st);
        atom.coefficients.emplace_back(1.0);
      }
      examples::MetropolisReport report;
      const auto snapshots = examples::hydrogen_snapshots(atom, *ho, &report);
      const auto [r1, r2] = atom.radial_moments();
      fmt::print("amk datagen: Metropolis acceptance {:.2f}; <r> = {:.2f}, <r^2> = {:.0f} over the chains' ends "
                 "(|psi|^2: {:.2f}, {:.0f}: {})\n",
                 report.acceptance, report.mean_r, report.mean_r2, r1, r2,
                 std::abs(report.mean_r / r1 - 1) < 0.05 && std::abs(report.mean_r2 / r2 - 1) < 0.1
                     ? "mixed"
                     : "NOT mixed: raise --burn-in");
      Common c;
      c.dim = 3;
      c.snapshots = ho->snapshots;
      c.samples = ho->samples;
      c.t1 = ho->t1;
      c.float32 = *hfloat;
      c.out = *hout;
      nlohmann::json path = atom.to_json();
      path["t1"] = ho->t1;
      write(c, snapshots,
            fmt::format("hydrogen: Bohmian trajectories of an equal superposition of {}, a0 = 4 pi, {} steps of {}",
                        path["states"].dump(), ho->substeps * (ho->snapshots - 1), name_of(ho->integrator)),
            to_text(path));
    }
    return 0;
  };
}
} // namespace amk::app
