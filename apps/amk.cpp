// amk: learn stochastic dynamics from samples with Action Matching.
// A git-style dispatcher: `amk <command> [options]`; `amk <command> --help` for each.
#include "threads_per_rank.hpp"
#include "commands.hpp"
#include <KokkosBlas3_gemm.hpp>
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/core/memory.hpp>
#include <amk/core/types.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <mutex>
#include <new>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace
{
/// One line for any failure: the message's first line (Kokkos appends a traceback note on
/// more lines) and, for an allocation that failed, the memory that was available.
std::string one_line(const std::exception &e)
{
  std::string message = e.what();
  message = message.substr(0, message.find('\n'));
  if (amk::is_allocation_failure(e))
    message = "out of memory: " + (message == "std::bad_alloc" ? std::string("an allocation failed") : message) +
              " (available: " + amk::memory_available() + ")";
  return message;
}

/// OpenBLAS maps its threads' work buffers (128 MiB each, untouched) at their first large
/// product, and when that fails under a process memory limit (ulimit -v, -d) it retries
/// forever: the job would hang in the middle of a run. Under such a limit, one product of each
/// precision at start-up maps the buffers before the data and network take the memory (later
/// failures are Kokkos' allocation errors, reported with the sizes), and a watchdog turns a
/// hang in it into an error. Without a limit mapping untouched pages cannot fail: nothing to do.
void warm_up_blas()
{
  const auto limited = [](int resource) {
    rlimit limit{};
    return getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
  };
  if (!limited(RLIMIT_AS) && !limited(RLIMIT_DATA))
    return;
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, amk::DefaultExec::memory_space>::accessible)
  {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    std::thread watchdog([&] {
      std::unique_lock<std::mutex> lock(mutex);
      if (!done_signal.wait_for(lock, std::chrono::seconds(10), [&] { return done; }))
      {
        std::fprintf(stderr, "amk: error: out of memory: the BLAS library could not allocate its work buffers in 10 s "
                             "(available: %s); raise the memory limit\n", amk::memory_available().c_str());
        std::fflush(stderr);
        std::_Exit(1);
      }
    });
    auto product = [](auto scalar) {
      using Scalar = decltype(scalar);
      const int n = 256; // large enough for OpenBLAS to use all its threads
      amk::Matrix<Scalar, amk::DefaultExec> a("amk::warm_up::a", n, n), b("amk::warm_up::b", n, n), c("amk::warm_up::c", n, n);
      KokkosBlas::gemm("N", "N", Scalar(1), a, b, Scalar(0), c);
    };
    product(float{});
    product(double{});
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    done_signal.notify_one();
    watchdog.join();
  }
}

/// After HDF5 failed to close a file, its clean-up at exit would crash (io/hdf5.hpp): end
/// with the error's exit status without it.
void exit_if_hdf5_unusable()
{
  if (!amk::io::hdf5_unusable())
    return;
  std::fflush(stderr);
  std::_Exit(1);
}
} // namespace

int main(int argc, char **argv)
{
  // A file-size limit (ulimit -f, a quota) makes write() fail with EFBIG instead of killing
  // the process silently: amk then reports the failed write, as for a full disk, and the
  // previous checkpoint or output stays as it was.
  std::signal(SIGXFSZ, SIG_IGN);
  amk::dist::Environment mpi(argc, argv);
  // --kokkos-* options go to Kokkos, the rest to the command line (Kokkos 3.4 would also
  // act on a bare --help or --threads)
  std::vector<char *> kokkos_argv{argv[0]};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
  {
    if (std::string(argv[i]).rfind("--kokkos-", 0) == 0)
      kokkos_argv.push_back(argv[i]);
    else
      args.emplace_back(argv[i]);
  }
  // an OpenMP build under flat MPI: each rank's threads a share of the node's cores
  bool threads_set = false;
  for (std::size_t i = 1; i < kokkos_argv.size(); ++i)
    threads_set = threads_set || std::string(kokkos_argv[i]).rfind("--kokkos-threads", 0) == 0 ||
                  std::string(kokkos_argv[i]).rfind("--kokkos-num-threads", 0) == 0;
  std::vector<std::string> thread_arguments = amk::app::kokkos_thread_arguments(amk::dist::Comm::world(), threads_set);
  for (auto &argument : thread_arguments)
    kokkos_argv.push_back(argument.data());
  // Kokkos' OpenMP back end warns on every start without OMP_PROC_BIND. The OpenMP runtime read
  // its environment when it was loaded, before main: unset, its threads are unbound, so naming
  // that (false) silences the warning without changing what runs. A user's setting is kept.
  ::setenv("OMP_PROC_BIND", "false", 0);
  int kokkos_argc = int(kokkos_argv.size());
  char **kokkos_args = kokkos_argv.data();
  // a GPU build on a machine without a visible device: Kokkos throws from initialize()
  std::optional<Kokkos::ScopeGuard> kokkos;
  try
  {
    kokkos.emplace(kokkos_argc, kokkos_args);
  }
  catch (const std::exception &e)
  {
    std::fprintf(stderr, "amk: error: Kokkos cannot start its %s back end: %s\n", Kokkos::DefaultExecutionSpace::name(),
                 amk::printable(e.what()).c_str());
    return 1;
  }

  CLI::App app{"amk " AMK_VERSION_STRING ": learn stochastic dynamics from samples with Action Matching", "amk"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("amk ") + AMK_VERSION_STRING);
  app.footer("Kokkos options (--kokkos-num-threads=N, --kokkos-device-id=I, ...) are passed to Kokkos.");
  std::map<std::string, amk::app::Action> actions = {
      {"datagen", amk::app::add_datagen(app)}, {"train", amk::app::add_train(app)},
      {"sample", amk::app::add_sample(app)},   {"field", amk::app::add_field(app)},
      {"eval", amk::app::add_eval(app)},       {"bench", amk::app::add_bench(app)},
      {"info", amk::app::add_info(app)},       {"convert", amk::app::add_convert(app)}};
  const auto world = amk::dist::Comm::world();
  const bool root = world.root();
  try
  {
    args = amk::app::expand_config(args);
    std::reverse(args.begin(), args.end()); // CLI11 takes a vector in reverse order
    try
    {
      app.parse(args);
    }
    catch (const CLI::ParseError &e)
    {
      if (e.get_exit_code() == 0) // --help, --version
        return root ? app.exit(e) : 0;
      if (root) // one line, as every other error
        std::fprintf(stderr, "amk: error: %s (see amk --help)\n", amk::printable(e.what()).c_str());
      return 1;
    }
    amk::app::share_blas_threads(world);
    if (const auto warning = amk::app::blas_pairing_warning(); root && !warning.empty())
      std::fprintf(stderr, "%s\n", warning.c_str());
    warm_up_blas();
    for (auto *sub : app.get_subcommands())
      return actions.at(sub->get_name())();
  }
  catch (const amk::CollectiveError &e) // thrown by every rank alike: a clean exit, one message
  {
    if (world.rank() == e.reporting_rank())
      std::fprintf(stderr, "amk: error: %s\n", one_line(e).c_str());
    exit_if_hdf5_unusable();
    return 1;
  }
  catch (const std::exception &e)
  {
    // possibly thrown on some ranks only: the others must not be left in a collective, and
    // the message is this rank's (MPI_Abort ends the others before they could say more)
    std::fprintf(stderr, "amk: error: %s\n", one_line(e).c_str());
    if (world.size() == 1)
      exit_if_hdf5_unusable();
    if (world.size() > 1)
    {
      std::fflush(stderr);
      world.abort(1);
    }
    return 1;
  }
  return 0;
}
