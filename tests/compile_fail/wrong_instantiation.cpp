// Instantiations that break a public template's contract (AMK_CASE_<name> picks one): each must
// fail to compile with the static_assert message naming the template (tests/CMakeLists.txt
// lists the messages). Case "valid" is the same code done right and must compile, so that a
// failure of the others is the contract's, not a broken harness.
#include <amk/am/loss.hpp>
#include <amk/nn/gemm_engine.hpp>
#include <amk/optim/adam.hpp>
#include <amk/train/trainer.hpp>
#include <cstddef>

using Exec = amk::DefaultExec;
using Memory = Exec::memory_space;

#if defined(AMK_CASE_valid)
std::size_t instantiate()
{
  Kokkos::View<float **, Kokkos::LayoutLeft, Memory> a("a", 2, 2), b("b", 2, 2), c("c", 2, 2);
  amk::gemm(Exec(), "N", "N", 1.0f, a, b, 0.0f, c);
  amk::nn::embed_times(Exec(), amk::nn::MlpShape{}, Kokkos::View<float *, Memory>("t", 2), c);
  return sizeof(amk::optim::AdamState<float, Exec>) + sizeof(amk::train::Trainer<double, Exec>) +
         sizeof(amk::nn::GemmEngine<float, Exec, amk::am::ActionLoss<float, Exec>>);
}
#elif defined(AMK_CASE_scalar_int)
std::size_t instantiate() { return sizeof(amk::optim::AdamState<int, Exec>); }
#elif defined(AMK_CASE_scalar_long_double)
std::size_t instantiate()
{
  return sizeof(amk::nn::GemmEngine<long double, Exec, amk::am::ActionLoss<long double, Exec>>);
}
#elif defined(AMK_CASE_memory_space_as_execution_space)
std::size_t instantiate() { return sizeof(amk::train::Trainer<float, Kokkos::HostSpace>); }
#elif defined(AMK_CASE_gemm_layout_right)
void instantiate()
{
  Kokkos::View<float **, Kokkos::LayoutRight, Memory> a("a", 2, 2), b("b", 2, 2), c("c", 2, 2);
  amk::gemm(Exec(), "N", "N", 1.0f, a, b, 0.0f, c);
}
#elif defined(AMK_CASE_embed_times_layout_right)
void instantiate()
{
  Kokkos::View<float **, Kokkos::LayoutRight, Memory> u("u", 3, 2);
  amk::nn::embed_times(Exec(), amk::nn::MlpShape{}, Kokkos::View<float *, Memory>("t", 2), u);
}
#elif defined(AMK_CASE_gemm_mixed_scalars)
void instantiate()
{
  Kokkos::View<float **, Kokkos::LayoutLeft, Memory> a("a", 2, 2), b("b", 2, 2);
  Kokkos::View<double **, Kokkos::LayoutLeft, Memory> c("c", 2, 2);
  amk::gemm(Exec(), "N", "N", 1.0, a, b, 0.0, c);
}
#elif defined(AMK_CASE_host_views_on_device)
// only where the default execution space cannot reach host memory (CUDA, HIP)
void instantiate()
{
  Kokkos::View<float **, Kokkos::LayoutLeft, Kokkos::HostSpace> a("a", 2, 2), b("b", 2, 2), c("c", 2, 2);
  amk::gemm(Exec(), "N", "N", 1.0f, a, b, 0.0f, c);
}
#else
#error "AMK_CASE_<name> must be defined"
#endif
