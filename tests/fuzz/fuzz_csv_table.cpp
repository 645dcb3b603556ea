// libFuzzer harness: CSV tables (amk train/sample/eval/convert --data T.csv), the input bytes
// as the file, read with a time column and a --dims from the input's last two bytes: every
// outcome is snapshots that validate or one amk::Error.
#include "fuzz_common.hpp"
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>

namespace
{
int one_input(const std::uint8_t *data, std::size_t size)
{
  const std::string &path = amk::fuzz::scratch("table.csv");
  amk::io::ImportOptions options;
  if (size >= 2)
  {
    const std::uint8_t column = data[size - 2], dims = data[size - 1];
    options.time_column = column % 4 == 0 ? std::string() : column % 4 == 1 ? "t" : column % 4 == 2 ? "samples" : "x2";
    options.dims = dims % 5;
    size -= 2;
  }
  amk::fuzz::write_file(path, data, size);
  amk::fuzz::only_amk_errors([&] {
    const auto snapshots = amk::io::read_data(path, options);
    amk::io::validate(snapshots, path); // what it returns is valid
  });
  std::remove(path.c_str());
  return 0;
}
} // namespace

AMK_FUZZ_ENTRY(one_input)
