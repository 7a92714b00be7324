# kairo: `make` installs missing Debian packages, then builds everything.
#   make run    build, then run the main job (scripts/saxe.lua)
#   make test   build, then run every test; ends with "spec: N passed, N failed"
#   make bench  benchmarks (never part of the tests)
#   make asan   build and test under AddressSanitizer + UBSan
LUA      ?= lua5.4
PKGS      = openblas lapacke lua5.4
DEB_PKGS  = build-essential pkg-config lua5.4 liblua5.4-dev libopenblas-dev liblapacke-dev \
            lua-busted zlib1g-dev gnuplot-nox dataset-fashion-mnist libstb-dev

# Evaluated lazily (recursive '='), so a fresh machine can run `make deps` before pkg-config exists.
OPT      ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wmissing-prototypes
CFLAGS    = -std=gnu11 -fPIC $(OPT) $(WARN) $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
BLASLIBS  = $(shell pkg-config --libs openblas lapacke) -lz -lm
LDFLAGS  += $(EXTRA_LDFLAGS)

BUILD    ?= build
MODULE   ?= lua/kairo/core.so
CORE_SRC  = $(sort $(wildcard core/*.c))
LUA_SRC   = $(sort $(wildcard lua/*.c))
CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/%.o)
LUA_OBJ   = $(LUA_SRC:%.c=$(BUILD)/%.o)
HEADERS   = $(wildcard core/*.h lua/*.h)

.PHONY: all build deps run test test-c check-c bench bench-deps asan clean
all: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory data/camera.png || true

build: $(BUILD)/libkairo.a $(BUILD)/libkairo.so $(MODULE)

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

# The cameraman photograph for scripts/svd_image.lua, from Debian's python3-skimage: the .deb
# is downloaded and unpacked in a temporary folder, never installed (no Python involved).
# Fetched only when missing; `all` goes on without it (the script then says what to do).
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
	$(CC) $(CFLAGS) -c $< -o $@

# The MLP's fused per-element passes (bias + activation, derivative products, bias gradients)
# need the vectoriser: GCC 12's -O2 leaves them scalar, ReLU with a mispredicted branch per
# element (4-5x slower, a quarter of a float32 training step).
$(BUILD)/core/activation.o $(BUILD)/core/mlp.o: CFLAGS += -ftree-vectorize
# Adam's update divides by sqrt(v): without errno semantics the loop vectorises too
$(BUILD)/core/optim.o: CFLAGS += -ftree-vectorize -fno-math-errno

# stb_image's code, not ours: see core/stb.c for the one check make asan leaves out there.
$(BUILD)/core/stb.o: CFLAGS += -fno-sanitize=nonnull-attribute

$(BUILD)/libkairo.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libkairo.so: $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(BLASLIBS)

# A Lua C module does not link liblua: the interpreter provides its symbols.
# It is `kairo.core`: lua/kairo/init.lua (`require "kairo"`) builds the public table from it.
$(MODULE): $(LUA_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(BLASLIBS)

run: all
	$(LUA) scripts/saxe.lua

# C-level tests (spec/c/*.c), each a small program that prints "N passed, N failed".
C_TESTS = $(patsubst spec/c/%.c,$(BUILD)/spec/%,$(wildcard spec/c/*.c))
$(BUILD)/spec/%: spec/c/%.c spec/c/check.h $(BUILD)/libkairo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(BUILD)/libkairo.a $(LDFLAGS) $(BLASLIBS)

test: all
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
asan:
	$(MAKE) --no-print-directory BUILD=build-asan MODULE=build-asan/kairo/core.so \
	    OPT="-O1 -g -fno-omit-frame-pointer $(SANITIZE)" EXTRA_LDFLAGS="$(SANITIZE)" \
	    build $(ASAN_C_TESTS)
	KAIRO_CPATH="build-asan/?.so" \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	    $(LUA) spec/run.lua $(ASAN_C_TESTS)

# The peers of `make bench` (Debian's PyTorch and NumPy); without them it reports kairo alone.
bench-deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy

bench: all
	$(LUA) bench/run.lua

clean:
	rm -rf build build-asan lua/kairo/core.so lua/kairo.so

# Each area's own rules (an install, fuzz targets, an optional backend, ...) live in mk/NAME.mk;
# a fragment may add packages with `DEB_PKGS += ...` and test steps under spec/steps/.
-include $(sort $(wildcard mk/*.mk))
