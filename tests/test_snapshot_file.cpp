// The snapshot data format and the HDF5 layer: round trips, one precise error per kind of
// malformed file, the atomic-write guarantees of H5Writer, and checkpoints' checksum.
#include <amk/core/error.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/io/snapshot_file.hpp>
#include <amk/train/checkpoint.hpp>
#include <amk/train/options.hpp>

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using amk::Error;
using amk::io::H5Reader;
using amk::io::H5Writer;
using amk::io::SnapshotData;

namespace
{
class SnapshotFile : public ::testing::Test
{
protected:
  void SetUp() override
  {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::path(::testing::TempDir()) / ("amk_snapshot_file_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override
  {
    // Every HDF5 handle the layer opened must be closed again.
    EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    fs::remove_all(m_dir);
  }

  std::string file(const std::string &name) const { return (m_dir / name).string(); }

  fs::path m_dir;
};

/// K = 3 snapshots of 2, 3 and 1 samples in d = 2.
SnapshotData valid_data()
{
  SnapshotData s;
  s.times = {0.0, 0.5, 1.25};
  s.dim = 2;
  s.offsets = {0, 2, 5, 6};
  s.x = {0.1, -1.0, 1.0 / 3.0, 2.5, 1e5 + 0.1, -7.0, 3.14159, 2.71828, 1e-8, 0.0, -0.3, 42.0};
  return s;
}

/// Writes the datasets of s as given (no validation), then lets edit add or replace some.
void write_raw(
    const std::string &path, const SnapshotData &s, const std::function<void(H5Writer &)> &edit = [](H5Writer &) {})
{
  H5Writer w(path);
  w.write_f64("/times", s.times.data(), {std::int64_t(s.times.size())});
  w.write_f64("/x", s.x.data(), {std::int64_t(s.x.size()) / (s.dim ? s.dim : 1), s.dim});
  w.write_i64("/offsets", s.offsets.data(), {std::int64_t(s.offsets.size())});
  if (!s.mass.empty())
    w.write_f64("/mass", s.mass.data(), {std::int64_t(s.mass.size())});
  edit(w);
  w.commit();
}

/// Writes a file with only the datasets that edit creates.
void write_only(const std::string &path, const std::function<void(H5Writer &)> &edit)
{
  H5Writer w(path);
  edit(w);
  w.commit();
}

/// Expects read_snapshots(path) to throw a one-line amk::Error naming path and containing want.
void expect_read_error(const std::string &path, const std::string &want)
{
  try
  {
    amk::io::read_snapshots(path);
    ADD_FAILURE() << "no error for " << path << " (wanted: " << want << ")";
  }
  catch (const Error &e)
  {
    const std::string what = e.what();
    EXPECT_NE(what.find(want), std::string::npos) << "message: " << what << "\nwanted: " << want;
    EXPECT_EQ(what.rfind(path, 0), 0u) << "message does not start with the file name: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

/// Expects validate(s) to throw an amk::Error containing want.
void expect_invalid(const SnapshotData &s, const std::string &want)
{
  try
  {
    amk::io::validate(s, "mem");
    ADD_FAILURE() << "no error (wanted: " << want << ")";
  }
  catch (const Error &e)
  {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << "message: " << e.what() << "\nwanted: " << want;
  }
}

const std::vector<double> kTwoTimes = {0.0, 1.0};
const std::vector<std::int64_t> kIntTimes = {0, 1, 2};
} // namespace

// --- Round trips ------------------------------------------------------------------------

TEST_F(SnapshotFile, RoundTripFloat64IsExact)
{
  SnapshotData s = valid_data();
  s.mass = {1.0, 0.5, 0.25, 0.0, 2.0, 1e-3};
  const std::string p = file("data.h5");
  amk::io::write_snapshots(p, s, false, {{"amk_source", "gaussian path: mu1=[1,2]"}, {"dim_names", "x,y"}});
  EXPECT_FALSE(fs::exists(p + ".tmp"));

  const SnapshotData r = amk::io::read_snapshots(p);
  EXPECT_EQ(r.times, s.times);
  EXPECT_EQ(r.dim, s.dim);
  EXPECT_EQ(r.offsets, s.offsets);
  EXPECT_EQ(r.x, s.x);
  EXPECT_EQ(r.mass, s.mass);
  EXPECT_EQ(r.snapshots(), 3);
  EXPECT_EQ(r.samples(), 6);

  const H5Reader h(p);
  EXPECT_EQ(h.read_string_attr("amk_source"), "gaussian path: mu1=[1,2]");
  EXPECT_EQ(h.read_string_attr("dim_names"), "x,y");
  EXPECT_TRUE(h.is_float("/x"));
  EXPECT_TRUE(h.is_integer("/offsets"));
  EXPECT_EQ(h.shape("/x"), (std::vector<std::int64_t>{6, 2}));
}

TEST_F(SnapshotFile, RoundTripWithoutMass)
{
  const SnapshotData s = valid_data();
  const std::string p = file("data.h5");
  amk::io::write_snapshots(p, s);
  const SnapshotData r = amk::io::read_snapshots(p);
  EXPECT_TRUE(r.mass.empty());
  EXPECT_FALSE(H5Reader(p).has("/mass"));
  EXPECT_EQ(r.x, s.x);
}

TEST_F(SnapshotFile, RoundTripFloat32RoundsWithinFloatPrecision)
{
  const SnapshotData s = valid_data();
  const std::string p = file("data32.h5");
  amk::io::write_snapshots(p, s, true);

  // Stored as a 4-byte float.
  {
    const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t ds = H5Dopen2(f, "/x", H5P_DEFAULT);
    const hid_t t = H5Dget_type(ds);
    EXPECT_EQ(H5Tget_class(t), H5T_FLOAT);
    EXPECT_EQ(H5Tget_size(t), 4u);
    H5Tclose(t);
    H5Dclose(ds);
    H5Fclose(f);
  }

  const SnapshotData r = amk::io::read_snapshots(p);
  EXPECT_EQ(r.times, s.times); // times stay float64
  EXPECT_EQ(r.offsets, s.offsets);
  ASSERT_EQ(r.x.size(), s.x.size());
  bool any_rounded = false;
  for (std::size_t i = 0; i < s.x.size(); ++i)
  {
    EXPECT_LE(std::abs(r.x[i] - s.x[i]), 1e-7 * std::abs(s.x[i])) << "x[" << i << "]";
    EXPECT_EQ(r.x[i], double(float(s.x[i])));
    any_rounded = any_rounded || r.x[i] != s.x[i];
  }
  EXPECT_TRUE(any_rounded) << "float32 storage should round 0.1";
}

TEST_F(SnapshotFile, Float32OverflowIsRefused)
{
  SnapshotData s = valid_data();
  s.x[3] = 1e39;
  const std::string p = file("data.h5");
  try
  {
    amk::io::write_snapshots(p, s, true);
    ADD_FAILURE() << "no error";
  }
  catch (const Error &e)
  {
    EXPECT_NE(std::string(e.what()).find("/x[1, 1] = 1e+39 overflows float32"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

// --- The file itself ---------------------------------------------------------------------

TEST_F(SnapshotFile, MissingFile) { expect_read_error(file("nope.h5"), "no such file"); }

TEST_F(SnapshotFile, NotHdf5)
{
  const std::string p = file("text.h5");
  std::ofstream(p) << "times,x\n0,1\n";
  expect_read_error(p, "not an HDF5 file");
}

TEST_F(SnapshotFile, Directory) { expect_read_error(m_dir.string(), "is a directory"); }

// --- /times --------------------------------------------------------------------------------

TEST_F(SnapshotFile, TimesMissing)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  write_only(p,
             [&](H5Writer &w)
             {
               w.write_f64("/x", s.x.data(), {6, 2});
               w.write_i64("/offsets", s.offsets.data(), {4});
             });
  expect_read_error(p, ": missing dataset /times");
}

TEST_F(SnapshotFile, TimesNotRank1)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  const std::vector<double> t = {0, 1, 2, 3, 4, 5};
  write_raw(p, s, [&](H5Writer &w) { w.write_f64("/times", t.data(), {3, 2}); });
  expect_read_error(p, ": /times must be rank 1 (float64[K], the snapshot times), got shape [3, 2]");
}

TEST_F(SnapshotFile, TimesNotFloating)
{
  const std::string p = file("d.h5");
  write_raw(p, valid_data(), [&](H5Writer &w) { w.write_i64("/times", kIntTimes.data(), {3}); });
  expect_read_error(p, ": /times must be floating point");
}

TEST_F(SnapshotFile, TimesSingleSnapshot)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.times = {0.0};
  s.offsets = {0, 6};
  write_raw(p, s);
  expect_read_error(p, ": /times holds 1 snapshot(s); at least 2 are needed");
}

TEST_F(SnapshotFile, TimesNotFinite)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.times[1] = std::numeric_limits<double>::quiet_NaN();
  write_raw(p, s);
  expect_read_error(p, ": /times[1] = nan is not finite");
}

TEST_F(SnapshotFile, TimesNotIncreasing)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.times = {0.0, 0.5, 0.5};
  write_raw(p, s);
  expect_read_error(p, ": /times must be strictly increasing (times[2] = 0.5 <= times[1] = 0.5)");
}

// --- /x ------------------------------------------------------------------------------------

TEST_F(SnapshotFile, XMissing)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  write_only(p,
             [&](H5Writer &w)
             {
               w.write_f64("/times", s.times.data(), {3});
               w.write_i64("/offsets", s.offsets.data(), {4});
             });
  expect_read_error(p, ": missing dataset /x");
}

TEST_F(SnapshotFile, XNotRank2)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  write_raw(p, s, [&](H5Writer &w) { w.write_f64("/x", s.x.data(), {12}); });
  expect_read_error(p, ": /x must be rank 2");
}

TEST_F(SnapshotFile, XNotFloating)
{
  const std::string p = file("d.h5");
  const std::vector<std::int64_t> xi(12, 1);
  write_raw(p, valid_data(), [&](H5Writer &w) { w.write_i64("/x", xi.data(), {6, 2}); });
  expect_read_error(p, ": /x must be floating point");
}

TEST_F(SnapshotFile, XZeroColumns)
{
  const std::string p = file("d.h5");
  write_raw(p, valid_data(), [&](H5Writer &w) { w.write_f64("/x", nullptr, {6, 0}); });
  expect_read_error(p, ": /x has zero columns");
}

TEST_F(SnapshotFile, XNaNNamesSnapshotAndRow)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.x[3 * 2 + 1] = std::numeric_limits<double>::quiet_NaN(); // global row 3 = snapshot 1, row 1
  write_raw(p, s);
  expect_read_error(p, ": /x[3, 1] = nan is not finite (snapshot 1, row 1 of that snapshot)");
}

TEST_F(SnapshotFile, XInfNamesSnapshotAndRow)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.x[5 * 2] = -std::numeric_limits<double>::infinity(); // row 5 = snapshot 2, row 0
  write_raw(p, s);
  expect_read_error(p, ": /x[5, 0] = -inf is not finite (snapshot 2, row 0 of that snapshot)");
}

// --- /offsets ------------------------------------------------------------------------------

TEST_F(SnapshotFile, OffsetsMissing)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  write_only(p,
             [&](H5Writer &w)
             {
               w.write_f64("/times", s.times.data(), {3});
               w.write_f64("/x", s.x.data(), {6, 2});
             });
  expect_read_error(p, ": missing dataset /offsets");
}

TEST_F(SnapshotFile, OffsetsNotRank1)
{
  const std::string p = file("d.h5");
  const SnapshotData s = valid_data();
  write_raw(p, s, [&](H5Writer &w) { w.write_i64("/offsets", s.offsets.data(), {2, 2}); });
  expect_read_error(p, ": /offsets must be rank 1");
}

TEST_F(SnapshotFile, OffsetsNotInteger)
{
  const std::string p = file("d.h5");
  const std::vector<double> off = {0, 2, 5, 6};
  write_raw(p, valid_data(), [&](H5Writer &w) { w.write_f64("/offsets", off.data(), {4}); });
  expect_read_error(p, ": /offsets must be integer");
}

TEST_F(SnapshotFile, OffsetsWrongLength)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.offsets = {0, 2, 6};
  write_raw(p, s);
  expect_read_error(p, ": /offsets has length 3, expected K+1 = 4 (K = 3 snapshots in /times)");
}

TEST_F(SnapshotFile, OffsetsNotStartingAtZero)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.offsets = {1, 2, 5, 6};
  write_raw(p, s);
  expect_read_error(p, ": /offsets[0] = 1, must be 0");
}

TEST_F(SnapshotFile, OffsetsEmptySnapshot)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.offsets = {0, 2, 2, 6};
  write_raw(p, s);
  expect_read_error(p,
                    ": /offsets must be strictly increasing (offsets[2] = 2 <= offsets[1] = 2: snapshot 1 is empty)");
}

TEST_F(SnapshotFile, OffsetsDecreasing)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.offsets = {0, 4, 3, 6};
  write_raw(p, s);
  expect_read_error(p, "snapshot 1 has negative size");
}

TEST_F(SnapshotFile, OffsetsNotEndingAtN)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.offsets = {0, 2, 5, 7};
  write_raw(p, s);
  expect_read_error(p, ": /offsets[3] = 7 does not match the 6 rows of /x");
}

// --- /mass ---------------------------------------------------------------------------------

TEST_F(SnapshotFile, MassWrongShape)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.mass = {1, 1, 1, 1, 1};
  write_raw(p, s);
  expect_read_error(p, ": /mass must have shape [N] = [6] (one weight per row of /x), got [5]");
}

TEST_F(SnapshotFile, MassNotFinite)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.mass = {1, 1, 1, std::numeric_limits<double>::infinity(), 1, 1};
  write_raw(p, s);
  expect_read_error(p, ": /mass[3] = inf is not finite");
}

TEST_F(SnapshotFile, MassNegative)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.mass = {1, 1, 1, 1, -0.5, 1};
  write_raw(p, s);
  expect_read_error(p, ": /mass[4] = -0.5 is negative");
}

TEST_F(SnapshotFile, MassZeroOverASnapshot)
{
  const std::string p = file("d.h5");
  SnapshotData s = valid_data();
  s.mass = {1, 1, 1, 1, 1, 0};
  write_raw(p, s);
  expect_read_error(p, ": /mass sums to 0 over snapshot 2");
}

// --- In-memory validation and write_snapshots --------------------------------------------

TEST_F(SnapshotFile, ValidateInMemory)
{
  EXPECT_NO_THROW(amk::io::validate(valid_data(), "mem"));
  SnapshotData s = valid_data();
  s.x.pop_back();
  expect_invalid(s, "mem: /x holds 11 values, not a multiple of d = 2");
  s = valid_data();
  s.dim = 0;
  expect_invalid(s, "mem: /x has 0 columns");
  s = valid_data();
  s.offsets.pop_back();
  expect_invalid(s, "mem: /offsets has length 3, expected K+1 = 4");
  s = valid_data();
  s.mass = {1, 2};
  expect_invalid(s, "mem: /mass has length 2, expected N = 6");
}

TEST_F(SnapshotFile, WriteInvalidLeavesExistingFileAlone)
{
  const std::string p = file("data.h5");
  amk::io::write_snapshots(p, valid_data());
  SnapshotData bad = valid_data();
  bad.times[2] = 0.0;
  EXPECT_THROW(amk::io::write_snapshots(p, bad), Error);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  EXPECT_EQ(amk::io::read_snapshots(p).times, valid_data().times);
}

// --- H5Writer / H5Reader ------------------------------------------------------------------

TEST_F(SnapshotFile, WriterWithoutCommitLeavesNothing)
{
  const std::string p = file("out.h5");
  {
    H5Writer w(p);
    w.write_f64("/v", kTwoTimes.data(), {2});
    EXPECT_TRUE(fs::exists(p + ".tmp"));
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST_F(SnapshotFile, WriterExceptionLeavesNothing)
{
  const std::string p = file("out.h5");
  try
  {
    H5Writer w(p);
    w.write_f64("/v", kTwoTimes.data(), {2});
    throw std::runtime_error("crash while writing");
  }
  catch (const std::runtime_error &)
  {
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST_F(SnapshotFile, CommitReplacesExistingFile)
{
  const std::string p = file("out.h5");
  const std::vector<double> one = {1.0}, two = {2.0};
  {
    H5Writer w(p);
    w.write_f64("/v", one.data(), {1});
    w.commit();
  }
  {
    H5Writer w(p);
    w.write_f64("/v", two.data(), {1});
    w.write_i64_attr("step", 7);
    // Until commit, the old file is intact.
    EXPECT_EQ(H5Reader(p).read_f64("/v"), one);
    w.commit();
    EXPECT_THROW(w.write_f64("/w", two.data(), {1}), Error);
  }
  const H5Reader r(p);
  EXPECT_EQ(r.read_f64("/v"), two);
  EXPECT_EQ(r.read_f64_attr("step"), 7.0);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST_F(SnapshotFile, WriterIntoMissingDirectoryFails)
{
  try
  {
    H5Writer w(file("no/such/dir/out.h5"));
    ADD_FAILURE() << "no error";
  }
  catch (const Error &e)
  {
    EXPECT_NE(std::string(e.what()).find("cannot create the temporary file"), std::string::npos) << e.what();
  }
}

TEST_F(SnapshotFile, ReaderConversionsAndAttributes)
{
  const std::string p = file("misc.h5");
  const std::vector<std::int64_t> ints = {3, -4, 5, 6, 7, 8};
  const std::vector<double> reals = {0.5, 1.5};
  const std::string long_text(100000, 'j'); // beyond the 64 KiB compact-attribute limit
  {
    H5Writer w(p);
    w.write_i64("/ints", ints.data(), {2, 3});
    w.write_f64("/reals", reals.data(), {2});
    w.write_f64("/empty", nullptr, {0, 3});
    w.write_string_attr("config", long_text);
    w.write_f64_attr("scale", 0.25);
    w.write_i64_attr("step", -12);
    w.commit();
  }
  // A fixed-length, null-padded string attribute, as some writers produce.
  {
    const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 16);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    const hid_t sp = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "fixed", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    char buf[16] = "hello";
    EXPECT_GE(H5Awrite(a, t, buf), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
  }
  const H5Reader r(p);
  EXPECT_EQ(r.path(), p);
  EXPECT_TRUE(r.has("/ints"));
  EXPECT_FALSE(r.has("/nothing"));
  EXPECT_FALSE(r.has("/nothing/deeper"));
  EXPECT_EQ(r.shape("/ints"), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(r.shape("/empty"), (std::vector<std::int64_t>{0, 3}));
  EXPECT_TRUE(r.read_f64("/empty").empty());
  EXPECT_TRUE(r.is_integer("/ints"));
  EXPECT_FALSE(r.is_float("/ints"));
  EXPECT_EQ(r.read_i64("/ints"), ints);
  EXPECT_EQ(r.read_f64("/ints"), (std::vector<double>{3, -4, 5, 6, 7, 8}));
  EXPECT_EQ(r.read_f64("/reals"), reals);
  EXPECT_EQ(r.read_string_attr("config"), long_text);
  EXPECT_EQ(r.read_string_attr("fixed"), "hello");
  EXPECT_TRUE(r.has_attr("scale"));
  EXPECT_FALSE(r.has_attr("absent"));
  EXPECT_EQ(r.read_f64_attr("scale"), 0.25);
  EXPECT_EQ(r.read_f64_attr("step"), -12.0);

  EXPECT_THROW(r.read_i64("/reals"), Error);
  EXPECT_THROW(r.read_f64("/nothing"), Error);
  EXPECT_THROW(r.shape("/nothing"), Error);
  EXPECT_THROW(r.read_string_attr("absent"), Error);
  EXPECT_THROW(r.read_string_attr("scale"), Error);
  EXPECT_THROW(r.read_f64_attr("config"), Error);
  try
  {
    r.read_i64("/reals");
  }
  catch (const Error &e)
  {
    EXPECT_EQ(std::string(e.what()), p + ": /reals must hold integers");
  }
}

// --- Checkpoints: the checksum catches every corruption that changes the content ----------

namespace
{
amk::io::Checkpoint sample_checkpoint()
{
  amk::io::Checkpoint c;
  amk::train::RunSpec config;
  config.network.dim = 2;
  config.network.width = 8;
  config.network.depth = 1;
  c.config = amk::train::to_json(config);
  c.objective = {{"loss", "am"}, {"sigma_t", nlohmann::json::array()}, {"sigma", nlohmann::json::array()}, {"growth", 0}};
  c.step = 1234;
  for (int i = 0; i < config.network.param_count(); ++i)
  {
    c.params.push_back(std::sin(0.1 * i));
    c.ema.push_back(std::cos(0.1 * i));
    c.adam_m.push_back(1e-3 * i);
    c.adam_v.push_back(1e-6 * i);
  }
  c.normalisation.shift = {50.0, -3.0};
  c.normalisation.t0 = 3;
  c.normalisation.span = 2;
  c.normalisation.scale = 0.5;
  c.engine = "fused";
  return c;
}

bool same(const amk::io::Checkpoint &a, const amk::io::Checkpoint &b)
{
  return a.config == b.config && a.objective == b.objective && a.step == b.step && a.ranks == b.ranks &&
         a.engine == b.engine &&
         a.params == b.params && a.ema == b.ema && a.adam_m == b.adam_m && a.adam_v == b.adam_v &&
         a.normalisation.shift == b.normalisation.shift && a.normalisation.t0 == b.normalisation.t0 &&
         a.normalisation.span == b.normalisation.span && a.normalisation.scale == b.normalisation.scale;
}

std::string read_bytes(const std::string &path)
{
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_bytes(const std::string &path, const std::string &bytes)
{
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}
} // namespace

TEST_F(SnapshotFile, CheckpointRoundTripCarriesAChecksum)
{
  const auto c = sample_checkpoint();
  amk::io::write_checkpoint(file("c.h5"), c);
  EXPECT_TRUE(same(amk::io::read_checkpoint(file("c.h5")), c));
  EXPECT_EQ(H5Reader(file("c.h5")).read_string_attr("checksum").rfind("crc32:", 0), 0u);
}

TEST_F(SnapshotFile, CheckpointContentIsCheckedOnRead)
{
  // Files another tool, an older amk or a damaged disk could produce, with a valid checksum
  // (the cases the fuzz harness reached): refused on reading with one line naming the file.
  auto expect_refused = [&](const amk::io::Checkpoint &c, const std::string &what)
  {
    amk::io::write_checkpoint(file("c.h5"), c);
    try
    {
      amk::train::load_checkpoint(file("c.h5"));
      ADD_FAILURE() << "accepted: " << what;
    }
    catch (const amk::Error &e)
    {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind(file("c.h5"), 0), 0u) << m;
      EXPECT_NE(m.find(what), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  };
  auto c = sample_checkpoint();
  c.params.pop_back();
  c.ema.pop_back();
  c.adam_m.pop_back();
  c.adam_v.pop_back();
  expect_refused(c, "holds 40 values but the network in its config has 41 parameters");
  c = sample_checkpoint();
  c.normalisation.shift = {1.0};
  expect_refused(c, "/shift has 1 values for a network of dimension 2");
  c = sample_checkpoint();
  c.normalisation.span = 0;
  expect_refused(c, "normalisation");
  c = sample_checkpoint();
  c.normalisation.scale = std::nan("");
  expect_refused(c, "normalisation");
  c = sample_checkpoint();
  c.config["network"] = 3;
  expect_refused(c, "malformed configuration: no 'network/dim'");
  c = sample_checkpoint();
  c.config["network"]["width"] = 1 << 20;
  expect_refused(c, "--width must be in");
  c = sample_checkpoint();
  c.config["dtype"] = "half";
  expect_refused(c, "'dtype' must be float or double (got 'half')");
  c = sample_checkpoint();
  c.objective["loss"] = "a\nb";
  expect_refused(c, "objective loss must be am, eam or uam (got 'a\\nb')"); // the newline written as \n: one line
  c = sample_checkpoint();
  c.step = -1;
  expect_refused(c, "step attribute is negative");
}

TEST_F(SnapshotFile, CheckpointBitFlipsAreRejectedOrHarmless)
{
  // Every byte of the file flipped in turn (one bit, a different one each time): reading
  // either fails with a one-line error naming the file, or gives back exactly the content
  // written (the flip hit padding or unused space). Never different weights, never a crash.
  const auto c = sample_checkpoint();
  amk::io::write_checkpoint(file("c.h5"), c);
  const std::string good = read_bytes(file("c.h5"));
  std::size_t rejected = 0, harmless = 0;
  for (std::size_t i = 0; i < good.size(); i += 1 + i % 3)
  {
    std::string bad = good;
    bad[i] = char(bad[i] ^ (1 << (i % 8)));
    write_bytes(file("bad.h5"), bad);
    try
    {
      const auto r = amk::io::read_checkpoint(file("bad.h5"));
      ASSERT_TRUE(same(r, c)) << "byte " << i << " flipped: different content read without an error";
      ++harmless;
    }
    catch (const Error &e)
    {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(file("bad.h5"), 0), 0u) << "byte " << i << ": " << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << "byte " << i << ": " << what;
      ++rejected;
    }
  }
  std::printf("[ checkpoint bit flips ] %zu of %zu bytes: %zu rejected, %zu harmless\n", rejected + harmless,
              good.size(), rejected, harmless);
  EXPECT_GT(rejected, 0u);
}

TEST_F(SnapshotFile, CheckpointTruncationsAreRejected)
{
  amk::io::write_checkpoint(file("c.h5"), sample_checkpoint());
  const std::string good = read_bytes(file("c.h5"));
  for (std::size_t n : {std::size_t(0), std::size_t(7), std::size_t(512), good.size() / 2, good.size() - 1})
  {
    write_bytes(file("cut.h5"), good.substr(0, n));
    EXPECT_THROW(amk::io::read_checkpoint(file("cut.h5")), Error) << "truncated to " << n << " bytes";
  }
}

TEST_F(SnapshotFile, CheckpointChangedContentFailsItsChecksum)
{
  // A checkpoint edited by another tool (h5py, say) without updating the checksum
  amk::io::write_checkpoint(file("c.h5"), sample_checkpoint());
  {
    auto c = sample_checkpoint();
    c.params[17] += 1e-12;
    H5Writer w(file("edited.h5"));
    w.write_f64("/params", c.params.data(), {std::int64_t(c.params.size())});
    for (const char *name : {"/ema", "/adam_m", "/adam_v", "/shift"})
    {
      const auto v = H5Reader(file("c.h5")).read_f64(name);
      w.write_f64(name, v.data(), {std::int64_t(v.size())});
    }
    H5Reader r(file("c.h5"));
    for (const char *name : {"format", "amk_version", "config", "objective", "checksum"})
      w.write_string_attr(name, r.read_string_attr(name));
    for (const char *name : {"step", "ranks"})
      w.write_i64_attr(name, std::int64_t(r.read_f64_attr(name)));
    for (const char *name : {"t0", "span", "scale"})
      w.write_f64_attr(name, r.read_f64_attr(name));
    w.commit();
  }
  try
  {
    amk::io::read_checkpoint(file("edited.h5"));
    ADD_FAILURE() << "an edited /params was read";
  }
  catch (const Error &e)
  {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
}
