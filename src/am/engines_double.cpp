// The engines of the AM loss in double for the default execution space, compiled once (am/engines.hpp).
#include <amk/am/engines.hpp>

namespace amk::nn
{
template std::unique_ptr<am::LossEngine<double, DefaultExec>>
make_engine<double, DefaultExec, am::ActionLoss<double, DefaultExec>>(const DefaultExec &, EngineId, const MlpShape &,
                                                              const Capacity &);
} // namespace amk::nn
