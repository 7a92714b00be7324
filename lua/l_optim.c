/* Lua binding: optimizer kernels (core/optim.c) for lua/kairo/optim.lua.
 *
 * The optimizer objects live in Lua (kairo/optim.lua): they hold the settings as plain fields
 * and the per-parameter state as ordinary tensors, so the collector sees all of it.  This file
 * gives them a private table kr._optim of small functions:
 *     check_pair(who, i|nil, W, dW [, label])    -> nil | message
 *     same_view(A, B)                            -> boolean
 *     check_sgd(who, lr, momentum, nesterov)     -> nil | message   (and check_adam, check_rmsprop)
 *     sgd_step(W, dW, buf|nil, lr, momentum, nesterov)
 *     adam_step(W, dW, m|nil, v|nil, t, lr, beta1, beta2, eps, weight_decay, bias_correction,
 *               stateless)
 *     rmsprop_step(W, dW, v, buf|nil, lr, alpha, eps, momentum)
 *     weight_decay(dW, W, lambda)                -> nil | message
 *     zeros_like(W)  key(W)  shape(W)
 * The check functions return their message instead of raising, so the Lua side can raise it at
 * its caller's level with the list index in it; the step functions raise (the Lua side checks
 * first, so that is a bug, not a user error). */
#include <stdio.h>

#include "l_kairo.h"

#include "../core/optim.h"

/* A tensor argument that may be nil (an unused state tensor). */
static kr_tensor *opt_tensor(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? NULL : kr_lua_check_tensor(L, idx);
}

/* Returns 0 results when st is KR_OK, else the message. */
static int push_status(lua_State *L, kr_status st)
{
    if (st == KR_OK) return 0;
    lua_pushstring(L, kr_last_error());
    return 1;
}

/* check_pair(who, i, W, dW [, label]): the message starts "<who>: <label> <i>: " (label
 * "item"), or "<who>: " when i is nil. */
static int l_check_pair(lua_State *L)
{
    const char *who = luaL_checkstring(L, 1);
    /* closed tensors get through here and are reported by kr_optim_check_pair */
    const kr_tensor *W = luaL_testudata(L, 3, KR_TENSOR_MT);
    const kr_tensor *dW = luaL_testudata(L, 4, KR_TENSOR_MT);
    const char *label = luaL_optstring(L, 5, "item");
    /* the message prefix is formatted only for a failure: every step of every parameter comes
     * here, and for small networks the formatting cost as much as the update */
    if (W && dW && kr_optim_check_pair(who, W, dW) == KR_OK) return 0;
    char item[160];
    if (lua_isnil(L, 2))
        snprintf(item, sizeof item, "%s", who);
    else
        snprintf(item, sizeof item, "%s: %s %lld", who, label, (long long)luaL_checkinteger(L, 2));
    if (!W) {
        lua_pushfstring(L, "%s: the parameter is not a tensor (got %s)", item,
                        kr_lua_typename(L, 3));
        return 1;
    }
    if (!dW) {
        lua_pushfstring(L, "%s: the gradient is not a tensor (got %s)", item,
                        kr_lua_typename(L, 4));
        return 1;
    }
    return push_status(L, kr_optim_check_pair(item, W, dW));
}

/* same_view(A, B): same dtype, shape and strides (A and B start at the same address). */
static int l_same_view(lua_State *L)
{
    const kr_tensor *A = kr_lua_check_tensor(L, 1);
    const kr_tensor *B = kr_lua_check_tensor(L, 2);
    int same = A->dtype == B->dtype && kr_same_shape(A, B);
    for (int d = 0; same && d < A->ndim; d++)
        same = A->size[d] == 1 || A->stride[d] == B->stride[d];
    lua_pushboolean(L, same);
    return 1;
}

static kr_sgd_opts sgd_opts(lua_State *L, int i)
{
    kr_sgd_opts o = { luaL_checknumber(L, i), luaL_checknumber(L, i + 1), lua_toboolean(L, i + 2) };
    return o;
}

static kr_adam_opts adam_opts(lua_State *L, int i)
{
    kr_adam_opts o = { luaL_checknumber(L, i),     luaL_checknumber(L, i + 1),
                       luaL_checknumber(L, i + 2), luaL_checknumber(L, i + 3),
                       luaL_checknumber(L, i + 4), lua_toboolean(L, i + 5),
                       lua_toboolean(L, i + 6) };
    return o;
}

static kr_rmsprop_opts rmsprop_opts(lua_State *L, int i)
{
    kr_rmsprop_opts o = { luaL_checknumber(L, i), luaL_checknumber(L, i + 1),
                          luaL_checknumber(L, i + 2), luaL_checknumber(L, i + 3) };
    return o;
}

static int l_check_sgd(lua_State *L)
{
    const char *who = luaL_checkstring(L, 1);
    kr_sgd_opts o = sgd_opts(L, 2);
    return push_status(L, kr_sgd_check(who, &o));
}

static int l_check_adam(lua_State *L)
{
    const char *who = luaL_checkstring(L, 1);
    kr_adam_opts o = adam_opts(L, 2);
    return push_status(L, kr_adam_check(who, &o));
}

static int l_check_rmsprop(lua_State *L)
{
    const char *who = luaL_checkstring(L, 1);
    kr_rmsprop_opts o = rmsprop_opts(L, 2);
    return push_status(L, kr_rmsprop_check(who, &o));
}

static int l_sgd_step(lua_State *L)
{
    kr_tensor *W = kr_lua_check_tensor(L, 1);
    const kr_tensor *dW = kr_lua_check_tensor(L, 2);
    kr_tensor *buf = opt_tensor(L, 3);
    kr_sgd_opts o = sgd_opts(L, 4);
    kr_lua_check(L, kr_sgd_step(W, dW, buf, &o));
    return 0;
}

static int l_adam_step(lua_State *L)
{
    kr_tensor *W = kr_lua_check_tensor(L, 1);
    const kr_tensor *dW = kr_lua_check_tensor(L, 2);
    kr_tensor *m = opt_tensor(L, 3);
    kr_tensor *v = opt_tensor(L, 4);
    lua_Integer t = luaL_checkinteger(L, 5);
    kr_adam_opts o = adam_opts(L, 6);
    kr_lua_check(L, kr_adam_step(W, dW, m, v, (int64_t)t, &o));
    return 0;
}

static int l_rmsprop_step(lua_State *L)
{
    kr_tensor *W = kr_lua_check_tensor(L, 1);
    const kr_tensor *dW = kr_lua_check_tensor(L, 2);
    kr_tensor *v = opt_tensor(L, 3);
    kr_tensor *buf = opt_tensor(L, 4);
    kr_rmsprop_opts o = rmsprop_opts(L, 5);
    kr_lua_check(L, kr_rmsprop_step(W, dW, v, buf, &o));
    return 0;
}

static int l_weight_decay(lua_State *L)
{
    kr_tensor *dW = kr_lua_check_tensor(L, 1);
    const kr_tensor *W = kr_lua_check_tensor(L, 2);
    double lambda = luaL_checknumber(L, 3);
    return push_status(L, kr_weight_decay(dW, W, lambda));
}

/* A new zero tensor of W's shape and dtype, contiguous: optimizer state. */
static int l_zeros_like(lua_State *L)
{
    const kr_tensor *W = kr_lua_check_tensor(L, 1);
    kr_lua_push_zeros(L, W->dtype, W->ndim, W->size);
    return 1;
}

/* The address of W's first element: the same for every view of the same parameter, and
 * different for different parameters (they cannot overlap). */
static int l_key(lua_State *L)
{
    const kr_tensor *W = kr_lua_check_tensor(L, 1);
    lua_pushlightuserdata(L, kr_data(W));
    return 1;
}

/* "3x4": for messages. */
static int l_shape(lua_State *L)
{
    const kr_tensor *W = kr_lua_check_tensor(L, 1);
    char buf[8 * 21];
    lua_pushstring(L, kr_tensor_shape_str(W, buf, sizeof buf));
    return 1;
}

/* all_live(list, n): whether list[1..n] are all live (not closed) tensors. */
static int l_all_live(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    int ok = 1;
    for (lua_Integer i = 1; ok && i <= n; i++) {
        lua_rawgeti(L, 1, i);
        ok = kr_lua_test_tensor(L, -1) != NULL;
        lua_pop(L, 1);
    }
    lua_pushboolean(L, ok);
    return 1;
}

static const luaL_Reg optim_funcs[] = {
    { "all_live", l_all_live },
    { "check_pair", l_check_pair },
    { "same_view", l_same_view },
    { "check_sgd", l_check_sgd },
    { "check_adam", l_check_adam },
    { "check_rmsprop", l_check_rmsprop },
    { "sgd_step", l_sgd_step },
    { "adam_step", l_adam_step },
    { "rmsprop_step", l_rmsprop_step },
    { "weight_decay", l_weight_decay },
    { "zeros_like", l_zeros_like },
    { "key", l_key },
    { "shape", l_shape },
    { NULL, NULL },
};

void kr_lua_open_optim(lua_State *L, int mod, int ctx)
{
    lua_newtable(L);
    kr_lua_setfuncs(L, optim_funcs, ctx);
    lua_setfield(L, mod, "_optim");
}
