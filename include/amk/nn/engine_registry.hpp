#pragma once
// The registry of derivative engines. ONE line lists them (Engines below); each engine's own
// file holds its entry: its name, where it can run (unsupported), whether --engine auto
// times it (fits), whether the untimed rule picks it (suits), and its factory (make). Every
// choice of an engine reads this registry: --engine's names, auto's candidates
// (train::Trainer::choose_engine times every one that fits), the untimed rule of library
// users and of inference, `amk bench`'s times.
// Adding an engine: its file (the engine and its entry) and one entry in Engines.
//
// The factories for the default execution space are compiled once, into libamk
// (src/nn/evaluators.cpp, src/am/engines.cpp): programs that only call them do not compile
// the kernels again.
#include <amk/core/choice.hpp>
#include <amk/core/error.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/fused_engine.hpp>
#include <amk/nn/gemm_engine.hpp>
#include <amk/nn/staged_engine.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace amk::nn
{
/// Every engine, in the order --engine lists them.
using Engines = std::tuple<GemmEngineEntry, FusedEngineEntry, StagedEngineEntry>;

inline constexpr int engine_count = int(std::tuple_size_v<Engines>);

/// An engine of the registry, by its position in Engines.
struct EngineId
{
  int index = 0;
  friend bool operator==(EngineId a, EngineId b) { return a.index == b.index; }
  friend bool operator!=(EngineId a, EngineId b) { return a.index != b.index; }
};
} // namespace amk::nn

namespace amk::impl
{
/// f(EngineId, Entry{}) for every registered engine, in order.
template <class F, std::size_t... I> void for_each_engine(F &&f, std::index_sequence<I...>)
{
  (f(nn::EngineId{int(I)}, std::tuple_element_t<I, nn::Engines>{}), ...);
}
template <class F> void for_each_engine(F &&f)
{
  for_each_engine(f, std::make_index_sequence<nn::engine_count>());
}
} // namespace amk::impl

namespace amk::nn
{
/// The engines' names (--engine, JSON, the engine cache).
inline const std::vector<Named<EngineId>> &choices(EngineId)
{
  static const std::vector<Named<EngineId>> table = []
  {
    std::vector<Named<EngineId>> t;
    impl::for_each_engine([&](EngineId id, auto entry) { t.push_back({id, decltype(entry)::name}); });
    return t;
  }();
  return table;
}

/// "" where engine `id` runs `shape` at `capacity` on this back end, else why not.
template <class Scalar, class ExecutionSpace>
std::string unsupported(EngineId id, const MlpShape &shape, const Capacity &capacity)
{
  std::string why;
  impl::for_each_engine(
      [&](EngineId e, auto entry)
      {
        if (e == id)
          why = decltype(entry)::template unsupported<Scalar, ExecutionSpace>(shape, capacity);
      });
  return why;
}

/// --engine auto's candidates, in registry order: every engine that fits (worth timing).
template <class Scalar, class ExecutionSpace>
std::vector<EngineId> candidates(const MlpShape &shape, const Capacity &capacity)
{
  std::vector<EngineId> ids;
  impl::for_each_engine(
      [&](EngineId e, auto entry)
      {
        using Entry = decltype(entry);
        if (Entry::template unsupported<Scalar, ExecutionSpace>(shape, capacity).empty() &&
            Entry::template fits<Scalar, ExecutionSpace>(shape, capacity))
          ids.push_back(e);
      });
  return ids;
}

/// The untimed rule (no measurement): the first specialised engine that suits `shape` and
/// `capacity` here, else the fallback (the GEMM engine).
template <class Scalar, class ExecutionSpace> EngineId untimed_choice(const MlpShape &shape, const Capacity &capacity)
{
  std::optional<EngineId> suited, fallback;
  impl::for_each_engine(
      [&](EngineId e, auto entry)
      {
        using Entry = decltype(entry);
        if (Entry::fallback && !fallback)
          fallback = e;
        else if (!Entry::fallback && !suited && Entry::template suits<Scalar, ExecutionSpace>(shape, capacity) &&
                 Entry::template unsupported<Scalar, ExecutionSpace>(shape, capacity).empty())
          suited = e;
      });
  return suited ? *suited : *fallback;
}

/// The engine `choice` names, or the untimed rule's for auto (nullopt).
template <class Scalar, class ExecutionSpace>
EngineId resolve(const std::optional<EngineId> &choice, const MlpShape &shape, const Capacity &capacity)
{
  return choice ? *choice : untimed_choice<Scalar, ExecutionSpace>(shape, capacity);
}

/// Engine `id` for the loss functor type Loss, built for `capacity`; amk::Error naming the
/// engine where it cannot run this network here.
template <class Scalar, class ExecutionSpace, class Loss>
std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> make_engine(const ExecutionSpace &space, EngineId id,
                                                                  const MlpShape &shape, const Capacity &capacity)
{
  const std::string why = unsupported<Scalar, ExecutionSpace>(id, shape, capacity);
  require(why.empty(), std::string("engine ") + name_of(id) + ": " + why);
  std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> engine;
  impl::for_each_engine(
      [&](EngineId e, auto entry)
      {
        if (e == id)
          engine = decltype(entry)::template make<Scalar, ExecutionSpace, Loss>(space, shape, capacity);
      });
  return engine;
}

/// An evaluator (s, ∇ᵤs, curvature; no loss) of engine `choice` (nullopt: the untimed rule).
template <class Scalar, class ExecutionSpace>
std::unique_ptr<Evaluator<Scalar, ExecutionSpace>> make_evaluator(const ExecutionSpace &space,
                                                                  const std::optional<EngineId> &choice,
                                                                  const MlpShape &shape, const Capacity &capacity)
{
  return make_engine<Scalar, ExecutionSpace, impl::NoLoss>(
      space, resolve<Scalar, ExecutionSpace>(choice, shape, capacity), shape, capacity);
}

// compiled once into libamk (src/nn/evaluators.cpp); AMK_NO_EXTERN_ENGINES: instantiated by
// the including code itself (the fuzz harnesses, which link no kernels)
#ifndef AMK_NO_EXTERN_ENGINES
extern template std::unique_ptr<Evaluator<float, DefaultExec>>
make_evaluator<float, DefaultExec>(const DefaultExec &, const std::optional<EngineId> &, const MlpShape &,
                                   const Capacity &);
extern template std::unique_ptr<Evaluator<double, DefaultExec>>
make_evaluator<double, DefaultExec>(const DefaultExec &, const std::optional<EngineId> &, const MlpShape &,
                                    const Capacity &);
#endif
} // namespace amk::nn
