#include "stop_signal.hpp"

namespace amk::train
{
namespace
{
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal)
{
  if (g_stop_signal != 0)
  {
    std::signal(signal, SIG_DFL); // both async-signal-safe
    std::raise(signal);
    return;
  }
  g_stop_signal = signal;
}
} // namespace

StopOnSignal::StopOnSignal()
{
  g_stop_signal = 0;
  m_term = std::signal(SIGTERM, request_stop);
  m_int = std::signal(SIGINT, request_stop);
}

StopOnSignal::~StopOnSignal()
{
  std::signal(SIGTERM, m_term);
  std::signal(SIGINT, m_int);
}

int StopOnSignal::received() const { return int(g_stop_signal); }

const char *StopOnSignal::name(const char *other) const
{
  return g_stop_signal == SIGINT ? "SIGINT" : g_stop_signal == SIGTERM ? "SIGTERM" : other;
}
} // namespace amk::train
