#include "blas_threads.hpp"
#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>

namespace amk::app
{
namespace
{
template <class F> F openblas(const char *name)
{
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
} // namespace

int blas_threads()
{
  const auto get = openblas<int (*)()>("openblas_get_num_threads");
  return get ? get() : 0;
}

void share_blas_threads(const dist::Comm &comm)
{
  const int local = comm.local_size(); // collective: before any rank may return
  for (const char *user : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"})
    if (std::getenv(user))
      return;
  const auto set = openblas<void (*)(int)>("openblas_set_num_threads");
  const int threads = blas_threads();
  if (set && local > 1 && threads > 1)
    set(std::max(1, threads / local));
}
} // namespace amk::app
