#pragma once
// Independent jobs on the host's threads: the coupling's chunks (data/coupling.hpp), which
// run on the host whatever the back end, one job per chunk. Plain std::thread, so that it
// works beside any Kokkos host back end (Serial included) and never calls into Kokkos.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace amk
{
/// The host threads a process may use: `requested` where positive, else the machine's
/// hardware threads shared among `processes` on it (at least 1).
inline int host_threads(int requested, int processes = 1)
{
  if (requested > 0)
    return requested;
  const int hardware = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, hardware / std::max(1, processes));
}

/// Runs job(0) … job(count − 1), each once, on `threads` threads (the caller among them);
/// jobs must not share what they write. The first exception a job throws is rethrown here
/// once every thread has stopped (the jobs not yet started are skipped).
inline void run_host_jobs(std::int64_t count, int threads, const std::function<void(std::int64_t)> &job)
{
  std::atomic<std::int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&]
  {
    for (std::int64_t k; (k = next.fetch_add(1)) < count;)
      try
      {
        job(k);
      }
      catch (...)
      {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure)
          failure = std::current_exception();
        next.store(count);
      }
  };
  const int helpers = int(std::min<std::int64_t>(std::max(threads, 1), std::max<std::int64_t>(count, 1))) - 1;
  std::vector<std::thread> pool;
  pool.reserve(std::size_t(helpers));
  for (int t = 0; t < helpers; ++t)
    pool.emplace_back(work);
  work();
  for (auto &t : pool)
    t.join();
  if (failure)
    std::rethrow_exception(failure);
}
} // namespace amk
