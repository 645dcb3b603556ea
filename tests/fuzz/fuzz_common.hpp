#pragma once
// Shared by the libFuzzer harnesses. Each input becomes a file a user could hand amk; the
// rule they enforce is the product's: a bad file is refused with an amk::Error whose message
// is one non-empty line, anything else (another exception, a crash, a leak, undefined
// behaviour, an allocation beyond -malloc_limit_mb) is a finding.
#include <amk/core/error.hpp>
#include <amk/io/hdf5.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <string>
#include <unistd.h>

namespace amk::fuzz
{
/// A scratch file of this process (under $TMPDIR), the same for every input. Its name has
/// the same length whatever the process id (the id zero-padded): the path reaches the error
/// messages, and a run from a fixed seed must take the same course on every machine.
inline const std::string &scratch(const char *name)
{
  static const std::string dir = [] {
    const char *tmp = std::getenv("TMPDIR");
    char id[16];
    std::snprintf(id, sizeof id, "%010ld", long(::getpid()));
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/amk-fuzz-" + id;
  }();
  static std::string path;
  path = dir + "-" + name;
  return path;
}

inline void write_file(const std::string &path, const std::uint8_t *data, std::size_t size)
{
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0)
    std::abort();
}

/// An input that starts with HDF5's signature is the file itself (byte-level mutation of real
/// files); any other input is decoded into a file built through the HDF5 API (structure-level:
/// shapes, types, values, attributes), which reaches the checks behind HDF5's own.
inline bool is_hdf5_file(const std::uint8_t *data, std::size_t size)
{
  return size >= 8 && std::memcmp(data, "\x89HDF\r\n\x1a\n", 8) == 0;
}

/// Runs f; an amk::Error with a one-line message is the expected refusal.
template <class F> void only_amk_errors(F &&f)
{
  try
  {
    f();
  }
  catch (const amk::Error &e)
  {
    const std::string m = e.what();
    if (m.empty() || m.find('\n') != std::string::npos)
    {
      std::fprintf(stderr, "amk::Error message is not one line: '%s'\n", m.c_str());
      std::abort();
    }
  }
  catch (const std::exception &e)
  {
    std::fprintf(stderr, "an exception other than amk::Error escaped: %s\n", e.what());
    std::abort();
  }
}

/// Open HDF5 objects (files, groups, datasets, named datatypes, attributes): a handle left
/// open on an error path is a leak LeakSanitizer cannot see (HDF5 keeps it reachable), so
/// every input must end with the count it started with.
inline ssize_t hdf5_handles()
{
  H5open();
  return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

template <class F> void without_leaked_handles(F &&f)
{
  const auto before = hdf5_handles();
  f();
  const auto after = hdf5_handles();
  if (after != before)
  {
    std::fprintf(stderr, "HDF5 objects left open: %zd before the input, %zd after\n", before, after);
    std::abort();
  }
}

/// True when the file's datasets declare more than 2^26 values (512 MB as double). A file
/// may describe far more than it stores (unallocated chunks read as fill values); amk then
/// reads what it declares if the memory is there (and refuses with both sizes if not, tested
/// in tests/test_cli.sh), which in a harness would only measure the machine's memory.
inline bool declares_huge_datasets(const std::string &path)
{
  try
  {
    const amk::io::H5Reader r(path);
    double total = 0;
    for (const char *name : {"/x", "/t", "/times", "/offsets", "/mass", "/snapshot_mass", "/params", "/ema",
                             "/adam_m", "/adam_v", "/shift"})
      if (r.has(name))
      {
        double n = 1;
        for (const auto e : r.shape(name))
          n *= double(e);
        total += n;
      }
    return total > double(1 << 26);
  }
  catch (const amk::Error &)
  {
    return false; // the reader under test will say what is wrong
  }
}

/// The harness's libFuzzer entry point: each input to `handle(data, size)`, with no HDF5
/// object left open after it.
#define AMK_FUZZ_ENTRY(handle)                                                                                         \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)                                    \
  {                                                                                                                    \
    amk::fuzz::without_leaked_handles([&] { handle(data, size); });                                                     \
    return 0;                                                                                                          \
  }

/// A double that is often special: the values that break validation code.
inline double pick_double(FuzzedDataProvider &p)
{
  switch (p.ConsumeIntegralInRange<int>(0, 7))
  {
  case 0:
    return 0.0;
  case 1:
    return -1.0;
  case 2:
    return std::numeric_limits<double>::quiet_NaN();
  case 3:
    return std::numeric_limits<double>::infinity();
  case 4:
    return 1e300;
  case 5:
    return double(p.ConsumeIntegralInRange<int>(-3, 3));
  default:
    return p.ConsumeFloatingPointInRange<double>(-1e3, 1e3);
  }
}
} // namespace amk::fuzz
