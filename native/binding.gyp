# Optional OpenBLAS GEMM addon. Built by scripts/build-native.mjs (npm's install script), which finds
# cblas.h and libopenblas and passes their directories; a failed build leaves alpt on WebAssembly.
# Kept out of the package root on purpose: a root binding.gyp makes npm run `node-gyp rebuild`
# itself, and a failure there would fail `npm ci`.
{
  "variables": {
    "blas_include%": "/usr/include",
    "blas_libdir%": "/usr/lib",
    "blas_lib%": "openblas",
  },
  "targets": [
    {
      "target_name": "alpt_blas",
      "sources": ["blas.c"],
      "include_dirs": ["<(blas_include)"],
      "cflags": ["-O2", "-std=c11", "-Wall", "-Wextra"],
      "libraries": ["-L<(blas_libdir)", "-l<(blas_lib)", "-Wl,-rpath,<(blas_libdir)"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "-std=c11"],
      },
    },
  ],
}
