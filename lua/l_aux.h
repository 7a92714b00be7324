/* The binding's shared helpers, as lauxlib is Lua's: argument checks, type names for messages,
 * dtype names, size lists, raising errors, pushing tensors and generators.  Every lua/l_*.c
 * file uses these; this file uses none of them, so the areas do not depend on each other.
 *
 * Every C function the module registers gets one upvalue: the module's context userdata
 * (kr_lua_ctx), which holds the default generator and settings, so nothing lives in C globals.
 * Tensor userdata hold a kr_tensor header; storage is reference counted in the C core and its
 * bytes are reported to Lua's collector (kr_lua_account: debt for the incremental collector,
 * full collections for the generational one), so garbage tensors are collected in proportion
 * to the memory they hold. */
#ifndef KR_L_AUX_H
#define KR_L_AUX_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/kairo.h"

#define KR_TENSOR_MT "kairo.Tensor"
#define KR_GENERATOR_MT "kairo.Generator"

typedef struct kr_lua_ctx {
    kr_rng rng;              /* the global generator behind kr.seed / kr.rand / kr.randn */
    kr_dtype default_dtype;
    size_t pending_bytes;    /* allocated since the collector was last told */
    size_t since_full;       /* tensor bytes allocated since kairo last ran a full collection */
    size_t full_after;       /* since_full that triggers the next one (0: the minimum) */
    int tensor_mt;           /* registry reference to the tensor metatable */
    const void *tensor_mt_ptr; /* that metatable's address: the type test compares it */
} kr_lua_ctx;

/* A kr.Generator userdata (metatable KR_GENERATOR_MT; its methods are lua/l_random.c's). */
typedef struct kr_lua_generator {
    kr_rng rng;
    lua_Integer seed; /* the last seed, for tostring */
} kr_lua_generator;

/* The context of the running C function (its upvalue 1). */
#define kr_lua_ctx_of(L) ((kr_lua_ctx *)lua_touserdata((L), lua_upvalueindex(1)))

/* Sets funcs into the table just below the top, each with the context at `ctx_idx` as upvalue. */
void kr_lua_setfuncs(lua_State *L, const luaL_Reg *funcs, int ctx_idx);

/* ---- raising errors ---------------------------------------------------------------------- */

/* luaL_error and luaL_argerror with printf's formats (%lld, %g, %.3s), which
 * lua_pushfstring lacks; the message is cut at 512 bytes.  Both never return. */
int kr_lua_error(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kr_lua_argerror(lua_State *L, int arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises the core's message (kr_last_error()) when st is not KR_OK. */
void kr_lua_check(lua_State *L, kr_status st);

/* ---- describing values ------------------------------------------------------------------- */

/* The type of the value at idx for messages, as luaL_typeerror names it: "tensor" (or
 * "closed tensor"), a metatable's __name ("kairo.MLP", "FILE*"), else the basic type. */
const char *kr_lua_typename(lua_State *L, int idx);

/* ---- arguments --------------------------------------------------------------------------- */

/* The file name at idx: a string without zero bytes (a C path would stop at the first one
 * and name another file), else an argument error. */
const char *kr_lua_check_path(lua_State *L, int idx);

/* A live tensor at idx: raises for anything else, for a closed tensor ("tensor has been
 * closed") and for a stale one, a view of a buffer kairo has reused since (kr_tensor_renew):
 * "bad argument #1 to 'sum' (this output of net:forward was overwritten by a later forward;
 * clone() it to keep it)". */
kr_tensor *kr_lua_check_tensor(lua_State *L, int idx);
kr_tensor *kr_lua_check_tensor_any(lua_State *L, int idx); /* the same, uint8 allowed (views, to) */
kr_tensor *kr_lua_test_tensor(lua_State *L, int idx);   /* NULL when not a live tensor */
kr_tensor *kr_lua_tensor_header(lua_State *L, int idx); /* any tensor userdata (closed, stale) */
/* Why the stale tensor t may not be used (its storage's note, or a general one). */
const char *kr_lua_stale_note(const kr_tensor *t);

/* The dtype names every function accepts, NULL-terminated ("f64", "float64", "double", "f32",
 * ...); kr_lua_dtype_names[i] means kr_lua_dtypes[i]. */
extern const char *const kr_lua_dtype_names[];
extern const kr_dtype kr_lua_dtypes[];
/* The dtype named s; 0 when s is NULL or no dtype's name. */
int kr_lua_dtype_from_name(const char *s, kr_dtype *dt);
/* An optional dtype argument: def when none or nil, else one of the names above (raises
 * "bad argument #idx to 'f' (invalid option 'x')" for another string). */
kr_dtype kr_lua_opt_dtype(lua_State *L, int idx, kr_dtype def);

/* A list of sizes from argument `first` on: integers d1, d2, ... or one table {d1, d2, ...}
 * (at most KR_MAXDIM, each an integer >= 0), then, when dt is not NULL, an optional dtype
 * string (default: the context's default dtype).  Returns the index of the first argument
 * after them. */
int kr_lua_read_dims(lua_State *L, int first, int *ndim, int64_t *size, kr_dtype *dt);

/* A list of integers of any sign (dimensions to permute, sizes with -1 to infer) from argument
 * `first` to the last, or one table of them: at most KR_MAXDIM, "more than 8 dimensions"
 * otherwise, "<what> must be integers" for a non-integer in the table.  Returns the count. */
int kr_lua_read_ints(lua_State *L, int first, int64_t *v, const char *what);

/* The generator at idx, NULL when it is not a kr.Generator. */
kr_lua_generator *kr_lua_test_generator(lua_State *L, int idx);
/* The generator behind an optional `rng` argument: the global one when none or nil, else a
 * kr.Generator (raises "op: rng must be a kr.Generator, got <type>"). */
kr_rng *kr_lua_opt_rng(lua_State *L, int idx, const char *op);

/* ---- memory ------------------------------------------------------------------------------ */

/* Puts a cache of small blocks in front of L's allocator (lua/l_alloc.c; one state per process,
 * off under AddressSanitizer); kr_lua_pool_remove gives the original allocator back. */
void kr_lua_pool_install(lua_State *L);
void kr_lua_pool_remove(lua_State *L);

/* ---- pushing values ---------------------------------------------------------------------- */

/* Pushes a new userdata of nbytes (with nuv user values) and returns its block; when that
 * much memory cannot be had, raises "op: cannot allocate N bytes (out of memory)" instead of
 * Lua's unnamed "not enough memory".  For scratch buffers whose size comes from the user. */
void *kr_lua_new_buffer(lua_State *L, size_t nbytes, int nuv, const char *op);

/* Pushes a new tensor userdata whose header is still empty (storage NULL); the caller
 * initialises it (kr_tensor_empty, a view function, ...).  An empty header is harmless. */
kr_tensor *kr_lua_push_header(lua_State *L);
/* Pushes a new contiguous tensor, uninitialised or zeroed; raises on failure. */
kr_tensor *kr_lua_push_empty(lua_State *L, kr_dtype dt, int ndim, const int64_t *size);
kr_tensor *kr_lua_push_zeros(lua_State *L, kr_dtype dt, int ndim, const int64_t *size);
/* Tells the collector about nbytes of new tensor memory (batched, cheap for small tensors). */
void kr_lua_account(lua_State *L, size_t nbytes);

/* Pushes a new kr.Generator seeded with seed. */
kr_lua_generator *kr_lua_push_generator(lua_State *L, lua_Integer seed);

#endif
