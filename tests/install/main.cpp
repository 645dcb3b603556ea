// A downstream project built against an installed amk (find_package(amk), amk::amk): one
// forward pass and input gradient of a small network, checked against its own finite
// difference, so that the installed headers, library and dependencies really work.
#include <amk/nn/engine_registry.hpp>
#include <cmath>
#include <cstdio>

int main(int argc, char **argv)
{
  Kokkos::ScopeGuard kokkos(argc, argv);
  using Exec = amk::DefaultExec;
  amk::nn::MlpShape shape;
  shape.dim = 2;
  shape.width = 8;
  shape.depth = 2;
  amk::Vector<double, Exec> params("params", shape.param_count());
  amk::nn::initialize(Exec(), shape, params, 1);
  auto engine = amk::nn::make_evaluator<double, Exec>(Exec(), std::nullopt, shape, amk::nn::Capacity{3, 3, 0});
  amk::nn::Evaluation<double, Exec> out;
  out.value = amk::Vector<double, Exec>("s", 1);
  out.gradient = amk::Matrix<double, Exec>("g", shape.input_size(), 1);
  auto value_and_gradient = [&](double x0, double *g0)
  {
    engine->set_batch(1, 1);
    auto u = Kokkos::create_mirror_view(engine->input());
    u(0, 0) = x0;
    u(1, 0) = 0.3;
    u(2, 0) = 0.5;
    Kokkos::deep_copy(engine->input(), u);
    engine->evaluate(Exec(), params, out);
    auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.value);
    auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.gradient);
    if (g0)
      *g0 = g(0, 0);
    return s(0);
  };
  double g = 0;
  value_and_gradient(0.2, &g);
  const double h = 1e-5, fd = (value_and_gradient(0.2 + h, nullptr) - value_and_gradient(0.2 - h, nullptr)) / (2 * h);
  std::printf("install test: ds/dx = %.10f, finite difference %.10f\n", g, fd);
  return std::abs(g - fd) < 1e-7 * (1 + std::abs(fd)) ? 0 : 1;
}
