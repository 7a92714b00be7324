# kairo.mpi's C half (lua/mpi/l_mpi.c -> lua/kairo/mpi_core.so), built only where MPI is
# installed: `pkg-config ompi-c` (Debian's libopenmpi-dev), else an `mpicc` on the PATH.
# Without it, kairo.mpi is a one-rank world and refuses to run under mpirun.
DEB_PKGS += openmpi-bin libopenmpi-dev

MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || mpicc --showme:link 2>/dev/null)
MPI_FOUND  := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes || \
                      (command -v mpicc >/dev/null 2>&1 && echo yes))

# Next to kairo's module: lua/kairo/ for the normal build, $(BUILD)/kairo/ for `make asan`
# (whose KAIRO_CPATH is build-asan/?.so), so a sanitized build never replaces the normal one.
MPI_MODULE ?= $(if $(filter build,$(BUILD)),lua/kairo/mpi_core.so,$(BUILD)/kairo/mpi_core.so)
MPI_OBJ     = $(BUILD)/lua/mpi/l_mpi.o

.PHONY: mpi mpi-clean
ifeq ($(MPI_FOUND),yes)
build: $(MPI_MODULE)
mpi: $(MPI_MODULE)
else
mpi:
	@echo "kairo.mpi: no MPI found (pkg-config ompi-c, mpicc); run make deps for Open MPI"
endif

$(MPI_OBJ): lua/mpi/l_mpi.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden $(MPI_CFLAGS) -c $< -o $@

# The binding's helpers (l_aux.o) and the core's queries (libkairo.a) are linked in, their
# symbols hidden in this module;
# -z nodelete keeps the module mapped after lua_close, for its exit handler (see l_mpi.c).
$(MPI_MODULE): $(MPI_OBJ) $(BUILD)/lua/l_aux.o $(BUILD)/libkairo.a
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(MPI_OBJ) $(BUILD)/lua/l_aux.o $(BUILD)/libkairo.a $(ALL_LDFLAGS) $(MPI_LIBS) $(BLASLIBS) \
	    -lpthread -Wl,-z,nodelete -Wl,--exclude-libs,ALL

clean: mpi-clean
mpi-clean:
	rm -f lua/kairo/mpi_core.so

# make bench: the scale-out cases (a sweep on 1 and 2 ranks, a data-parallel epoch) run
# first, from bench/mpi_cases.lua; BENCH_CASES, BENCH_QUICK and BENCH_REPS apply to them too.
.PHONY: bench-mpi
bench: bench-mpi
bench-mpi: build
	$(LUA) bench/mpi_cases.lua
