-- kairo as a LuaRocks package, built by kairo's own Makefile (build type "make"):
--   luarocks --lua-version 5.4 make --tree DIR       (in the checkout; offline)
-- The version must equal KR_VERSION in core/kairo.h (spec/steps/21-flags.sh checks it).
package = "kairo"
version = "0.2.0-1"
source = {
  url = "git+file://.",
  tag = "v0.2.0",
}
description = {
  summary = "Tensors, BLAS products and multilayer networks for computational neuroscience",
  detailed = [[
A C core (dense float32/float64 tensors with strided views and broadcasting, OpenBLAS
products, LAPACK SVD, a seeded generator, multilayer networks, losses, optimizers, data
readers, .npy/.npz/HDF5 files) with Lua 5.4 scripting, and the experiments of the chapter
"neural networks and backpropagation" as scripts.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  OPENBLAS = { header = "x86_64-linux-gnu/openblas-pthread/cblas.h" },
}
build = {
  type = "make",
  build_target = "build",
  -- LuaRocks's CFLAGS (-O2 -fPIC) become the user's CFLAGS; the Makefile adds its own flags and
  -- keeps its per-file optimisation flags (-ftree-vectorize, -fno-math-errno) on top.
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA = "$(LUA)",
    LUA_CFLAGS = "-I$(LUA_INCDIR)",
    -- Debian's OpenBLAS (libopenblas-dev, the pthread flavour) and LAPACKE
    BLAS_CFLAGS = "-I$(OPENBLAS_INCDIR)/x86_64-linux-gnu/openblas-pthread -I$(OPENBLAS_INCDIR)/x86_64-linux-gnu",
    BLAS_LIBS = "-L$(OPENBLAS_LIBDIR)/x86_64-linux-gnu/openblas-pthread -lopenblas -llapacke",
  },
  install_target = "install-lua",
  install_variables = {
    PREFIX = "$(PREFIX)",
    LUA_LIBDIR = "$(LIBDIR)",
    LUA_DIR = "$(LUADIR)",
    BINDIR = "$(BINDIR)",
    -- where the launcher finds the module once LuaRocks has deployed it into the tree
    LAUNCH_LUA_DIR = "../share/lua/5.4",
    LAUNCH_LUA_LIBDIR = "../lib/lua/5.4",
    BLAS_CFLAGS = "-I$(OPENBLAS_INCDIR)/x86_64-linux-gnu/openblas-pthread -I$(OPENBLAS_INCDIR)/x86_64-linux-gnu",
    BLAS_LIBS = "-L$(OPENBLAS_LIBDIR)/x86_64-linux-gnu/openblas-pthread -lopenblas -llapacke",
  },
}
