# perf (issue 14): BLIS as kairo's second GEMM library, opened at run time (core/blis.c), and
# the probes of make bench (bench/*.c), built next to the module.
DEB_PKGS += libblis4

BENCH_PROGS = $(BUILD)/bench/gemm_shapes $(BUILD)/bench/fma_peak
$(BUILD)/bench/gemm_shapes: bench/gemm_shapes.c $(BUILD)/libkairo.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libkairo.a $(ALL_LDFLAGS) $(BLASLIBS)

# The FMA peak probe: its own flags (-O2 without -ftree-vectorize; the kernels are intrinsics
# under target attributes, so the file builds on any x86-64 and runs what the CPU has)
$(BUILD)/bench/fma_peak: bench/fma_peak.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) $< -o $@ -lpthread

bench-progs: $(BENCH_PROGS)
.PHONY: bench-progs

# make bench measures the FMA peak first (bench/run.lua runs the probe)
bench: bench-progs

# the uint8 -> float widening of batch.c's fused gather vectorises
$(BUILD)/core/batch.o: FILE_CFLAGS += -ftree-vectorize
