// The engines of the AM loss in float for the default execution space, compiled once (am/engines.hpp).
#include <amk/am/engines.hpp>

namespace amk::nn
{
template std::unique_ptr<am::LossEngine<float, DefaultExec>>
make_engine<float, DefaultExec, am::ActionLoss<float, DefaultExec>>(const DefaultExec &, EngineId, const MlpShape &,
                                                              const Capacity &);
} // namespace amk::nn
