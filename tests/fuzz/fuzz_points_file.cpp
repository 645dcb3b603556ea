// libFuzzer harness: the points file of amk field and amk eval --points (/x [n, d], /t [n]),
// from byte-mutated files and from files built with fuzzed shapes, types and values.
#include "../../apps/commands.hpp"
#include "fuzz_common.hpp"
#include <amk/io/hdf5.hpp>

namespace
{
void write(FuzzedDataProvider &p, amk::io::H5Writer &w, const std::string &name)
{
  std::vector<std::int64_t> shape(static_cast<std::size_t>(p.ConsumeIntegralInRange<int>(0, 3)));
  std::int64_t count = 1;
  for (auto &e : shape)
    count *= (e = p.ConsumeIntegralInRange<std::int64_t>(0, 4));
  std::vector<double> v(static_cast<std::size_t>(count));
  for (auto &x : v)
    x = p.ConsumeIntegralInRange<int>(0, 9) ? 50.0 + x : amk::fuzz::pick_double(p);
  if (p.ConsumeIntegralInRange<int>(0, 3))
    w.write_f64(name, v.data(), shape);
  else
  {
    std::vector<std::int64_t> i(v.size(), 7);
    w.write_i64(name, i.data(), shape);
  }
}
} // namespace

namespace
{
int one_input(const std::uint8_t *data, std::size_t size)
{
  const std::string &path = amk::fuzz::scratch("points.h5");
  FuzzedDataProvider p(data, size);
  std::int64_t d = 2;
  if (amk::fuzz::is_hdf5_file(data, size))
    amk::fuzz::write_file(path, data, size);
  else
  {
    d = p.ConsumeIntegralInRange<std::int64_t>(1, 3);
    amk::fuzz::only_amk_errors([&] {
      amk::io::H5Writer w(path);
      if (p.ConsumeIntegralInRange<int>(0, 7))
        write(p, w, "/x");
      if (p.ConsumeIntegralInRange<int>(0, 7))
        write(p, w, "/t");
      w.commit();
    });
  }
  if (!amk::fuzz::declares_huge_datasets(path))
    amk::fuzz::only_amk_errors([&] { amk::app::read_points(path, d); });
  std::remove(path.c_str());
  return 0;
}
} // namespace

AMK_FUZZ_ENTRY(one_input)
