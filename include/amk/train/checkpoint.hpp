#pragma once
// A checkpoint read for use (sample, field, eval, --resume): io::read_checkpoint (format,
// checksum, sizes) and the checks every user relies on: a configuration that parses as a
// run specification, a network its parameters fit, an objective and a normalisation that can
// be used; an amk::Error naming the file otherwise, so that no later step meets malformed
// JSON or a division by zero.
#include <amk/io/checkpoint.hpp>
#include <amk/train/run_spec.hpp>
#include <optional>
#include <string>

namespace amk::train
{
io::Checkpoint load_checkpoint(const std::string &path);

/// The run specification a checkpoint stores (train/options.hpp, spec_from_json).
RunSpec spec_of(const io::Checkpoint &checkpoint);

/// Calls f(float{}) or f(double{}): the precision the checkpoint's network was trained in.
template <class F> decltype(auto) with_precision(const io::Checkpoint &checkpoint, F &&f)
{
  if (spec_of(checkpoint).dtype == Precision::float64)
    return f(double{});
  return f(float{});
}
} // namespace amk::train
