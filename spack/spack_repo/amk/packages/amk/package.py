# Spack recipe for amk (package API v2; Spack >= 1.0 with the spack-packages builtin repo).
#
# amk has no public release or repository URL yet, so the recipe has one version, "main",
# and builds it from a clone you already have (an environment with `spack develop`):
#
#   spack repo add --scope user <clone>/spack/spack_repo/amk
#   spack env create -d amk-env
#   spack -e amk-env add amk@=main +mpi
#   spack -e amk-env develop -p <clone> amk@=main
#   spack -e amk-env install             # add --test=root to build and run the ctest suite
#   spack -e amk-env test run amk        # the stand-alone test: train, sample, evaluate
#
# or, in the clone, `spack dev-build amk@=main`. To let Spack clone amk itself, point the
# recipe at a repository without editing it (packages.yaml):
#   packages: {amk: {package_attributes: {git: <URL or file:///path/to/a/clone>}}}
# then `spack install amk@main`.
#
# GPUs: `amk +cuda cuda_arch=90` (Kokkos, Kokkos Kernels and cuBLAS for that arch; with GCC,
# Kokkos needs +wrapper, nvcc_wrapper, which the concretizer picks by itself);
# `amk +rocm amdgpu_target=gfx90a` (Kokkos HIP, Kokkos Kernels with rocBLAS). Neither has run
# on a GPU: the CUDA build compiles and links for sm_90 with CUDA 13.0 and the HIP build for
# gfx90a with Debian 12's ROCm 5.2 (by hand, README "Kokkos 4 from source"; rocBLAS was not
# there, so that build used Kokkos Kernels' own GEMM); Spack's own ROCm builds are unchecked.
import os

from spack_repo.builtin.build_systems.cmake import CMakePackage
from spack_repo.builtin.build_systems.cuda import CudaPackage
from spack_repo.builtin.build_systems.rocm import ROCmPackage

from spack.package import *


class Amk(CMakePackage, CudaPackage, ROCmPackage):
    """Learn stochastic dynamics from samples with Action Matching, on Kokkos, with MPI
    data parallelism over time-snapshot shards. Installs the `amk` program and the amk
    library (find_package(amk), target amk::amk)."""

    # No public homepage or repository yet. `git` defaults to the amk clone this recipe lives
    # in (<clone>/spack/spack_repo/amk/packages/amk/package.py; with `spack repo add --name amk
    # <git URL>` that is Spack's own clone of the repository), so `spack install amk@main`
    # builds that clone's committed `main` branch. package_attributes (above) override it.
    homepage = "https://example.invalid/amk"
    git = "file://" + os.path.normpath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))

    maintainers("amk-developers")
    license("BSD-3-Clause")

    version("main", branch="main")

    variant("mpi", default=True, description="MPI data parallelism (with the parallel HDF5)")
    variant("openmp", default=True, description="Kokkos OpenMP backend (host threads)")
    variant("shared", default=True, description="Build shared libraries")
    variant("tests", default=False, description="Build the GoogleTest suite (AMK_ENABLE_TESTS)")
    variant(
        "benchmarks",
        default=False,
        description="Build the Google Benchmark drivers in perf/ (in the build tree: amk's "
        "CMake does not install them)",
    )

    depends_on("c", type="build")  # FindHDF5 needs the C language
    depends_on("cxx", type="build")
    depends_on("cmake@3.16:", type="build")

    # Tested: Kokkos and Kokkos Kernels 3.4 (Debian 12's Trilinos export) and 4.x.
    # Kokkos 5 is not tested yet.
    depends_on("kokkos@3.4:4")
    depends_on("kokkos-kernels@3.4:4")
    depends_on("kokkos+openmp", when="+openmp")
    depends_on("kokkos-kernels+openmp", when="+openmp")
    # One thread pool for the whole step: the BLAS behind Kokkos Kernels threads on the same
    # OpenMP runtime as Kokkos (OpenBLAS's pthreads and the OpenMP threads fight for the cores:
    # a step up to 4x slower; amk warns when it finds that pairing).
    depends_on("openblas threads=openmp", when="+openmp ^openblas")

    depends_on("mpi", when="+mpi")
    depends_on("hdf5")
    depends_on("hdf5+mpi", when="+mpi")
    depends_on("hdf5~mpi", when="~mpi")
    depends_on("cli11@2:")
    depends_on("nlohmann-json@3.9:")
    depends_on("fmt@8:")
    depends_on("zlib-api")  # CRC-32 of checkpoints
    depends_on("lemon@1.3:")  # exact optimal transport: the network simplex (headers)

    depends_on("googletest", type=("build", "link"), when="+tests")
    depends_on("benchmark", when="+benchmarks")
    # `spack install --test=root amk` builds and runs the suite (ctest): GoogleTest and the
    # command-line tests, which read HDF5 output with h5py and numpy.
    depends_on("googletest", type="test")
    depends_on("python@3:", type="test")
    depends_on("py-h5py", type="test")
    depends_on("py-numpy", type="test")

    # CUDA: Kokkos and Kokkos Kernels (with cuBLAS) for amk's cuda_arch.
    for _arch in CudaPackage.cuda_arch_values:
        _dep = f"+cuda cuda_arch={_arch}"
        depends_on(f"kokkos {_dep}", when=_dep)
        depends_on(f"kokkos-kernels {_dep} +cublas", when=_dep)
    conflicts("+cuda", when="cuda_arch=none")
    requires("^kokkos+cuda_lambda", when="+cuda ^kokkos@:4")
    # GCC cannot compile CUDA: Kokkos must hand it to nvcc_wrapper (+wrapper) or be built
    # with clang (the kokkos recipe fails at build time otherwise; this rejects the spec at
    # concretization). Kokkos' third way, +cmake_lang, compiles Kokkos code as CMake's CUDA
    # language, which amk's CMake does not do (it compiles its sources as CXX, and Kokkos'
    # headers then stop with "KOKKOS_ENABLE_CUDA defined but the compiler is not defining
    # the __CUDACC__ macro").
    requires(
        "^kokkos+wrapper",
        "^kokkos %cxx=llvm",
        policy="any_of",
        when="+cuda",
        msg="amk +cuda needs ^kokkos+wrapper (nvcc_wrapper) or a Kokkos built with clang",
    )
    conflicts(
        "^kokkos+cmake_lang",
        when="+cuda",
        msg="amk's CMake compiles its sources as CXX, not as CMake's CUDA language",
    )

    # ROCm: Kokkos (HIP) for amk's amdgpu_target; Kokkos Kernels with rocBLAS for the same.
    for _arch in ROCmPackage.amdgpu_targets:
        _dep = f"+rocm amdgpu_target={_arch}"
        depends_on(f"kokkos {_dep}", when=_dep)
        depends_on(f"rocblas amdgpu_target={_arch}", when=_dep)
    depends_on("kokkos-kernels+rocblas", when="+rocm")
    conflicts("+rocm", when="amdgpu_target=none")
    conflicts("+cuda", when="+rocm", msg="one GPU backend at a time")

    # `spack install amk ^kokkos+cuda cuda_arch=90` (or +rocm) selects amk's matching variant.
    for _arch in CudaPackage.cuda_arch_values:
        requires(f"+cuda cuda_arch={_arch}", when=f"^kokkos+cuda cuda_arch={_arch}")
    for _arch in ROCmPackage.amdgpu_targets:
        requires(f"+rocm amdgpu_target={_arch}", when=f"^kokkos+rocm amdgpu_target={_arch}")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define_from_variant("AMK_ENABLE_MPI", "mpi"),
            self.define_from_variant("AMK_ENABLE_BENCHMARKS", "benchmarks"),
            self.define("AMK_ENABLE_TESTS", spec.satisfies("+tests") or self.run_tests),
            self.define("AMK_ENABLE_APPS", True),
            self.define("AMK_ENABLE_FUZZ", False),
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
        ]
        # The compiler Kokkos was built for: nvcc_wrapper for CUDA with GCC, hipcc for HIP
        # unless Kokkos was built with clang/rocmcc (as the builtin kokkos-kernels does).
        if spec.satisfies("^kokkos+cuda+wrapper"):
            args.append(self.define("CMAKE_CXX_COMPILER", self["kokkos"].kokkos_cxx))
        elif spec.satisfies("^kokkos+rocm") and not (
            spec.satisfies("^kokkos %cxx=llvm") or spec.satisfies("^kokkos %cxx=llvm-amdgpu")
        ):
            args.append(self.define("CMAKE_CXX_COMPILER", spec["hip"].hipcc))
        if self.run_tests:  # the command-line tests' Python (h5py, numpy): Spack's python
            args.append(self.define("AMK_TEST_PYTHON", spec["python"].command.path))
        return args

    def _run_amk(self, amk, *args):
        out = amk(*args, output=str, error=str)
        print(out)
        return out

    def test_train_and_sample(self):
        """train on a small built-in Gaussian path, move samples, check the energy distance"""
        import json
        import math

        amk = which(self.prefix.bin.amk, required=True)
        # Two threads at most; passive waiting: spinning OpenMP threads on a busy machine
        # made the minibatch-OT coupling take seconds instead of 0.1 s.
        env["OMP_NUM_THREADS"] = "2"
        env.setdefault("OMP_WAIT_POLICY", "passive")
        env.setdefault("OMP_PROC_BIND", "false")

        with test_part(self, "test_train_and_sample_info", purpose="amk info: backends"):
            out = self._run_amk(amk, "info")
            assert "kokkos" in out, out
            if self.spec.satisfies("^kokkos+openmp~cuda~rocm"):
                assert "default execution space OpenMP" in out, out
            kind = "parallel" if self.spec.satisfies("^hdf5+mpi") else "serial"
            assert f"({kind})" in out, out  # the HDF5 amk was built against

        with test_part(
            self, "test_train_and_sample_pipeline", purpose="datagen, train, sample, eval"
        ):
            self._run_amk(
                amk, "datagen", "gaussian", "--dim", "2", "--snapshots", "5",
                "--samples", "500", "--t0", "0", "--t1", "1", "--out", "data.h5",
            )  # fmt: skip
            self._run_amk(
                amk, "train", "--data", "data.h5", "--out", "run", "--steps", "300",
                "--batch", "256", "--width", "32", "--depth", "2", "--lr", "3e-3",
                "--log-every", "100",
            )  # fmt: skip
            assert os.path.isfile(join_path("run", "checkpoint.h5"))
            self._run_amk(
                amk, "sample", "--checkpoint", join_path("run", "checkpoint.h5"),
                "--data", "data.h5", "--from-snapshot", "0", "--to-time", "1",
                "--steps", "20", "--record-every", "5", "--n", "500", "--out", "samples.h5",
            )  # fmt: skip
            assert os.path.isfile("samples.h5")
            self._run_amk(
                amk, "eval", "--data", "data.h5", "--samples", "samples.h5", "--out", "eval.json"
            )
            with open("eval.json") as f:
                report = json.load(f)
            eds = [r["energy_distance"] for r in report["results"]]
            assert len(eds) == 5, report
            assert all(math.isfinite(e) for e in eds), eds
            # Samples of t = 0 moved to t = 1 by the learned velocity: |ED| ~ 0.002 against
            # the t = 1 snapshot (unmoved samples: ~1.9; the data's scale is ~1).
            assert abs(eds[-1]) < 0.05, f"energy distance at t = 1: {eds[-1]}"
            assert max(abs(e) for e in eds) < 0.05, eds
