#pragma once
// The shortened test stage: run-tests.sh's sanitizer stage sets AMK_TEST_QUICK=1, under which
// the trainings of the unit tests are a fifth as long and their accuracy bounds are the ones
// calibrated for the shorter run (beside each bound, what the shortened run reached).
#include <cstdlib>
#include <string>

namespace amk::test
{
inline bool quick()
{
  const char *v = std::getenv("AMK_TEST_QUICK");
  return v && std::string(v) == "1";
}
/// `full` at full length, `shortened` in the quick stage.
template <class T> T full_or_quick(T full, T shortened) { return quick() ? shortened : full; }
} // namespace amk::test
