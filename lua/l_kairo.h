/* Shared pieces of the Lua binding.
 *
 * Every C function the module registers gets one upvalue: the module's context userdata
 * (kr_lua_ctx), which holds the default generator and settings, so nothing lives in C globals.
 * Tensor userdata hold a kr_tensor header; storage is reference counted in the C core and its
 * bytes are reported to Lua's collector (kr_lua_account in l_tensor.c: debt for the incremental
 * collector, full collections for the generational one), so garbage tensors are collected in
 * proportion to the memory they hold. */
#ifndef KR_L_KAIRO_H
#define KR_L_KAIRO_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/kairo.h"

#define KR_TENSOR_MT "kairo.Tensor"

typedef struct kr_lua_ctx {
    kr_rng rng;              /* the global generator behind kr.seed / kr.rand / kr.randn */
    kr_dtype default_dtype;
    size_t pending_bytes;    /* allocated since the collector was last told */
    size_t since_full;       /* tensor bytes allocated since kairo last ran a full collection */
    size_t full_after;       /* since_full that triggers the next one (0: the minimum) */
    int tensor_mt;           /* registry reference to the tensor metatable (a fast type test) */
} kr_lua_ctx;

/* The context of the running C function (its upvalue 1). */
#define kr_lua_ctx_of(L) ((kr_lua_ctx *)lua_touserdata((L), lua_upvalueindex(1)))

/* Sets funcs into the table just below the top, each with the context at `ctx_idx` as upvalue. */
void kr_lua_setfuncs(lua_State *L, const luaL_Reg *funcs, int ctx_idx);

/* Pushes a new userdata of nbytes (with nuv user values) and returns its block; when that
 * much memory cannot be had, raises "op: cannot allocate N bytes (out of memory)" instead of
 * Lua's unnamed "not enough memory".  For scratch buffers whose size comes from the user. */
void *kr_lua_new_buffer(lua_State *L, size_t nbytes, int nuv, const char *op);

/* The type of the value at idx for messages, as luaL_typeerror names it: "tensor" (or
 * "closed tensor"), a metatable's __name ("kairo.MLP", "FILE*"), else the basic type. */
const char *kr_lua_typename(lua_State *L, int idx);

/* The file name at idx: a string without zero bytes (a C path would stop at the
 * first one and name another file), else an argument error. */
const char *kr_lua_check_path(lua_State *L, int idx);

/* Argument checks that raise Lua's own "bad argument" errors. */
kr_tensor *kr_lua_check_tensor(lua_State *L, int idx);
kr_tensor *kr_lua_test_tensor(lua_State *L, int idx); /* NULL when not a live tensor */
kr_dtype kr_lua_opt_dtype(lua_State *L, int idx, kr_dtype def); /* "f64"/"float64"/"f32"/... */

/* Pushes a new tensor userdata whose header is still empty (storage NULL); the caller
 * initialises it (kr_tensor_empty, a view function, ...).  An empty header is harmless. */
kr_tensor *kr_lua_push_header(lua_State *L);
/* Pushes a new contiguous tensor, uninitialised or zeroed; raises on failure. */
kr_tensor *kr_lua_push_empty(lua_State *L, kr_dtype dt, int ndim, const int64_t *size);
kr_tensor *kr_lua_push_zeros(lua_State *L, kr_dtype dt, int ndim, const int64_t *size);
/* Raises "fname: <kr_last_error()>" when st is not KR_OK. */
void kr_lua_check(lua_State *L, kr_status st);
/* Tells the collector about nbytes of new tensor memory (batched, cheap for small tensors). */
void kr_lua_account(lua_State *L, size_t nbytes);

/* Each area's opener: adds its functions to the module table at `mod` (ctx at `ctx`). */
void kr_lua_open_tensor(lua_State *L, int mod, int ctx);
void kr_lua_open_random(lua_State *L, int mod, int ctx);
void kr_lua_open_linalg(lua_State *L, int mod, int ctx);
void kr_lua_open_io(lua_State *L, int mod, int ctx);
void kr_lua_open_nn(lua_State *L, int mod, int ctx);
/* kr.data is shared by several openers: each adds to it, creating it if absent
 * (lua_getfield(L, mod, "data"); a new table when that is not a table). */
void kr_lua_open_data(lua_State *L, int mod, int ctx);
void kr_lua_open_optim(lua_State *L, int mod, int ctx);
void kr_lua_open_image(lua_State *L, int mod, int ctx);

#endif
