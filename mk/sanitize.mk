# The sanitized subset the tests run (spec/steps/70-sanitized.sh; issue 13 §5): `make asan`'s
# build (ASan + UBSan, build-asan/), and the busted suites that reach every C file.  The
# experiment suites (scripts over the same C) are left to the full `make asan`.
ASAN_SPECS ?= tensor ops matmul linalg activation loss optim random nn model checkpoint io \
              image save readers nan data data_shapes csv alloc
.PHONY: asan-build asan-specs
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan MODULE=build-asan/kairo/core.so \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer" EXTRA_CFLAGS="$(SANITIZE)" \
	    EXTRA_LDFLAGS="$(SANITIZE)" \
	    build $(ASAN_C_TESTS)
asan-specs:
	@echo $(foreach s,$(ASAN_SPECS),$(wildcard spec/$(s)_spec.lua))
