/* kairo.mpi_core: the C half of kairo.mpi, over Open MPI (or any MPI-3 library).
 *
 * A separate module, built by mk/mpi.mk only where MPI is installed, so that kairo itself never
 * depends on libmpi.  lua/kairo/mpi.lua is the public face: it decides whether MPI is wanted
 * at all (under mpirun/srun, or KAIRO_MPI=1), serialises Lua values to bytes and calls these:
 *
 *   init() -> rank, size          MPI_Init_thread once (MPI_THREAD_SERIALIZED); later calls
 *                                 return the same; errors on MPI_COMM_WORLD come back as codes
 *   finalize()                    MPI_Finalize now (also done at exit; see below)
 *   rank(), size(), wtime(), processor_name(), barrier()
 *   bcast_tensor(t, root)         in place, t contiguous, same numel and dtype on every rank
 *   allreduce_tensor(t, op [, trusted])  in place, op "sum" | "max" | "min" | "mean";
 *                                 trusted: skip the agreement (the caller guarantees it)
 *   agree_value(root)             the check bcast_tensor makes, for bcast's value path
 *   bcast_bytes(s | nil, root)    -> the root's string on every rank
 *   gather_bytes(s, root)         -> { s_0, ..., s_{size-1} } on the root, nil elsewhere
 *   allgather_bytes(s)            -> { s_0, ..., s_{size-1} } on every rank
 *   tensor_bytes(t)               -> the raw bytes of a contiguous tensor (a string)
 *   tensor_set_bytes(t, s)        copies s into a contiguous tensor of exactly #s bytes
 *   queue_open(n), queue_next() -> i | nil, queue_close()
 *                                 a shared counter 1..n (a dynamic work queue); rank 0 serves
 *                                 it from a thread while its main thread works too
 *
 * Every failure is a Lua error that starts with the name the user called ("mpi.allreduce:")
 * and names the MPI call and the library's message: MPI_ERRORS_RETURN is set on the world.
 *
 * Exit: an on_exit handler finalises MPI when the process exits with status 0 and calls
 * MPI_Abort with the status otherwise.  A rank that fails must not wait in MPI_Finalize (it
 * synchronises with the others, which may be blocked in a collective for its data): aborting
 * makes mpirun end the whole job instead of leaving it hanging.  The module is linked with
 * -z nodelete, so the handler's code is still mapped after lua_close has unloaded the C
 * modules.
 *
 * Tensors: the binding's kr_lua_test_tensor (lua/l_aux.c, linked in; without the module's
 * context upvalue it tests the metatable by name) finds the kr_tensor header, and the core's
 * public queries (kr_is_contiguous, kr_numel, kr_data) read it.  This module never allocates
 * tensors: the Lua half makes them with kr.empty. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "../l_aux.h"

#define EXPORT __attribute__((visibility("default")))

/* MPI counts are ints: larger transfers go in chunks of this many elements. */
#define CHUNK (INT_MAX / 8)

enum { TAG_QUEUE_ASK = 7401, TAG_QUEUE_GIVE = 7402 };

/* Process-wide by nature: MPI itself is initialised once per process, whatever the number of
 * Lua states.  A second state in the same process sees the same world. */
static int g_inited, g_finalized, g_rank, g_size = 1;

/* The work queue (rank 0 serves it from a thread while its main thread takes items too). */
static struct {
    int open;
    long long next, total;   /* next item to hand out (1-based), items in all */
    pthread_mutex_t lock;
    pthread_t server;
    int server_running;
    int drained;             /* this rank has been told that no item is left */
    int server_error;        /* an MPI error code seen by the server thread, 0 when none */
} g_queue = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int fail(lua_State *L, const char *fname, const char *call, int code)
{
    char msg[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = '\0';
    return luaL_error(L, "mpi.%s: %s failed: %s", fname, call, len ? msg : "unknown MPI error");
}

#define CHECK(L, fname, call, expr)                                \
    do {                                                           \
        int rc_ = (expr);                                          \
        if (rc_ != MPI_SUCCESS) fail((L), (fname), (call), rc_);   \
    } while (0)

static void at_exit(int status, void *arg)
{
    (void)arg;
    int inited = 0, finalized = 0;
    if (MPI_Initialized(&inited) != MPI_SUCCESS || !inited) return;
    if (MPI_Finalized(&finalized) != MPI_SUCCESS || finalized) return;
    if (status != 0) MPI_Abort(MPI_COMM_WORLD, status);
    else MPI_Finalize();
}

static void ensure_init(lua_State *L, const char *fname)
{
    if (g_inited) {
        if (g_finalized) luaL_error(L, "mpi.%s: MPI has been finalized", fname);
        return;
    }
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
        int provided = 0;
        /* Errors of MPI_Init itself are fatal to MPI by the standard: nothing to catch. */
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            luaL_error(L, "mpi.%s: MPI_Init_thread failed", fname);
        if (provided < MPI_THREAD_SERIALIZED) {
            /* the work queue needs its thread; everything else works without it */
            g_queue.server_error = -1;
        }
        on_exit(at_exit, NULL);
    }
    CHECK(L, fname, "MPI_Comm_set_errhandler",
          MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK(L, fname, "MPI_Comm_rank", MPI_Comm_rank(MPI_COMM_WORLD, &g_rank));
    CHECK(L, fname, "MPI_Comm_size", MPI_Comm_size(MPI_COMM_WORLD, &g_size));
    g_inited = 1;
}

/* Raises when the work queue's thread may be using MPI (SERIALIZED allows one at a time). */
static void ready(lua_State *L, const char *fname)
{
    ensure_init(L, fname);
    if (g_queue.open && strcmp(fname, "queue_next") != 0 && strcmp(fname, "queue_close") != 0)
        luaL_error(L, "mpi.%s: a work queue is open (call mpi.queue_close() first)", fname);
}

static int l_init(lua_State *L)
{
    ensure_init(L, "init");
    lua_pushinteger(L, g_rank);
    lua_pushinteger(L, g_size);
    return 2;
}

static int l_finalize(lua_State *L)
{
    if (!g_inited || g_finalized) return 0;
    ready(L, "finalize");
    g_finalized = 1;
    CHECK(L, "finalize", "MPI_Finalize", MPI_Finalize());
    return 0;
}

static int l_rank(lua_State *L)
{
    ensure_init(L, "rank");
    lua_pushinteger(L, g_rank);
    return 1;
}

static int l_size(lua_State *L)
{
    ensure_init(L, "size");
    lua_pushinteger(L, g_size);
    return 1;
}

static int l_wtime(lua_State *L)
{
    ensure_init(L, "wtime");
    lua_pushnumber(L, MPI_Wtime());
    return 1;
}

static int l_processor_name(lua_State *L)
{
    ensure_init(L, "processor_name");
    char name[MPI_MAX_PROCESSOR_NAME + 1];
    int len = 0;
    CHECK(L, "processor_name", "MPI_Get_processor_name", MPI_Get_processor_name(name, &len));
    lua_pushlstring(L, name, (size_t)len);
    return 1;
}

static int l_barrier(lua_State *L)
{
    ready(L, "barrier");
    CHECK(L, "barrier", "MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
    return 0;
}

static int check_root(lua_State *L, int idx, const char *fname)
{
    lua_Integer root = luaL_checkinteger(L, idx);
    if (root < 0 || root >= g_size)
        luaL_error(L, "mpi.%s: root %I is not a rank (0 to %d)", fname, root, g_size - 1);
    return (int)root;
}

/* ---- tensors --------------------------------------------------------------------------- */

static kr_tensor *check_buffer(lua_State *L, int idx, const char *fname)
{
    kr_tensor *t = kr_lua_test_tensor(L, idx);
    if (!t) luaL_error(L, "mpi.%s: expected a tensor, got %s", fname, kr_lua_typename(L, idx));
    if (!kr_is_contiguous(t))
        luaL_error(L, "mpi.%s: the tensor must be contiguous (a view with strides is not; "
                      "use t:contiguous() and copy back)", fname);
    return t;
}

static MPI_Datatype mpi_type(const kr_tensor *t)
{
    return t->dtype == KR_F32 ? MPI_FLOAT : MPI_DOUBLE;
}

/* Every rank must pass the same kind of value (a tensor or not), number of elements, dtype,
 * op and root, or the collective would read past a buffer, mix results or hang: one small
 * allreduce agrees on them first, so that all ranks raise the same error. */
enum { A_KIND, A_NUMEL, A_DTYPE, A_OP, A_ROOT, A_N };
static void agree(lua_State *L, const kr_tensor *t, int op, int root, const char *fname)
{
    int64_t v[A_N] = {t ? 1 : 0, t ? kr_numel(t) : 0, t ? (int64_t)t->dtype : -1, op, root};
    int64_t mine[2 * A_N], all[2 * A_N];
    for (int i = 0; i < A_N; i++) {
        mine[i] = v[i];
        mine[A_N + i] = -v[i];
    }
    CHECK(L, fname, "MPI_Allreduce",
          MPI_Allreduce(mine, all, 2 * A_N, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
#define DIFFER(i) (all[i] != -all[A_N + (i)])
    if (DIFFER(A_ROOT))
        luaL_error(L, "mpi.%s: the ranks passed different roots (from %I to %I)", fname,
                   (lua_Integer)-all[A_N + A_ROOT], (lua_Integer)all[A_ROOT]);
    if (DIFFER(A_KIND))
        luaL_error(L, "mpi.%s: some ranks passed a tensor and others not (to broadcast a tensor, "
                      "every rank passes one of its size and dtype)", fname);
    if (DIFFER(A_NUMEL) || DIFFER(A_DTYPE))
        luaL_error(L, "mpi.%s: the ranks passed different tensors (from %I to %I elements, %s); "
                      "every rank must pass the same size and dtype",
                   fname, (lua_Integer)-all[A_N + A_NUMEL], (lua_Integer)all[A_NUMEL],
                   DIFFER(A_DTYPE) ? "float32 and float64" : kr_dtype_name(t->dtype));
    if (DIFFER(A_OP)) luaL_error(L, "mpi.%s: the ranks passed different ops", fname);
#undef DIFFER
}

/* The value path of bcast agrees too (no rank may be in the tensor path meanwhile). */
static int l_agree_value(lua_State *L)
{
    ready(L, "bcast");
    agree(L, NULL, -1, check_root(L, 1, "bcast"), "bcast");
    return 0;
}

static int l_bcast_tensor(lua_State *L)
{
    ready(L, "bcast");
    kr_tensor *t = check_buffer(L, 1, "bcast");
    int root = check_root(L, 2, "bcast");
    agree(L, t, -1, root, "bcast");
    char *p = kr_data(t);
    size_t es = kr_dtype_size(t->dtype);
    for (int64_t done = 0, n = kr_numel(t); done < n; done += CHUNK) {
        int count = (int)(n - done < CHUNK ? n - done : CHUNK);
        CHECK(L, "bcast", "MPI_Bcast",
              MPI_Bcast(p + (size_t)done * es, count, mpi_type(t), root, MPI_COMM_WORLD));
    }
    lua_settop(L, 1);
    return 1;
}

static int l_allreduce_tensor(lua_State *L)
{
    static const char *const names[] = {"sum", "max", "min", "mean", NULL};
    ready(L, "allreduce");
    kr_tensor *t = check_buffer(L, 1, "allreduce");
    int which = luaL_checkoption(L, 2, "sum", names);
    MPI_Op op = which == 1 ? MPI_MAX : which == 2 ? MPI_MIN : MPI_SUM;
    /* a caller that has made sure every rank passes the same (kr.train's gradient buffer,
     * checked once at its start) skips the agreement: one collective per step, not two */
    if (!lua_toboolean(L, 3)) agree(L, t, which, -1, "allreduce");
    char *p = kr_data(t);
    size_t es = kr_dtype_size(t->dtype);
    int64_t n = kr_numel(t);
    for (int64_t done = 0; done < n; done += CHUNK) {
        int count = (int)(n - done < CHUNK ? n - done : CHUNK);
        CHECK(L, "allreduce", "MPI_Allreduce",
              MPI_Allreduce(MPI_IN_PLACE, p + (size_t)done * es, count, mpi_type(t), op,
                            MPI_COMM_WORLD));
    }
    if (which == 3) { /* mean = sum / size, divided (not multiplied by 1/size) */
        if (t->dtype == KR_F32) {
            float *x = (float *)p, s = (float)g_size;
            for (int64_t i = 0; i < n; i++) x[i] /= s;
        } else {
            double *x = (double *)p, s = (double)g_size;
            for (int64_t i = 0; i < n; i++) x[i] /= s;
        }
    }
    lua_settop(L, 1);
    return 1;
}

static int l_tensor_bytes(lua_State *L)
{
    kr_tensor *t = check_buffer(L, 1, "gather");
    lua_pushlstring(L, kr_data(t), (size_t)kr_numel(t) * kr_dtype_size(t->dtype));
    return 1;
}

static int l_tensor_set_bytes(lua_State *L)
{
    kr_tensor *t = check_buffer(L, 1, "gather");
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (len != (size_t)kr_numel(t) * kr_dtype_size(t->dtype))
        luaL_error(L, "mpi.gather: %I bytes for a tensor of %I bytes", (lua_Integer)len,
                   (lua_Integer)((size_t)kr_numel(t) * kr_dtype_size(t->dtype)));
    memcpy(kr_data(t), s, len);
    return 0;
}

/* ---- byte strings (the Lua half serialises every other value into one) ----------------- */

static int l_bcast_bytes(lua_State *L)
{
    ready(L, "bcast");
    int root = check_root(L, 2, "bcast");
    size_t len = 0;
    const char *s = g_rank == root ? luaL_checklstring(L, 1, &len) : NULL;
    long long n = (long long)len;
    CHECK(L, "bcast", "MPI_Bcast", MPI_Bcast(&n, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD));
    if (n > INT_MAX) luaL_error(L, "mpi.bcast: a value of %I bytes (at most %d)", (lua_Integer)n,
                                INT_MAX);
    if (g_rank == root) {
        CHECK(L, "bcast", "MPI_Bcast",
              MPI_Bcast((void *)s, (int)n, MPI_BYTE, root, MPI_COMM_WORLD));
        lua_pushvalue(L, 1);
        return 1;
    }
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, (size_t)n);
    CHECK(L, "bcast", "MPI_Bcast", MPI_Bcast(p, (int)n, MPI_BYTE, root, MPI_COMM_WORLD));
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* gather (root >= 0) or allgather (root < 0) of one string per rank */
static int gather_bytes(lua_State *L, int root, const char *fname)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (len > INT_MAX) luaL_error(L, "mpi.%s: a value of %I bytes (at most %d)", fname,
                                  (lua_Integer)len, INT_MAX);
    if (root >= 0) agree(L, NULL, -1, root, fname);
    int mine = (int)len, receives = root < 0 || root == g_rank;
    int *counts = NULL, *displs = NULL;
    if (receives) {
        counts = lua_newuserdatauv(L, 2 * sizeof(int) * (size_t)g_size, 0);
        displs = counts + g_size;
    }
    if (root < 0)
        CHECK(L, fname, "MPI_Allgather",
              MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD));
    else
        CHECK(L, fname, "MPI_Gather",
              MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, root, MPI_COMM_WORLD));
    long long total = 0;
    if (receives) {
        for (int r = 0; r < g_size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        if (total > INT_MAX)
            luaL_error(L, "mpi.%s: %I bytes from all ranks (at most %d)", fname,
                       (lua_Integer)total, INT_MAX);
    }
    /* the collective's outcome must not depend on this rank alone: every rank calls it */
    char *all = receives ? lua_newuserdatauv(L, total ? (size_t)total : 1, 0) : NULL;
    if (root < 0)
        CHECK(L, fname, "MPI_Allgatherv",
              MPI_Allgatherv(s, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD));
    else
        CHECK(L, fname, "MPI_Gatherv",
              MPI_Gatherv(s, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, root,
                          MPI_COMM_WORLD));
    if (!receives) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, g_size, 0);
    for (int r = 0; r < g_size; r++) {
        lua_pushlstring(L, all + displs[r], (size_t)counts[r]);
        lua_rawseti(L, -2, r + 1);
    }
    return 1;
}

static int l_gather_bytes(lua_State *L)
{
    ready(L, "gather");
    return gather_bytes(L, check_root(L, 2, "gather"), "gather");
}

static int l_allgather_bytes(lua_State *L)
{
    ready(L, "allgather");
    return gather_bytes(L, -1, "allgather");
}

/* ---- the work queue -------------------------------------------------------------------- */

static long long queue_take(void)
{
    pthread_mutex_lock(&g_queue.lock);
    long long i = g_queue.next <= g_queue.total ? g_queue.next++ : 0;
    pthread_mutex_unlock(&g_queue.lock);
    return i;
}

/* Rank 0's server: answers each request with the next item, or 0 when none is left, until
 * every other rank has been told 0.  It polls with a short sleep rather than blocking in
 * MPI_Recv, because Open MPI's blocking receive spins and would take a core from the work. */
static void *queue_serve(void *arg)
{
    (void)arg;
    int finished = 0;
    struct timespec nap = {0, 200000}; /* 0.2 ms */
    while (finished < g_size - 1) {
        int flag = 0, rc;
        MPI_Status st;
        if ((rc = MPI_Iprobe(MPI_ANY_SOURCE, TAG_QUEUE_ASK, MPI_COMM_WORLD, &flag, &st)))
            goto failed;
        if (!flag) {
            nanosleep(&nap, NULL);
            continue;
        }
        int dummy;
        if ((rc = MPI_Recv(&dummy, 1, MPI_INT, st.MPI_SOURCE, TAG_QUEUE_ASK, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE)))
            goto failed;
        long long item = queue_take();
        if ((rc = MPI_Send(&item, 1, MPI_LONG_LONG, st.MPI_SOURCE, TAG_QUEUE_GIVE,
                           MPI_COMM_WORLD)))
            goto failed;
        if (item == 0) finished++;
        continue;
    failed:
        g_queue.server_error = rc;
        return NULL;
    }
    return NULL;
}

static int l_queue_open(lua_State *L)
{
    ready(L, "queue_open");
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0) luaL_error(L, "mpi.queue_open: %I items (expected 0 or more)", n);
    if (g_size > 1 && g_queue.server_error == -1)
        luaL_error(L, "mpi.queue_open: the MPI library gives no MPI_THREAD_SERIALIZED");
    /* everyone starts from the same state (and the previous queue's messages are all in) */
    CHECK(L, "queue_open", "MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
    g_queue.next = 1;
    g_queue.total = n;
    g_queue.server_error = 0;
    g_queue.drained = 0;
    g_queue.open = 1;
    if (g_rank == 0 && g_size > 1) {
        if (pthread_create(&g_queue.server, NULL, queue_serve, NULL) != 0) {
            g_queue.open = 0;
            luaL_error(L, "mpi.queue_open: cannot start the queue's thread");
        }
        g_queue.server_running = 1;
    }
    return 0;
}

static long long queue_ask(lua_State *L)
{
    long long item;
    if (g_queue.drained) return 0;
    if (g_rank == 0) {
        item = queue_take();
    } else {
        int ask = 1;
        CHECK(L, "queue_next", "MPI_Send",
              MPI_Send(&ask, 1, MPI_INT, 0, TAG_QUEUE_ASK, MPI_COMM_WORLD));
        CHECK(L, "queue_next", "MPI_Recv",
              MPI_Recv(&item, 1, MPI_LONG_LONG, 0, TAG_QUEUE_GIVE, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE));
    }
    if (item == 0) g_queue.drained = 1;
    return item;
}

static int l_queue_next(lua_State *L)
{
    if (!g_queue.open) luaL_error(L, "mpi.queue_next: no work queue is open");
    long long item = queue_ask(L);
    if (item == 0) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)item);
    return 1;
}

/* Collective: returns once every rank has been told that no item is left.  A rank that
 * stopped taking items early drops the ones it is handed here (so the server can end). */
static int l_queue_close(lua_State *L)
{
    if (!g_queue.open) return 0;
    if (g_rank != 0)
        while (queue_ask(L) != 0) {}
    if (g_queue.server_running) {
        pthread_join(g_queue.server, NULL);
        g_queue.server_running = 0;
    }
    g_queue.open = 0;
    if (g_queue.server_error > 0) fail(L, "queue_close", "the queue's thread", g_queue.server_error);
    return 0;
}

EXPORT int luaopen_kairo_mpi_core(lua_State *L);
EXPORT int luaopen_kairo_mpi_core(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"init", l_init},
        {"finalize", l_finalize},
        {"rank", l_rank},
        {"size", l_size},
        {"wtime", l_wtime},
        {"processor_name", l_processor_name},
        {"barrier", l_barrier},
        {"bcast_tensor", l_bcast_tensor},
        {"allreduce_tensor", l_allreduce_tensor},
        {"tensor_bytes", l_tensor_bytes},
        {"tensor_set_bytes", l_tensor_set_bytes},
        {"agree_value", l_agree_value},
        {"bcast_bytes", l_bcast_bytes},
        {"gather_bytes", l_gather_bytes},
        {"allgather_bytes", l_allgather_bytes},
        {"queue_open", l_queue_open},
        {"queue_next", l_queue_next},
        {"queue_close", l_queue_close},
        {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    char version[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    if (MPI_Get_library_version(version, &len) != MPI_SUCCESS) len = 0;
    version[len] = '\0';
    lua_pushstring(L, version);
    lua_setfield(L, -2, "library");
    return 1;
}
