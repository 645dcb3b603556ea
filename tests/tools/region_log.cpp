// A Kokkos Tools library for the tests (tests/cli/test_tools.py): it logs every region amk
// pushes and pops, one line each ("push DEPTH NAME", "pop DEPTH"), to the file named by
// AMK_REGION_LOG, so that a test can check which regions a run opens and how they nest.
// Loaded by Kokkos at initialisation from KOKKOS_TOOLS_LIBS (Kokkos 4) or
// KOKKOS_PROFILE_LIBRARY (3.x); the entry points are Kokkos' C interface.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace
{
std::FILE *out = nullptr;
int depth = 0;
} // namespace

extern "C" void kokkosp_init_library(const int, const std::uint64_t, const std::uint32_t, void *)
{
  const char *path = std::getenv("AMK_REGION_LOG");
  out = path ? std::fopen(path, "w") : nullptr;
  if (out)
    std::fprintf(out, "init\n");
}

extern "C" void kokkosp_finalize_library()
{
  if (out)
  {
    std::fprintf(out, "finalize\n");
    std::fclose(out);
    out = nullptr;
  }
}

extern "C" void kokkosp_push_profile_region(const char *name)
{
  if (out)
    std::fprintf(out, "push %d %s\n", depth, name);
  ++depth;
}

extern "C" void kokkosp_pop_profile_region()
{
  --depth;
  if (out)
    std::fprintf(out, "pop %d\n", depth);
}
