#pragma once
// How much memory this process could still get, for the messages of allocations that failed
// ("asked for 24.4 G; available: host 21.9 GiB, limit ulimit -v 2.0 GiB, device 70.1 GiB free
// of 79.6 GiB"): host MemAvailable, the process's address-space and data limits when set, and
// on a GPU back end the device's free memory.
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <utility>
#include <vector>
#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime_api.h>
#elif defined(KOKKOS_ENABLE_HIP)
#include <hip/hip_runtime_api.h>
#endif

namespace amk
{
inline std::string format_bytes(double bytes)
{
  char buf[32];
  if (bytes < 1024.0 * 1024.0 * 1024.0)
    std::snprintf(buf, sizeof buf, "%.0f MiB", bytes / (1024.0 * 1024.0));
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

/// MemAvailable of /proc/meminfo in bytes; 0 when unknown.
inline double mem_available_bytes()
{
  unsigned long long kib = 0;
  if (std::FILE *f = std::fopen("/proc/meminfo", "r"))
  {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
        break;
    std::fclose(f);
  }
  return double(kib) * 1024;
}

/// The process memory limits that are set: (ulimit name, bytes) for the address-space (-v)
/// and data (-d) limits.
inline std::vector<std::pair<const char *, double>> process_memory_limits()
{
  std::vector<std::pair<const char *, double>> out;
  for (const auto &[resource, name] : {std::pair{RLIMIT_AS, "ulimit -v"}, std::pair{RLIMIT_DATA, "ulimit -d"}})
  {
    rlimit limit{};
    if (getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
      out.emplace_back(name, double(limit.rlim_cur));
  }
  return out;
}

/// Bytes this process could still allocate on the host: MemAvailable, or less under a process
/// limit (ulimit -v, -d: the limit itself, an upper bound); 0 when unknown.
inline double host_bytes_available()
{
  double bytes = mem_available_bytes();
  for (const auto &[name, limit] : process_memory_limits())
    bytes = std::min(bytes, limit);
  return bytes;
}

inline std::string memory_available()
{
  std::string out;
  if (const double bytes = mem_available_bytes(); bytes > 0)
    out = "host " + format_bytes(bytes);
  for (const auto &[name, limit] : process_memory_limits())
    out += std::string(out.empty() ? "" : ", ") + "process limit (" + name + ") " + format_bytes(limit);
#if defined(KOKKOS_ENABLE_CUDA)
  std::size_t free_bytes = 0, total = 0;
  if (cudaMemGetInfo(&free_bytes, &total) == cudaSuccess)
    out += ", device " + format_bytes(double(free_bytes)) + " free of " + format_bytes(double(total));
#elif defined(KOKKOS_ENABLE_HIP)
  std::size_t free_bytes = 0, total = 0;
  if (hipMemGetInfo(&free_bytes, &total) == hipSuccess)
    out += ", device " + format_bytes(double(free_bytes)) + " free of " + format_bytes(double(total));
#endif
  return out.empty() ? "unknown" : out;
}
} // namespace amk
