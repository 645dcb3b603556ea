#pragma once
// The one place that chooses a derivative engine: GemmEngine or FusedEngine behind the
// Engine interface (nn/engine.hpp). `auto` picks the faster one for the network and back
// end (FusedEngine::suits); a loss the fused kernel cannot run is routed to the GEMM
// engine with a note for the start line.
#include <amk/core/error.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/fused_engine.hpp>
#include <amk/nn/gemm_engine.hpp>
#include <memory>
#include <string>

namespace amk::nn
{
/// "gemm" or "fused": the engine `choice` (auto, gemm or fused) gives for `shape` and
/// `capacity` on this back end; *note says why when the choice was overridden.
template <class Scalar, class ExecutionSpace>
const char *engine_choice(const std::string &choice, const MlpShape &shape, const Capacity &capacity,
                          std::string *note = nullptr)
{
  require(choice == "auto" || choice == "gemm" || choice == "fused", "engine must be auto, gemm or fused, not '" +
                                                                         choice + "'");
  if (choice == "gemm")
    return "gemm";
  // curvature directions multiply a block's buffers by (2 + m)/2: beyond what a core's
  // cache (or a GPU's shared memory) holds the fused kernel loses to library GEMMs
  const bool fits = fused_fits<Scalar, ExecutionSpace>(shape, capacity.directions);
  if (choice == "fused")
  {
    if (capacity.directions > 0 && !fits)
    {
      if (note)
        *note = "the fused kernel's buffers for " + std::to_string(capacity.directions) +
                " curvature directions outgrow its scratch memory: using the GEMM engine";
      return "gemm";
    }
    return "fused";
  }
  return fits && fused_suits<Scalar, ExecutionSpace>(shape) ? "fused" : "gemm";
}

/// The engine `choice` gives (see engine_choice), built for `capacity`.
template <class Scalar, class ExecutionSpace, class Loss>
std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> make_engine(const ExecutionSpace &space, const std::string &choice,
                                                                  const MlpShape &shape, const Capacity &capacity,
                                                                  std::string *note = nullptr)
{
  if (std::string(engine_choice<Scalar, ExecutionSpace>(choice, shape, capacity, note)) == "fused")
    return std::make_unique<FusedEngine<Scalar, ExecutionSpace, Loss>>(space, shape, capacity);
  return std::make_unique<GemmEngine<Scalar, ExecutionSpace, Loss>>(space, shape, capacity);
}
} // namespace amk::nn
