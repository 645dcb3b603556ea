# Spack recipe for amk (package API v2).
#   spack repo add --scope user spack/spack_repo/amk
#   spack install amk                                   # CPU, Kokkos from Spack or externals
#   spack install amk +cuda cuda_arch=90 ^kokkos+cuda+wrapper cuda_arch=90
from spack_repo.builtin.build_systems.cmake import CMakePackage
from spack_repo.builtin.build_systems.cuda import CudaPackage
from spack_repo.builtin.build_systems.rocm import ROCmPackage

from spack.package import *


class Amk(CMakePackage, CudaPackage, ROCmPackage):
    """Learn stochastic dynamics from samples with Action Matching, on Kokkos, with MPI
    data parallelism over time-snapshot shards."""

    homepage = "https://example.invalid/amk"
    git = "https://example.invalid/amk.git"
    maintainers("amk-developers")
    license("BSD-3-Clause")

    version("main", branch="main")

    variant("mpi", default=True, description="MPI data parallelism")
    variant("shared", default=True, description="Build shared libraries")
    variant("benchmarks", default=False, description="Build the Google Benchmark drivers in perf/")

    depends_on("c", type="build")  # FindHDF5 needs the C language
    depends_on("cxx", type="build")
    depends_on("cmake@3.16:", type="build")
    depends_on("kokkos@3.4:")
    depends_on("kokkos-kernels@3.4:")
    depends_on("hdf5")
    depends_on("hdf5+mpi", when="+mpi")
    depends_on("mpi", when="+mpi")
    depends_on("cli11@2:")
    depends_on("nlohmann-json@3.9:")
    depends_on("fmt@8:")
    depends_on("zlib-api")  # CRC-32 of checkpoints
    depends_on("googletest", type="test")
    depends_on("benchmark", when="+benchmarks")

    for _arch in CudaPackage.cuda_arch_values:
        _dep = f"+cuda cuda_arch={_arch}"
        depends_on(f"kokkos {_dep}", when=_dep)
        depends_on(f"kokkos-kernels {_dep}", when=_dep)
    for _arch in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos +rocm amdgpu_target={_arch}", when=f"+rocm amdgpu_target={_arch}")
    conflicts("+cuda", when="cuda_arch=none")
    conflicts("+rocm", when="amdgpu_target=none")
    conflicts("+cuda", when="+rocm")
    # `spack install amk ^kokkos+cuda cuda_arch=90` selects amk's matching variant too
    for _arch in CudaPackage.cuda_arch_values:
        requires(f"+cuda cuda_arch={_arch}", when=f"^kokkos+cuda cuda_arch={_arch}")
    for _arch in ROCmPackage.amdgpu_targets:
        requires(f"+rocm amdgpu_target={_arch}", when=f"^kokkos+rocm amdgpu_target={_arch}")
    depends_on("kokkos+wrapper", when="+cuda %gcc")

    def cmake_args(self):
        args = [
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define_from_variant("AMK_ENABLE_MPI", "mpi"),
            self.define_from_variant("AMK_ENABLE_BENCHMARKS", "benchmarks"),
            self.define("AMK_ENABLE_TESTS", self.run_tests),
            self.define("Kokkos_ROOT", self.spec["kokkos"].prefix),
        ]
        if self.spec.satisfies("^kokkos+cuda+wrapper"):
            args.append(self.define("CMAKE_CXX_COMPILER", self["kokkos"].kokkos_cxx))
        elif self.spec.satisfies("^kokkos+rocm") and not (
            self.spec.satisfies("^kokkos %cxx=clang") or self.spec.satisfies("^kokkos %cxx=rocmcc")
        ):
            args.append(self.define("CMAKE_CXX_COMPILER", self.spec["hip"].hipcc))
        if self.spec.satisfies("+mpi"):
            args.append(self.define("HDF5_PREFER_PARALLEL", True))
        return args

    def test_info(self):
        """run `amk info` from the installed prefix"""
        amk = which(self.prefix.bin.amk, required=True)
        out = amk("info", output=str.split, error=str.split)
        assert "kokkos" in out
