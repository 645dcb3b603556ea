#include "run_log.hpp"
#include <algorithm>
#include <amk/core/error.hpp>
#include <amk/core/json.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace amk::train
{
namespace fs = std::filesystem;
namespace
{
/// Drops the lines logged after `step` (by a run that died after its last checkpoint).
void truncate_metrics(const fs::path &path, std::int64_t step)
{
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line))
  {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<std::int64_t>() <= step)
      kept += line + '\n';
  }
  in.close();
  std::ofstream tmp(path.string() + ".tmp", std::ios::trunc);
  tmp << kept;
  tmp.close();
  require(bool(tmp), "train: cannot write " + path.string());
  fs::rename(path.string() + ".tmp", path);
}

void flush_line() { std::fflush(stdout); } // batch jobs and mpirun redirect stdout: show progress as it happens
} // namespace

std::string duration(double seconds)
{
  const auto s = std::int64_t(std::max(0.0, seconds) + 0.5);
  if (s >= 3600)
    return fmt::format("{}h{:02d}m", s / 3600, int(s / 60 % 60));
  if (s >= 60)
    return fmt::format("{}m{:02d}s", s / 60, int(s % 60));
  return fmt::format("{}s", s);
}

RunLog::RunLog(const RunSpec &spec, bool root, bool quiet) : m_spec(spec), m_root(root), m_quiet(quiet) {}

void RunLog::open(std::int64_t resumed_step)
{
  const fs::path out(m_spec.out), file = out / "metrics.jsonl";
  fs::create_directories(out);
  if (resumed_step >= 0)
    truncate_metrics(file, resumed_step);
  m_metrics.open(file, resumed_step >= 0 ? std::ios::app : std::ios::trunc);
  require(bool(m_metrics), "train: cannot write " + file.string());
}

void RunLog::start(const std::string &layout, const am::Objective &o, double coupling_seconds,
                   const std::string &engine, const std::string &engine_note, std::optional<double> bound)
{
  if (!m_root || m_quiet)
    return;
  const RunSpec &s = m_spec;
  const am::TimeMode mode = s.time_mode();
  std::string loss = std::string(name_of(s.loss)) + ", time " + name_of(mode);
  if (mode == am::TimeMode::quadrature)
    loss += std::string(" (") + name_of(s.rule) + ")";
  if (mode == am::TimeMode::coupled)
    loss += fmt::format(" ({}, coupled in {:.1f} s)",
                        s.coupling == data::CouplingPath::bridge ? "Brownian bridges" : "straight lines",
                        coupling_seconds);
  if (bound)
    loss += fmt::format(", loss >= {:.4g} (minus the path's kinetic energy)", *bound);
  if (o.kind == am::LossKind::entropic)
    loss += o.laplacian == am::LaplacianMode::exact
                ? " (exact Laplacian)"
                : fmt::format(" (Hutchinson Laplacian, {} {} probes)", o.probes, name_of(o.probe_distribution));
  fmt::print("amk train: {} steps, batch {} ({}), loss {}, network d={} width={} depth={} {} ({} parameters), {}, "
             "{} engine{}\n",
             s.steps, s.batch, layout, loss, s.network.dim, s.network.width, s.network.depth,
             name_of(s.network.activation), s.network.param_count(), name_of(s.dtype), engine,
             engine_note.empty() ? "" : " (" + engine_note + ")");
  flush_line();
}

void RunLog::resuming(std::int64_t step, const std::string &checkpoint, std::int64_t ranks, int now_ranks)
{
  if (!m_root || m_quiet)
    return;
  fmt::print("amk train: resuming at step {} from {}{}\n", step, checkpoint,
             ranks == now_ranks ? ""
                                : fmt::format(", written by {} rank{} (the batch is global: the run continues, no "
                                              "longer bitwise equal to an uninterrupted one)",
                                              ranks, ranks == 1 ? "" : "s"));
  flush_line();
}

void RunLog::begin(std::int64_t first_step)
{
  m_start = m_last = clock::now();
  m_last_step = first_step;
}

void RunLog::step(std::int64_t step, const am::LossParts &parts, double grad_norm, double communication_s,
                  std::int64_t skipped)
{
  m_comm_s += communication_s;
  if (step % m_spec.log_every != 0 && step != m_spec.steps)
    return;
  const auto now = clock::now();
  if (m_root)
  {
    const double per_step = 1e3 / double(step - m_last_step);
    const double ms = per_step * std::chrono::duration<double>(now - m_last).count();
    const optim::AdamOptions &a = m_spec.adam;
    const double lr = a.lr * (a.warmup > 0 ? std::min(1.0, double(step) / double(a.warmup)) : 1.0);
    const nlohmann::json line = {{"step", step},
                                 {"loss", parts.total()},
                                 {"boundary", parts.boundary},
                                 {"interior", parts.interior},
                                 {"grad_norm", grad_norm},
                                 {"lr", lr},
                                 {"ms_per_step", ms},
                                 {"ms_compute", ms - per_step * (m_comm_s + m_io_s)},
                                 {"ms_communication", per_step * m_comm_s},
                                 {"ms_io", per_step * m_io_s},
                                 {"wall_s", wall_seconds()},
                                 {"skipped", skipped}};
    m_metrics << to_text(line) << '\n' << std::flush;
    if (!m_quiet)
    {
      fmt::print("step {}/{}: loss {:.6f} (boundary {:.6f}, interior {:.6f}) |grad| {:.3g}  {:.2f} ms/step, "
                 "{:.3g} samples/s, ETA {}\n",
                 step, m_spec.steps, parts.total(), parts.boundary, parts.interior, grad_norm, ms,
                 1e3 * double(m_spec.batch) / ms, duration(1e-3 * ms * double(m_spec.steps - step)));
      flush_line();
    }
  }
  m_last = now;
  m_last_step = step;
  m_comm_s = m_io_s = 0;
}

void RunLog::stopped(const char *by, std::int64_t step, const std::string &checkpoint)
{
  if (!m_root || m_quiet)
    return;
  fmt::print("amk train: stopped by {} at step {} of {}; wrote {} (continue with --resume)\n", by, step,
             m_spec.steps, checkpoint);
  flush_line();
}

void RunLog::done(const std::string &checkpoint, std::int64_t skipped)
{
  if (!m_root || m_quiet)
    return;
  fmt::print("amk train: done in {:.1f} s; wrote {}{}\n", wall_seconds(), checkpoint,
             skipped ? fmt::format(" ({} batch{} with NaN or Inf skipped)", skipped, skipped == 1 ? "" : "es")
                     : std::string());
  flush_line();
}

double RunLog::wall_seconds() const { return std::chrono::duration<double>(clock::now() - m_start).count(); }
} // namespace amk::train
