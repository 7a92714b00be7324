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
 *     step(kind, who, params, grads, state, call, settings...)   -> nil | message
 *         one optimizer step over every parameter: checks, state lookup and update in one call
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

/* ---- one call per step ------------------------------------------------------------------- */
/* The state of one parameter is a table { param = W, t = steps, seen = call, item = i, m =, v =,
 * buf = } in the optimizer's state table, keyed by the address of W's first element (a light
 * userdata): a parameter keeps its state whatever its position in the list and whether it
 * comes as the same tensor object or as a new view of the same memory. */

static lua_Integer slot_int(lua_State *L, int slot, const char *field)
{
    lua_getfield(L, slot, field);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static void slot_set_int(lua_State *L, int slot, const char *field, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, slot, field);
}

/* The state tensor slot.field, allocated (zeros like W) on first use. */
static kr_tensor *slot_tensor(lua_State *L, int slot, const char *field, const kr_tensor *W)
{
    lua_getfield(L, slot, field);
    kr_tensor *t = kr_lua_test_tensor(L, -1);
    lua_pop(L, 1);
    if (t) return t;
    t = kr_lua_push_zeros(L, W->dtype, W->ndim, W->size);
    lua_setfield(L, slot, field);
    return t;
}

/* Pushes the message for item i of the pair at stack indices wi, gi and returns 1, or returns
 * 0 when the pair is fine. */
static int pair_message(lua_State *L, const char *who, lua_Integer i, int wi, int gi)
{
    const kr_tensor *W = luaL_testudata(L, wi, KR_TENSOR_MT);
    const kr_tensor *dW = luaL_testudata(L, gi, KR_TENSOR_MT);
    if (W && dW && kr_optim_check_pair(who, W, dW) == KR_OK) return 0;
    char item[160];
    snprintf(item, sizeof item, "%s: item %lld", who, (long long)i);
    if (!W) {
        lua_pushfstring(L, "%s: the parameter is not a tensor (got %s)", item, kr_lua_typename(L, wi));
        return 1;
    }
    if (!dW) {
        lua_pushfstring(L, "%s: the gradient is not a tensor (got %s)", item, kr_lua_typename(L, gi));
        return 1;
    }
    return push_status(L, kr_optim_check_pair(item, W, dW));
}

static int same_view(const kr_tensor *A, const kr_tensor *B)
{
    int same = A->dtype == B->dtype && kr_same_shape(A, B);
    for (int d = 0; same && d < A->ndim; d++)
        same = A->size[d] == 1 || A->stride[d] == B->stride[d];
    return same;
}

/* step(kind, who, params, grads, state, call, settings...) -> nil | message
 *   kind "sgd": lr, momentum, nesterov; "adam": lr, beta1, beta2, eps, weight_decay,
 *   bias_correction, stateless; "rmsprop": lr, alpha, eps, momentum.
 * Checks the settings and every pair and state entry first, then updates every parameter:
 * a bad item leaves every parameter as it was. */
static int l_step(lua_State *L)
{
    static const char *const kinds[] = { "sgd", "adam", "rmsprop", NULL };
    int k = luaL_checkoption(L, 1, NULL, kinds);
    const char *who = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TTABLE);
    lua_Integer call = luaL_checkinteger(L, 6);
    kr_sgd_opts so;
    kr_adam_opts ao;
    kr_rmsprop_opts ro;
    kr_status st;
    if (k == 0) { so = sgd_opts(L, 7); st = kr_sgd_check(who, &so); }
    else if (k == 1) { ao = adam_opts(L, 7); st = kr_adam_check(who, &ao); }
    else { ro = rmsprop_opts(L, 7); st = kr_rmsprop_check(who, &ro); }
    if (push_status(L, st)) return 1;
    lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
    if ((lua_Integer)lua_rawlen(L, 4) != n) {
        lua_pushfstring(L, "%s: %I parameters but %I gradients", who, n,
                        (lua_Integer)lua_rawlen(L, 4));
        return 1;
    }
    int top = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) { /* pass 1: check, find or make the state */
        lua_rawgeti(L, 3, i);
        lua_rawgeti(L, 4, i);
        if (pair_message(L, who, i, top + 1, top + 2)) return 1;
        const kr_tensor *W = lua_touserdata(L, top + 1);
        if (lua_rawgetp(L, 5, kr_data(W)) == LUA_TTABLE) {
            lua_getfield(L, -1, "param");
            if (!lua_rawequal(L, -1, top + 1)) {
                const kr_tensor *P = kr_lua_test_tensor(L, -1);
                if (!P || !same_view(P, W)) {
                    char a[8 * 21], b[8 * 21];
                    lua_pushfstring(L, "%s: item %I: this parameter (%s %s) shares its memory "
                                       "with one stepped before as another view (%s %s); call "
                                       "opt:reset() if the model changed", who, i,
                                    kr_tensor_shape_str(W, a, sizeof a), kr_dtype_name(W->dtype),
                                    P ? kr_tensor_shape_str(P, b, sizeof b) : "closed",
                                    P ? kr_dtype_name(P->dtype) : "tensor");
                    return 1;
                }
            }
            lua_pop(L, 1);
            if (slot_int(L, top + 3, "seen") == call) {
                lua_pushfstring(L, "%s: item %I is the same parameter as item %I", who, i,
                                slot_int(L, top + 3, "item"));
                return 1;
            }
        } else {
            lua_pop(L, 1);
            lua_createtable(L, 0, 7);
            lua_pushvalue(L, top + 1);
            lua_setfield(L, -2, "param");
            slot_set_int(L, top + 3, "t", 0);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, 5, kr_data(W));
        }
        slot_set_int(L, top + 3, "seen", call);
        slot_set_int(L, top + 3, "item", i);
        lua_settop(L, top);
    }
    for (lua_Integer i = 1; i <= n; i++) { /* pass 2: update */
        lua_rawgeti(L, 3, i);
        lua_rawgeti(L, 4, i);
        kr_tensor *W = lua_touserdata(L, top + 1);
        const kr_tensor *dW = lua_touserdata(L, top + 2);
        lua_rawgetp(L, 5, kr_data(W));
        int slot = top + 3;
        lua_Integer t = slot_int(L, slot, "t") + 1;
        slot_set_int(L, slot, "t", t);
        if (k == 0) {
            kr_tensor *buf = so.momentum > 0 ? slot_tensor(L, slot, "buf", W) : NULL;
            st = kr_sgd_step(W, dW, buf, &so);
        } else if (k == 1) {
            kr_tensor *m = ao.stateless ? NULL : slot_tensor(L, slot, "m", W);
            kr_tensor *v = ao.stateless ? NULL : slot_tensor(L, slot, "v", W);
            st = kr_adam_step(W, dW, m, v, (int64_t)t, &ao);
        } else {
            kr_tensor *v = slot_tensor(L, slot, "v", W);
            kr_tensor *buf = ro.momentum > 0 ? slot_tensor(L, slot, "buf", W) : NULL;
            st = kr_rmsprop_step(W, dW, v, buf, &ro);
        }
        kr_lua_check(L, st);
        lua_settop(L, top);
    }
    return 0;
}

static const luaL_Reg optim_funcs[] = {
    { "step", l_step },
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
