// The evaluators (nn::make_evaluator) for the default execution space, compiled once.
#include <amk/nn/engine_registry.hpp>

namespace amk::nn
{
template std::unique_ptr<Evaluator<float, DefaultExec>>
make_evaluator<float, DefaultExec>(const DefaultExec &, const std::optional<EngineId> &, const MlpShape &,
                                   const Capacity &);
template std::unique_ptr<Evaluator<double, DefaultExec>>
make_evaluator<double, DefaultExec>(const DefaultExec &, const std::optional<EngineId> &, const MlpShape &,
                                    const Capacity &);
} // namespace amk::nn
