/* The binding's shared helpers (declared in l_aux.h): what every lua/l_*.c file needs and no
 * area owns.  Nothing here depends on an area's file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "l_aux.h"

void kr_lua_setfuncs(lua_State *L, const luaL_Reg *funcs, int ctx_idx)
{
    lua_pushvalue(L, ctx_idx);
    luaL_setfuncs(L, funcs, 1);
}

/* ---- raising errors ---------------------------------------------------------------------- */

int kr_lua_error(lua_State *L, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", msg);
}

int kr_lua_argerror(lua_State *L, int arg, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return luaL_argerror(L, arg, msg);
}

void kr_lua_check(lua_State *L, kr_status st)
{
    if (st != KR_OK) luaL_error(L, "%s", kr_last_error());
}

/* ---- describing values ------------------------------------------------------------------- */

const char *kr_lua_typename(lua_State *L, int idx)
{
    const kr_tensor *t = luaL_testudata(L, idx, KR_TENSOR_MT);
    if (t) return !t->storage ? "closed tensor" : kr_is_stale(t) ? "overwritten tensor" : "tensor";
    int mt = luaL_getmetafield(L, idx, "__name");
    if (mt == LUA_TSTRING) {
        const char *name = lua_tostring(L, -1); /* held by the metatable */
        lua_pop(L, 1);
        return name;
    }
    if (mt != LUA_TNIL) lua_pop(L, 1);
    if (lua_type(L, idx) == LUA_TLIGHTUSERDATA) return "light userdata";
    return luaL_typename(L, idx);
}

/* ---- arguments --------------------------------------------------------------------------- */

const char *kr_lua_check_path(lua_State *L, int idx)
{
    size_t len;
    const char *path = luaL_checklstring(L, idx, &len);
    luaL_argcheck(L, strlen(path) == len, idx, "file name contains a zero byte");
    return path;
}

/* ---- tensors ----------------------------------------------------------------------------- */

/* luaL_testudata by the metatable's address rather than its name: finding the name costs a
 * string lookup, and even a registry fetch and compare was a tenth of a + b on 4x4 tensors.
 * The metatable is anchored in the registry (ctx->tensor_mt), so its address stays valid. */
static kr_tensor *test_udata(lua_State *L, int idx)
{
    kr_lua_ctx *ctx = kr_lua_ctx_of(L);
    if (!ctx || !ctx->tensor_mt_ptr) return luaL_testudata(L, idx, KR_TENSOR_MT);
    kr_tensor *t = lua_touserdata(L, idx);
    if (!t || !lua_getmetatable(L, idx)) return NULL;
    int ok = lua_topointer(L, -1) == ctx->tensor_mt_ptr;
    lua_pop(L, 1);
    return ok ? t : NULL;
}

kr_tensor *kr_lua_tensor_header(lua_State *L, int idx)
{
    return test_udata(L, idx);
}

kr_tensor *kr_lua_test_tensor(lua_State *L, int idx)
{
    kr_tensor *t = test_udata(L, idx);
    return t && t->storage && !kr_is_stale(t) ? t : NULL;
}

const char *kr_lua_stale_note(const kr_tensor *t)
{
    const char *note = t->storage ? t->storage->stale_note : NULL;
    return note ? note : "this tensor's buffer was reused by kairo; clone() it to keep it";
}

kr_tensor *kr_lua_check_tensor_any(lua_State *L, int idx)
{
    kr_tensor *t = test_udata(L, idx);
    if (!t) luaL_typeerror(L, idx, "tensor");
    if (!t->storage) luaL_argerror(L, idx, "tensor has been closed");
    if (kr_is_stale(t)) luaL_argerror(L, idx, kr_lua_stale_note(t));
    return t;
}

/* uint8 tensors stop here, at the entry of every function that computes (core/u8.c) */
kr_tensor *kr_lua_check_tensor(lua_State *L, int idx)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, idx);
    if (t->dtype == KR_U8)
        luaL_argerror(L, idx, "uint8 tensor: bytes take no arithmetic; convert with to(\"f32\") "
                              "or to(\"f64\") first");
    return t;
}

/* ---- dtypes and sizes -------------------------------------------------------------------- */

const char *const kr_lua_dtype_names[] = {"f64", "float64", "double", "f32", "float32", "float", NULL};
const kr_dtype kr_lua_dtypes[] = {KR_F64, KR_F64, KR_F64, KR_F32, KR_F32, KR_F32};

int kr_lua_dtype_from_name(const char *s, kr_dtype *dt)
{
    for (int i = 0; s && kr_lua_dtype_names[i]; i++)
        if (strcmp(s, kr_lua_dtype_names[i]) == 0) {
            *dt = kr_lua_dtypes[i];
            return 1;
        }
    return 0;
}

/* An unknown name is an argument error that lists the known ones (A:to("int32")). */
kr_dtype kr_lua_opt_dtype(lua_State *L, int idx, kr_dtype def)
{
    if (lua_isnoneornil(L, idx)) return def;
    const char *s = luaL_checkstring(L, idx);
    kr_dtype dt;
    if (kr_lua_dtype_from_name(s, &dt)) return dt;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "unknown dtype '");
    luaL_addstring(&b, s);
    luaL_addstring(&b, "'; known: ");
    for (int i = 0; kr_lua_dtype_names[i]; i++) {
        if (i > 0) luaL_addstring(&b, ", ");
        luaL_addstring(&b, kr_lua_dtype_names[i]);
    }
    luaL_pushresult(&b);
    return (kr_dtype)luaL_argerror(L, idx, lua_tostring(L, -1));
}

int kr_lua_read_dims(lua_State *L, int first, int *ndim, int64_t *size, kr_dtype *dt)
{
    int n = 0, i = first;
    if (lua_istable(L, first)) {
        lua_Integer len = luaL_len(L, first);
        if (len > KR_MAXDIM)
            kr_lua_argerror(L, first, "more than %d dimensions", KR_MAXDIM);
        for (lua_Integer k = 1; k <= len; k++) {
            int ok;
            lua_geti(L, first, k);
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok || v < 0 || lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, first, "dimensions must be non-negative integers");
            size[n++] = (int64_t)v;
            lua_pop(L, 1);
        }
        i++;
    } else {
        while (lua_type(L, i) == LUA_TNUMBER) {
            if (n == KR_MAXDIM) kr_lua_argerror(L, i, "more than %d dimensions", KR_MAXDIM);
            lua_Integer v = luaL_checkinteger(L, i);
            if (v < 0)
                luaL_argerror(L, i, lua_pushfstring(L, "size must be non-negative, got %I", v));
            size[n++] = (int64_t)v;
            i++;
        }
    }
    *ndim = n;
    if (dt) {
        *dt = kr_lua_opt_dtype(L, i, kr_lua_ctx_of(L)->default_dtype);
        if (lua_type(L, i) == LUA_TSTRING) i++;
    }
    return i;
}

int kr_lua_read_ints(lua_State *L, int first, int64_t *v, const char *what)
{
    int n = 0;
    if (lua_istable(L, first)) {
        lua_Integer len = luaL_len(L, first);
        if (len > KR_MAXDIM) kr_lua_argerror(L, first, "more than %d dimensions", KR_MAXDIM);
        for (lua_Integer k = 1; k <= len; k++) {
            int ok;
            lua_geti(L, first, k);
            v[n++] = (int64_t)lua_tointegerx(L, -1, &ok);
            if (!ok || lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, first, lua_pushfstring(L, "%s must be integers", what));
            lua_pop(L, 1);
        }
        return n;
    }
    for (int i = first; i <= lua_gettop(L); i++) {
        if (n == KR_MAXDIM) kr_lua_argerror(L, i, "more than %d dimensions", KR_MAXDIM);
        v[n++] = (int64_t)luaL_checkinteger(L, i);
    }
    return n;
}

/* ---- generators -------------------------------------------------------------------------- */

kr_lua_generator *kr_lua_test_generator(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, KR_GENERATOR_MT);
}

kr_rng *kr_lua_opt_rng(lua_State *L, int idx, const char *op)
{
    if (lua_isnoneornil(L, idx)) return &kr_lua_ctx_of(L)->rng;
    kr_lua_generator *g = kr_lua_test_generator(L, idx);
    if (!g) kr_lua_error(L, "%s: rng must be a kr.Generator, got %s", op, kr_lua_typename(L, idx));
    return &g->rng;
}

kr_lua_generator *kr_lua_push_generator(lua_State *L, lua_Integer seed)
{
    kr_lua_generator *g = lua_newuserdatauv(L, sizeof *g, 0);
    kr_rng_seed(&g->rng, (uint64_t)seed);
    g->seed = seed;
    luaL_setmetatable(L, KR_GENERATOR_MT);
    return g;
}

/* ---- pushing values ---------------------------------------------------------------------- */

static int new_userdata(lua_State *L)
{
    const size_t *nbytes = lua_touserdata(L, 1);
    lua_newuserdatauv(L, *nbytes, (int)lua_tointeger(L, 2));
    return 1;
}

void *kr_lua_new_buffer(lua_State *L, size_t nbytes, int nuv, const char *op)
{
    lua_pushcfunction(L, new_userdata);
    lua_pushlightuserdata(L, &nbytes);
    lua_pushinteger(L, nuv);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        luaL_error(L, "%s: cannot allocate %I bytes (out of memory)", op, (lua_Integer)nbytes);
    }
    return lua_touserdata(L, -1);
}

/* Two mechanisms.  Debt (LUA_GCSTEP) paces the incremental collector.  But lua5.4 runs the
 * generational one by default (lua.c switches to it), where debt only brings minor
 * collections: a tensor that is alive during one (in x = x + 1 the old x is alive while the
 * new one is allocated) turns old and waits for a major collection, which only the growth of
 * Lua's own heap triggers; a loop of 1 MB temporaries then held hundreds of MB.  So after as
 * many tensor bytes as were live (tensors and Lua heap) after the last full collection, and at
 * least FULL_MIN, kairo runs a full one: Lua's default pause of 200%, tensor bytes counted. */
enum { FULL_MIN = 64 << 20 };

void kr_lua_account(lua_State *L, size_t nbytes)
{
    kr_lua_ctx *ctx = kr_lua_ctx_of(L);
    ctx->since_full += nbytes;
    if (ctx->since_full >= (ctx->full_after ? ctx->full_after : (size_t)FULL_MIN)) {
        /* inside a finalizer Lua refuses (returns -1): try again at the next allocation */
        if (lua_gc(L, LUA_GCCOLLECT) < 0) return;
        int heap_kb = lua_gc(L, LUA_GCCOUNT);
        size_t live = (size_t)kr_alloc_stats_get().live_bytes;
        if (heap_kb > 0) live += (size_t)heap_kb * 1024;
        ctx->full_after = live > FULL_MIN ? live : FULL_MIN;
        ctx->since_full = 0;
        ctx->pending_bytes = 0;
        return;
    }
    ctx->pending_bytes += nbytes;
    if (ctx->pending_bytes >= 64 * 1024) {
        /* at most 1 GB of debt per step, so the count fits lua_gc's int */
        size_t k = ctx->pending_bytes / 1024;
        int kb = k > ((size_t)1 << 20) ? 1 << 20 : (int)k;
        ctx->pending_bytes -= (size_t)kb * 1024;
        lua_gc(L, LUA_GCSTEP, kb);
    }
}

kr_tensor *kr_lua_push_header(lua_State *L)
{
    kr_lua_ctx *ctx = kr_lua_ctx_of(L);
    kr_tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    if (ctx && ctx->tensor_mt) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->tensor_mt);
        lua_setmetatable(L, -2);
    } else {
        luaL_setmetatable(L, KR_TENSOR_MT);
    }
    return t;
}

/* The name of the running C function as the user called it ("zeros"), else "tensor". */
static const char *current_name(lua_State *L)
{
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
    return "tensor";
}

/* A failed allocation raises under the name of the function that asked for it: "zeros: too
 * many elements requested (...)".  Finding that name (lua_getinfo) costs more than a small
 * tensor's whole allocation, so it is looked up only once the allocation has failed. */
static kr_tensor *push_new(lua_State *L, kr_dtype dt, int ndim, const int64_t *size, int zero)
{
    kr_tensor *t = kr_lua_push_header(L);
    /* on failure, again under the caller's name for the message (memory may have come free) */
    if (kr_tensor_alloc("tensor", t, dt, ndim, size, zero) != KR_OK &&
        kr_tensor_alloc(current_name(L), t, dt, ndim, size, zero) != KR_OK)
        luaL_error(L, "%s", kr_last_error());
    kr_lua_account(L, t->storage->nbytes);
    return t;
}

kr_tensor *kr_lua_push_empty(lua_State *L, kr_dtype dt, int ndim, const int64_t *size)
{
    return push_new(L, dt, ndim, size, 0);
}

kr_tensor *kr_lua_push_zeros(lua_State *L, kr_dtype dt, int ndim, const int64_t *size)
{
    return push_new(L, dt, ndim, size, 1);
}
