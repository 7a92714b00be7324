# Fuzzing (issue 13 §5): libFuzzer targets built with clang, -fsanitize=fuzzer,address,undefined,
# one per C reader: spec/fuzz/fuzz_NAME.c, its seed corpus spec/fuzz/NAME/ (findings are added
# there as they are found, and replayed by the tests: spec/steps/50-fuzz.sh).
#   make fuzz                     each target FUZZ_SECONDS (60) seconds, one after the other
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="png jpeg"
#   make fuzz-replay              every target once over its corpus (what the tests run)
# New inputs go to build-fuzz/corpus/NAME (spec/fuzz/NAME is only read); a crash is written
# to build-fuzz/crash-NAME-* and stops the run.  The readers written in Lua (kr.csv.read, the
# checkpoint container) have a mutation fuzzer of their own: spec/fuzz/csv_fuzz.lua.
DEB_PKGS     += clang libclang-rt-14-dev valgrind
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= png jpeg pnm npy idx net
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                $(KR_CPPFLAGS)
FUZZ_OBJ      = $(CORE_SRC:%.c=build-fuzz/%.o)
FUZZ_BINS     = $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
# libFuzzer's options: a 10 s hang is a finding, so is more than 2 GB resident
FUZZ_OPTS    ?= -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1

.PHONY: fuzz fuzz-build fuzz-replay fuzz-targets
fuzz-targets:
	@echo $(FUZZ_TARGETS)
fuzz-build: $(FUZZ_BINS)

build-fuzz/core/%.o: core/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

build-fuzz/libkairo.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

build-fuzz/fuzz_%: spec/fuzz/fuzz_%.c spec/fuzz/fuzz_common.h spec/fuzz/fuzz_image.h build-fuzz/libkairo.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ build-fuzz/libkairo.a $(BLASLIBS)

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
	      -artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus/$$t spec/fuzz/$$t \
	      2>build-fuzz/$$t.log || { tail -40 build-fuzz/$$t.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' build-fuzz/$$t.log | tail -2; \
	done
	$(LUA) spec/fuzz/csv_fuzz.lua $(FUZZ_SECONDS)

fuzz-replay: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  build-fuzz/fuzz_$$t $(FUZZ_OPTS) spec/fuzz/$$t/* >build-fuzz/$$t-replay.log 2>&1 \
	    && echo "fuzz-replay: $$t ok ($$(ls spec/fuzz/$$t | wc -l) inputs)" \
	    || { tail -30 build-fuzz/$$t-replay.log; exit 1; }; \
	done
