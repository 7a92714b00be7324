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
CORE_SRC  = $(sort $(wildcard core/*.c))
LUA_SRC   = $(sort $(wildcard lua/*.c))
CORE_OBJ  = $(CORE_SRC:%.c=$(BUILD)/%.o)
LUA_OBJ   = $(LUA_SRC:%.c=$(BUILD)/%.o)
HEADERS   = $(wildcard core/*.h lua/*.h)

.PHONY: all build deps run test test-c check-c bench bench-deps asan clean
all: deps
	@$(MAKE) --no-print-directory build

build: $(BUILD)/libkairo.a $(BUILD)/libkairo.so lua/kairo.so

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

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The MLP's fused per-element passes (bias + activation, derivative products, bias gradients)
# need the vectoriser: GCC 12's -O2 leaves them scalar, ReLU with a mispredicted branch per
# element (4-5x slower, a quarter of a float32 training step).
$(BUILD)/core/activation.o $(BUILD)/core/mlp.o: CFLAGS += -ftree-vectorize

$(BUILD)/libkairo.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libkairo.so: $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(BLASLIBS)

# A Lua C module does not link liblua: the interpreter provides its symbols.
lua/kairo.so: $(LUA_OBJ) $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(BLASLIBS)

run: all
	$(LUA) scripts/saxe.lua

# C-level tests (spec/c/*.c), each a small program that prints "N passed, N failed".
C_TESTS = $(patsubst spec/c/%.c,$(BUILD)/spec/%,$(wildcard spec/c/*.c))
$(BUILD)/spec/%: spec/c/%.c $(BUILD)/libkairo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(BUILD)/libkairo.a $(LDFLAGS) $(BLASLIBS)

test: all
	@$(MAKE) --no-print-directory check

check: build $(C_TESTS)
	@$(LUA) spec/run.lua $(C_TESTS)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" build
	ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(LUA) spec/run.lua

# The peers of `make bench` (Debian's PyTorch and NumPy); without them it reports kairo alone.
bench-deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy

bench: all
	$(LUA) bench/run.lua

clean:
	rm -rf build build-asan lua/kairo.so
