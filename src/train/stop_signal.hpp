#pragma once
// SIGTERM (a scheduler's notice before its wall-clock limit) and SIGINT (Ctrl-C) during a
// training run: the first asks for a stop at the next step boundary, with a checkpoint; a
// second one ends the process at once.
#include <csignal>

namespace amk::train
{
class StopOnSignal
{
public:
  StopOnSignal();  ///< installs the handlers for the lifetime of a run
  ~StopOnSignal(); ///< and puts back the ones before
  StopOnSignal(const StopOnSignal &) = delete;
  StopOnSignal &operator=(const StopOnSignal &) = delete;
  /// The signal that asked for a stop (0: none yet).
  int received() const;
  /// "SIGTERM", "SIGINT", or `other` when the stop came from another rank.
  const char *name(const char *other) const;

private:
  void (*m_term)(int) = SIG_DFL;
  void (*m_int)(int) = SIG_DFL;
};
} // namespace amk::train
