#pragma once
// The action network s(x, t): an MLP on the input u = [x, e(t)] with one flat parameter
// View (all layers' W and b back to back, cf. llm.c's params_memory), so that Adam is one
// kernel and the MPI gradient reduction one call.
#include <amk/core/contracts.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/head.hpp>
#include <cstdint>
#include <amk/core/json.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace amk::nn
{
/// Layer sizes and the offsets of every block in the flat parameter View.
/// Nodes j = 0 … depth+1 have sizes n_j (input, depth hidden layers, output); linear map
/// k = 0 … depth takes node k to node k+1 with W_k (n_{k+1} × n_k, column-major) then b_k.
struct MlpShape
{
  int dim = 2;           ///< d, the space dimension
  int time_features = 0; ///< F: the input is [x, t, sin 2πkt, cos 2πkt (k = 1…F)]
  int width = 256;
  int depth = 3; ///< hidden layers
  Activation activation = Activation::silu;
  Head head = Head::scalar;

  KOKKOS_INLINE_FUNCTION int input_size() const { return dim + 1 + 2 * time_features; }
  KOKKOS_INLINE_FUNCTION int output_size() const { return head == Head::scalar ? 1 : dim; }
  KOKKOS_INLINE_FUNCTION int node_size(int j) const
  {
    return j == 0 ? input_size() : j == depth + 1 ? output_size() : width;
  }
  KOKKOS_INLINE_FUNCTION int maps() const { return depth + 1; }
  KOKKOS_INLINE_FUNCTION std::int64_t weight_offset(int k) const
  {
    std::int64_t off = 0;
    for (int i = 0; i < k; ++i)
      off += std::int64_t(node_size(i + 1)) * (node_size(i) + 1);
    return off;
  }
  KOKKOS_INLINE_FUNCTION std::int64_t bias_offset(int k) const
  {
    return weight_offset(k) + std::int64_t(node_size(k + 1)) * node_size(k);
  }
  KOKKOS_INLINE_FUNCTION std::int64_t param_count() const { return weight_offset(maps()); }
  /// Multiply-adds of one forward pass per sample (the FLOP model's unit).
  KOKKOS_INLINE_FUNCTION std::int64_t forward_macs() const
  {
    std::int64_t m = 0;
    for (int k = 0; k < maps(); ++k)
      m += std::int64_t(node_size(k + 1)) * node_size(k);
    return m;
  }
  void validate() const
  {
    require(dim >= 1, "network: --dim must be at least 1");
    require(width >= 1 && width <= 65536, "network: --width must be in 1…65536");
    require(depth >= 1 && depth <= 64, "network: --depth must be in 1…64");
    require(time_features >= 0 && time_features <= 256, "network: --time-features must be in 0…256");
  }
};

/// The shape as JSON (stored in checkpoints) and back (validated).
inline nlohmann::json to_json(const MlpShape &s)
{
  return {{"dim", s.dim},
          {"width", s.width},
          {"depth", s.depth},
          {"activation", name_of(s.activation)},
          {"time_features", s.time_features},
          {"head", name_of(s.head)}};
}

inline MlpShape shape_from_json(const nlohmann::json &j)
{
  MlpShape s;
  s.dim = whole_number<int>(j, "dim");
  s.width = whole_number<int>(j, "width");
  s.depth = whole_number<int>(j, "depth");
  s.activation = parse_choice<Activation>(j.at("activation").get<std::string>(), "network: activation");
  s.time_features = whole_number<int>(j, "time_features");
  s.head = parse_choice<Head>(j.at("head").get<std::string>(), "network: head");
  s.validate();
  return s;
}

/// W_k as an unmanaged (n_{k+1} × n_k) column-major matrix over the flat View.
template <class FlatView> auto weight(const MlpShape &shape, const FlatView &flat, int k)
{
  using M = Kokkos::View<typename FlatView::value_type **, Kokkos::LayoutLeft, typename FlatView::memory_space,
                         Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  return M(flat.data() + shape.weight_offset(k), shape.node_size(k + 1), shape.node_size(k));
}

/// b_k as an unmanaged View over the flat View.
template <class FlatView> auto bias(const MlpShape &shape, const FlatView &flat, int k)
{
  using V = Kokkos::View<typename FlatView::value_type *, typename FlatView::memory_space,
                         Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  return V(flat.data() + shape.bias_offset(k), shape.node_size(k + 1));
}

/// PyTorch's nn.Linear default: W, b ~ U(−1/√fan_in, 1/√fan_in), drawn from (seed, index).
template <class Scalar, class ExecutionSpace>
void initialize(const ExecutionSpace &space, const MlpShape &shape, const Vector<Scalar, ExecutionSpace> &flat,
                std::uint64_t seed)
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::nn::initialize");
  require(std::int64_t(flat.extent(0)) == shape.param_count(), "initialize: parameter View has the wrong size");
  for (int k = 0; k < shape.maps(); ++k)
  {
    const Scalar bound = Scalar(1) / std::sqrt(Scalar(shape.node_size(k)));
    const std::int64_t begin = shape.weight_offset(k), end = shape.weight_offset(k + 1);
    const RandomKey key = RandomKey(seed)(0x1417 + k);
    Kokkos::parallel_for(
        "amk::nn::initialize", Kokkos::RangePolicy<ExecutionSpace>(space, begin, end),
        KOKKOS_LAMBDA(std::int64_t i) { flat(i) = bound * Scalar(2 * key.uniform(std::uint64_t(i)) - 1); });
  }
}

/// Adds `value` to the scalar head's output bias: s = net + value at initialisation (a known
/// level of s, e.g. unbalanced AM's mean growth, so that the network learns the rest).
template <class Scalar, class ExecutionSpace>
void shift_output(const ExecutionSpace &space, const MlpShape &shape, const Vector<Scalar, ExecutionSpace> &flat,
                  double value)
{
  require(shape.output_size() == 1, "shift_output: the head is not scalar");
  const std::int64_t at = shape.bias_offset(shape.maps() - 1);
  const Scalar v = Scalar(value);
  Kokkos::parallel_for(
      "amk::nn::shift_output", Kokkos::RangePolicy<ExecutionSpace>(space, 0, 1),
      KOKKOS_LAMBDA(std::int64_t) { flat(at) += v; });
}

/// Time features e(t) and their derivative e'(t) (F Fourier pairs after t itself).
template <class Scalar> struct TimeEmbedding
{
  int features = 0;
  KOKKOS_INLINE_FUNCTION int size() const { return 1 + 2 * features; }
  /// e_j(t) for j = 0 … 2F.
  KOKKOS_INLINE_FUNCTION Scalar value(int j, Scalar t) const
  {
    if (j == 0)
      return t;
    const int k = (j + 1) / 2;
    const Scalar w = Scalar(6.283185307179586) * Scalar(k);
    return (j % 2 == 1) ? math::sin(w * t) : math::cos(w * t);
  }
  /// e_j'(t).
  KOKKOS_INLINE_FUNCTION Scalar derivative(int j, Scalar t) const
  {
    if (j == 0)
      return Scalar(1);
    const int k = (j + 1) / 2;
    const Scalar w = Scalar(6.283185307179586) * Scalar(k);
    return (j % 2 == 1) ? w * math::cos(w * t) : -w * math::sin(w * t);
  }
};

/// Rows d… of the input matrix u (input_size × n): the time features e(t_c) of column c.
template <class ExecutionSpace, class T, class U>
void embed_times(const ExecutionSpace &space, const MlpShape &shape, const T &t, const U &u)
{
  AMK_CHECK_SPACE(ExecutionSpace, "amk::nn::embed_times");
  AMK_CHECK_VIEW_ACCESS(T, ExecutionSpace, "amk::nn::embed_times", "t");
  AMK_CHECK_VIEW_ACCESS(U, ExecutionSpace, "amk::nn::embed_times", "u");
  AMK_CHECK_LAYOUT_LEFT(U, "amk::nn::embed_times", "u");
  using Scalar = typename U::non_const_value_type;
  const int d = shape.dim, F = shape.input_size() - shape.dim;
  const TimeEmbedding<Scalar> embed{shape.time_features};
  Kokkos::parallel_for(
      "amk::nn::embed_times", policy(space, u.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
        for (int j = 0; j < F; ++j)
          u(d + j, c) = embed.value(j, Scalar(t(c)));
      });
}
} // namespace amk::nn
