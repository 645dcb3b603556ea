#pragma once
// The derivative engines of the Action Matching loss: nn::make_engine for am::ActionLoss
// (nn/engine_registry.hpp). For the default execution space they are compiled once, into
// libamk (src/am/engines_float.cpp, engines_double.cpp): the trainer and the programs call
// them without compiling the kernels again.
#include <amk/am/loss.hpp>
#include <amk/nn/engine_registry.hpp>
#include <memory>

namespace amk::am
{
template <class Scalar, class ExecutionSpace>
using LossEngine = nn::Engine<Scalar, ExecutionSpace, ActionLoss<Scalar, ExecutionSpace>>;
} // namespace amk::am

#ifndef AMK_NO_EXTERN_ENGINES
namespace amk::nn
{
extern template std::unique_ptr<am::LossEngine<float, DefaultExec>>
make_engine<float, DefaultExec, am::ActionLoss<float, DefaultExec>>(const DefaultExec &, EngineId, const MlpShape &,
                                                                   const Capacity &);
extern template std::unique_ptr<am::LossEngine<double, DefaultExec>>
make_engine<double, DefaultExec, am::ActionLoss<double, DefaultExec>>(const DefaultExec &, EngineId, const MlpShape &,
                                                                     const Capacity &);
} // namespace amk::nn
#endif
