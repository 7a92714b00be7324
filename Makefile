# kairo: `make` builds (it never installs packages nor touches the network).
#   make deps     as root: install the missing Debian packages, then fetch data/camera.png
#   make run      deps + build, then run the main job (scripts/saxe.lua)
#   make test     deps + build, then run every test; ends with "spec: N passed, N failed"
#   make chapter  run every experiment of the chapter, then write out/index.html
#   make install  PREFIX=/usr/local DESTDIR= (and make uninstall): see mk/install.mk
#   make bench    benchmarks (never part of the tests)
#   make asan     build and test under AddressSanitizer + UBSan
# The user's CFLAGS, CPPFLAGS and LDFLAGS are honoured: kairo's own flags (KR_*) are added to
# them, so `make CFLAGS=-O0` or Debian's hardening flags from the environment work.
LUA      ?= lua5.4
DEB_PKGS  = build-essential pkg-config lua5.4 liblua5.4-dev libopenblas-dev liblapacke-dev \
            lua-busted zlib1g-dev gnuplot-nox dataset-fashion-mnist \
            libhdf5-dev hdf5-tools lua-cjson luarocks chromium

# The one version source is core/kairo.h (KR_VERSION); kr._VERSION, kairo.pc and the library's
# file name follow it, and spec/steps/ checks that the rockspec says the same.
VERSION  := $(shell sed -n 's/^\#define KR_VERSION "\(.*\)"/\1/p' core/kairo.h)
SOVER     = 0

# Evaluated lazily (recursive '='), so a fresh machine can run `make deps` before pkg-config exists.
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
WARN      = -Wall -Wextra -Wshadow -Wmissing-prototypes
# HDF5 (kr.h5) is built when pkg-config finds Debian's libhdf5-dev; without it kr.h5 says so.
HDF5     := $(shell pkg-config --exists hdf5 2>/dev/null && echo hdf5)
# The libraries' flags come from pkg-config unless given (the rockspec passes Lua's and
# Debian's OpenBLAS paths): BLAS_CFLAGS/BLAS_LIBS, LUA_CFLAGS, HDF5_CFLAGS/HDF5_LIBS.
BLAS_CFLAGS ?= $(shell pkg-config --cflags openblas lapacke)
BLAS_LIBS   ?= $(shell pkg-config --libs openblas lapacke)
LUA_CFLAGS  ?= $(shell pkg-config --cflags lua5.4)
HDF5_CFLAGS ?= $(if $(HDF5),$(shell pkg-config --cflags hdf5) -DKR_HAVE_HDF5)
HDF5_LIBS   ?= $(if $(HDF5),$(shell pkg-config --libs hdf5))
KR_CPPFLAGS = $(BLAS_CFLAGS) $(LUA_CFLAGS) $(HDF5_CFLAGS)
KR_CFLAGS   = -std=gnu11 -fPIC $(WARN)
BLASLIBS  = $(BLAS_LIBS) $(HDF5_LIBS) -lz -lm
ALL_CFLAGS  = $(KR_CPPFLAGS) $(CPPFLAGS) $(KR_CFLAGS) $(CFLAGS) $(FILE_CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

BUILD    ?= build
MODULE   ?= lua/kairo/core.so
CORE_SRC  = $(sort $(wildcard core/*.c))
LUA_SRC   = $(sort $(wildcard lua/*.c))
CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/%.o)
LUA_OBJ   = $(LUA_SRC:%.c=$(BUILD)/%.o)
HEADERS   = $(wildcard core/*.h lua/*.h)
SHLIB     = $(BUILD)/libkairo.so.$(VERSION)

.PHONY: all build deps data run test check test-c check-c bench bench-deps asan clean
all: build

build: $(BUILD)/libkairo.a $(BUILD)/libkairo.so $(MODULE)

# Installs only what is missing (as root; a normal user gets the apt-get line to run), then
# fetches the camera image; a failed download is reported and does not stop the set-up.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "kairo needs these Debian packages:$$missing"; \
	    echo "run as root: apt-get update && apt-get install -y$$missing"; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@$(MAKE) --no-print-directory data || true

data: data/camera.png

# The cameraman photograph for scripts/svd_image.lua, from Debian's python3-skimage: the .deb
# is downloaded and unpacked in a temporary folder, never installed (no Python involved).
# Fetched only when missing, by `make deps` or `make data` (the script says what to do without it).
SKIMAGE_CAMERA = usr/lib/python3/dist-packages/skimage/data/camera.png
data/camera.png:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT; \
	if ! (cd "$$tmp" && apt-get download -q python3-skimage >"$$tmp/log" 2>&1); then \
	  echo "kairo: could not download python3-skimage to get $@:"; sed 's/^/  /' "$$tmp/log"; \
	  echo "  run 'apt-get update', then 'make $@'; or give scripts/svd_image.lua --image PATH"; \
	  exit 1; \
	fi; \
	dpkg-deb -x "$$tmp"/python3-skimage_*.deb "$$tmp/x" && mkdir -p data && \
	cp "$$tmp/x/$(SKIMAGE_CAMERA)" $@.tmp && mv $@.tmp $@ && \
	echo "fetched $@ (from the python3-skimage .deb)"

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Per-file flags go in FILE_CFLAGS (after the user's CFLAGS, so they survive `make CFLAGS=...`
# and the rockspec's build).
# The MLP's fused per-element passes (bias + activation, derivative products, bias gradients)
# need the vectoriser: GCC 12's -O2 leaves them scalar, ReLU with a mispredicted branch per
# element (4-5x slower, a quarter of a float32 training step).
$(BUILD)/core/activation.o $(BUILD)/core/mlp.o: FILE_CFLAGS += -ftree-vectorize
# Adam's update divides by sqrt(v): without errno semantics the loop vectorises too
$(BUILD)/core/optim.o: FILE_CFLAGS += -ftree-vectorize -fno-math-errno

# The binding's objects hide every symbol; the module's link keeps only luaopen_* (lua/exports.map),
# so the core linked into it does not clash with a libkairo.so in the same process.
$(LUA_OBJ): FILE_CFLAGS += -fvisibility=hidden

$(BUILD)/libkairo.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# libkairo.so.VERSION with SONAME libkairo.so.0, exporting the kr_ API only (core/exports.map);
# libkairo.so.0 and libkairo.so are links to it.
$(SHLIB): $(CORE_OBJ) core/exports.map
	$(CC) -shared -Wl,-soname,libkairo.so.$(SOVER) -Wl,--version-script=core/exports.map \
	    -o $@ $(CORE_OBJ) $(ALL_LDFLAGS) $(BLASLIBS)

$(BUILD)/libkairo.so: $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $(BUILD)/libkairo.so.$(SOVER)
	ln -sf $(notdir $(SHLIB)) $@

# A Lua C module does not link liblua: the interpreter provides its symbols.
# It is `kairo.core`: lua/kairo/init.lua (`require "kairo"`) builds the public table from it.
$(MODULE): $(LUA_OBJ) $(CORE_OBJ) lua/exports.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,--version-script=lua/exports.map -o $@ $(LUA_OBJ) $(CORE_OBJ) \
	    $(ALL_LDFLAGS) $(BLASLIBS)

run: deps
	@$(MAKE) --no-print-directory build
	$(LUA) scripts/saxe.lua

# C-level tests (spec/c/*.c), each a small program that prints "N passed, N failed".
C_TESTS = $(patsubst spec/c/%.c,$(BUILD)/spec/%,$(wildcard spec/c/*.c))
$(BUILD)/spec/%: spec/c/%.c spec/c/check.h $(BUILD)/libkairo.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libkairo.a $(ALL_LDFLAGS) $(BLASLIBS)

test: deps
	@$(MAKE) --no-print-directory check

check: build $(C_TESTS)
	@$(LUA) spec/run.lua $(C_TESTS)

ASAN_C_TESTS = $(patsubst spec/c/%.c,build-asan/spec/%,$(wildcard spec/c/*.c))
SANITIZE     = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all

# The sanitized module goes to build-asan/kairo/core.so (lua/kairo/core.so stays the normal one);
# .busted takes the module path from KAIRO_CPATH.  The interpreter is not instrumented, so the
# ASan runtime is preloaded; leaks are not checked (lua5.4 does not free everything at exit).
# A failed allocation returns NULL, as malloc does (kairo turns it into a Lua error), instead
# of ASan's abort for sizes above its limit (1 TB): kr.zeros(2^38) must raise, not crash.
# The build is mk/sanitize.mk's asan-build, which the sanitized test step shares.  Every C
# test, busted suite and step runs sanitized except these steps: 30-chapter (Chromium will not
# start with gcc's ASan preloaded), 60-fuzz (clang's own sanitized fuzzers refuse a second ASan
# runtime) and 70-sanitized (the subset of this very run).
ASAN_SKIP_STEPS = 30-chapter 60-fuzz 70-sanitized
asan: asan-build
	KAIRO_SKIP_STEPS="$(ASAN_SKIP_STEPS)" KAIRO_CPATH="build-asan/?.so" \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	    $(LUA) spec/run.lua $(ASAN_C_TESTS)

# The peers of `make bench` (Debian's PyTorch and NumPy); without them it reports kairo alone.
bench-deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy

bench: build
	$(LUA) bench/run.lua

clean:
	rm -rf build build-asan lua/kairo/core.so lua/kairo.so

# Each area's own rules (an install, fuzz targets, an optional backend, ...) live in mk/NAME.mk;
# a fragment may add packages with `DEB_PKGS += ...` and test steps under spec/steps/.
-include $(sort $(wildcard mk/*.mk))
