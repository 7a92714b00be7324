/* Lua binding: kr.nn, the C half.  Activations (kr.nn._act_*), the MLP type, losses,
 * softmax, accuracy, and the per-sample helpers behind kr.data.onehot and kr.data.batches.
 * The pure-Lua half is lua/kairo/nn.lua (activation objects, gradcheck), lua/kairo/batches.lua
 * and lua/kairo/train.lua.
 *
 * An MLP is a userdata (metatable "kairo.MLP") holding a kr_mlp*, plus one user value: a
 * table with what Lua sees of it (W, b, dW, db: lists of tensor views sharing the C storages;
 * sizes, activations, dtype, bias, nlayers; the parameter and gradient lists; the tables of
 * user-defined activations).  __index looks in the methods table, then in that table.
 * Storage the network allocates (parameters, then workspaces when a batch grows) is reported
 * to the collector with kr_lua_account, as tensors are. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "l_kairo.h"

#define MLP_MT "kairo.MLP"
#define PERM_MT "kairo.Permutation"
#define LABELS_KEY "kairo.nn.labels"   /* registry: scratch array for labels */

typedef struct mlp_ud {
    kr_mlp *net;
    int busy; /* inside forward, backward or predict (a user's activation may call back) */
} mlp_ud;

/* ---- helpers ---------------------------------------------------------------------------- */
static kr_mlp *check_mlp(lua_State *L, int idx)
{
    mlp_ud *u = luaL_checkudata(L, idx, MLP_MT);
    if (!u->net) luaL_argerror(L, idx, "network has been closed");
    return u->net;
}

/* The network at idx for a pass that uses its workspaces: not while another pass of the same
 * network runs (a user-defined activation calling it back would reallocate them under it). */
static mlp_ud *check_idle_mlp(lua_State *L, int idx, const char *op)
{
    check_mlp(L, idx);
    mlp_ud *u = lua_touserdata(L, idx);
    if (u->busy)
        luaL_error(L, "%s: the network is already running a pass (called from one of its own "
                      "activations?)", op);
    return u;
}

/* Pushes a new n x B tensor that keeps each sample contiguous (strides {1, n}); a failed
 * allocation raises under the name op ("onehot: too many elements requested (...)"). */
static kr_tensor *push_samples(lua_State *L, kr_dtype dt, int64_t n, int64_t B, const char *op)
{
    int64_t size[2] = { B, n };
    kr_tensor *t = kr_lua_push_header(L);
    if (kr_tensor_alloc(op, t, dt, 2, size, 0) != KR_OK) luaL_error(L, "%s", kr_last_error());
    kr_lua_account(L, t->storage->nbytes);
    t->size[0] = n;
    t->size[1] = B;
    t->stride[0] = 1;
    t->stride[1] = n;
    return t;
}

/* Pushes a tensor sharing src's storage, with src's shape and strides. */
static void push_view(lua_State *L, const kr_tensor *src)
{
    kr_tensor *t = kr_lua_push_header(L);
    kr_tensor_share(t, src);
}

/* Tells the collector about storage allocated since `before` (a live_bytes reading). */
static void account_since(lua_State *L, uint64_t before)
{
    uint64_t now = kr_alloc_stats_get().live_bytes;
    if (now > before) kr_lua_account(L, (size_t)(now - before));
}

static int64_t *labels_scratch(lua_State *L, int64_t n, const char *op)
{
    size_t need = (size_t)(n > 64 ? n : 64) * sizeof(int64_t);
    lua_getfield(L, LUA_REGISTRYINDEX, LABELS_KEY);
    void *p = lua_touserdata(L, -1);
    if (!p || lua_rawlen(L, -1) < need) {
        p = kr_lua_new_buffer(L, need, 0, op);
        lua_setfield(L, LUA_REGISTRYINDEX, LABELS_KEY); /* the registry keeps it alive */
    }
    lua_pop(L, 1);
    return p;
}

/* Number of labels at idx (a Lua table or a 1-D tensor); raises for anything else. */
static int64_t labels_count(lua_State *L, int idx, const char *op)
{
    kr_tensor *t = kr_lua_test_tensor(L, idx);
    char s[200];
    if (t) {
        if (t->ndim != 1)
            kr_lua_error(L, "%s: labels must be a 1-D tensor, got %s", op,
                       kr_tensor_shape_str(t, s, sizeof s));
        return t->size[0];
    }
    if (!lua_istable(L, idx))
        kr_lua_error(L, "%s: labels must be a table or a 1-D tensor, got %s", op,
                   kr_lua_typename(L, idx));
    return (int64_t)luaL_len(L, idx);
}

/* Reads B class labels, 1-based in 1..K, from a Lua table or a 1-D tensor at idx; returns
 * them 0-based in a scratch array (valid until the next call). */
static int64_t *check_labels(lua_State *L, int idx, int64_t B, int64_t K, const char *op)
{
    int64_t count = labels_count(L, idx, op);
    if (count != B)
        kr_lua_error(L, "%s: %lld labels for a batch of %lld", op, (long long)count, (long long)B);
    kr_tensor *t = kr_lua_test_tensor(L, idx);
    int64_t *out = labels_scratch(L, B, op);
    for (int64_t j = 0; j < B; j++) {
        double v;
        if (t) {
            v = kr_get(t, &j);
        } else {
            lua_geti(L, idx, j + 1);
            int isnum;
            v = lua_tonumberx(L, -1, &isnum);
            if (!isnum)
                kr_lua_error(L, "%s: label %lld is %s, not a number", op, (long long)(j + 1),
                           kr_lua_typename(L, -1));
            lua_pop(L, 1);
        }
        if (v != floor(v))
            kr_lua_error(L, "%s: label %g of sample %lld is not an integer", op, v,
                       (long long)(j + 1));
        if (v < 1 || v > (double)K)
            kr_lua_error(L, "%s: label %g of sample %lld is out of range 1..%lld", op, v,
                       (long long)(j + 1), (long long)K);
        out[j] = (int64_t)v - 1;
    }
    return out;
}

/* The tensor at idx, pushed again on top, or (when idx is none/nil) a new n x B one like Y;
 * Y must be 2-D (run `check` to get the core's message otherwise). */
static kr_tensor *out_or_new(lua_State *L, int idx, const kr_tensor *Y, const char *op)
{
    if (!lua_isnoneornil(L, idx)) {
        kr_tensor *o = kr_lua_check_tensor(L, idx);
        lua_pushvalue(L, idx);
        return o;
    }
    return push_samples(L, Y->dtype, Y->size[0], Y->size[1], op);
}

/* Raises the core's own message about a non-2-D Y (a call with no output fails on it). */
static void check_2d_via(lua_State *L, const kr_tensor *Y,
                         kr_status (*f)(double *, kr_tensor *, const kr_tensor *,
                                        const kr_tensor *),
                         const kr_tensor *T)
{
    double loss;
    if (Y->ndim != 2) kr_lua_check(L, f(&loss, NULL, Y, T));
}

/* ---- activations ------------------------------------------------------------------------ */
/* _act_forward(x, name, slope [, out]) / _act_backward(y, name, slope [, out]) */
static int act_apply(lua_State *L, int derivative)
{
    kr_tensor *x = kr_lua_check_tensor(L, 1);
    kr_activation a;
    kr_lua_check(L, kr_act_from_name(&a, luaL_checkstring(L, 2)));
    a.slope = luaL_optnumber(L, 3, a.slope);
    kr_tensor *out;
    if (!lua_isnoneornil(L, 4)) {
        out = kr_lua_check_tensor(L, 4);
        lua_pushvalue(L, 4);
    } else {
        out = kr_lua_push_empty(L, x->dtype, x->ndim, x->size);
    }
    kr_lua_check(L, derivative ? kr_act_derivative(out, x, a) : kr_act_forward(out, x, a));
    return 1;
}
static int l_act_forward(lua_State *L) { return act_apply(L, 0); }
static int l_act_backward(lua_State *L) { return act_apply(L, 1); }

/* ---- losses ----------------------------------------------------------------------------- */
typedef kr_status (*loss_fn)(double *, kr_tensor *, const kr_tensor *, const kr_tensor *);

/* loss, dY = f(Y, T [, dY]) */
static int loss_call(lua_State *L, loss_fn f, const char *op)
{
    kr_tensor *Y = kr_lua_check_tensor(L, 1), *T = kr_lua_check_tensor(L, 2);
    check_2d_via(L, Y, f, T);
    kr_tensor *dY = out_or_new(L, 3, Y, op);
    double loss;
    kr_lua_check(L, f(&loss, dY, Y, T));
    lua_pushnumber(L, loss);
    lua_insert(L, -2);
    return 2;
}
static int l_mse(lua_State *L) { return loss_call(L, kr_mse, "mse"); }
static int l_bce(lua_State *L)
{
    return loss_call(L, kr_binary_cross_entropy, "binary_cross_entropy");
}
static int l_bce_logits(lua_State *L)
{
    return loss_call(L, kr_bce_with_logits, "bce_with_logits");
}

/* loss, dU = softmax_cross_entropy(U, labels | T [, dU]) */
static int l_softmax_ce(lua_State *L)
{
    const char *op = "softmax_cross_entropy";
    kr_tensor *U = kr_lua_check_tensor(L, 1), *T = kr_lua_test_tensor(L, 2);
    if (T && T->ndim == 2) return loss_call(L, kr_softmax_cross_entropy, op);
    check_2d_via(L, U, kr_softmax_cross_entropy, U);
    double loss;
    if (U->size[0] == 0 || U->size[1] == 0) /* the core words it: the batch is empty */
        kr_lua_check(L, kr_softmax_cross_entropy_labels(&loss, NULL, U, NULL));
    int64_t *labels = check_labels(L, 2, U->size[1], U->size[0], op);
    kr_tensor *dU = out_or_new(L, 3, U, op);
    kr_lua_check(L, kr_softmax_cross_entropy_labels(&loss, dU, U, labels));
    lua_pushnumber(L, loss);
    lua_insert(L, -2);
    return 2;
}

/* P = softmax(U [, P]) */
static int l_softmax(lua_State *L)
{
    kr_tensor *U = kr_lua_check_tensor(L, 1);
    if (U->ndim != 2) kr_lua_check(L, kr_softmax(U, U)); /* the core's message */
    kr_tensor *P = out_or_new(L, 2, U, "softmax");
    kr_lua_check(L, kr_softmax(P, U));
    return 1;
}

/* fraction = accuracy(Y, labels | T): columns whose argmax is the label (or T's argmax). */
static int l_accuracy(lua_State *L)
{
    const char *op = "accuracy";
    char s1[200], s2[200];
    kr_tensor *Y = kr_lua_check_tensor(L, 1), *T = kr_lua_test_tensor(L, 2);
    double acc;
    if (Y->ndim != 2)
        kr_lua_error(L, "%s: output must be 2-D (classes x batch), got %s", op,
                   kr_tensor_shape_str(Y, s1, sizeof s1));
    if (Y->size[0] == 0 || Y->size[1] == 0) /* before the labels are checked against 1..0 */
        kr_lua_error(L, "%s: output is empty (%s)", op, kr_tensor_shape_str(Y, s1, sizeof s1));
    int64_t *labels;
    if (T && T->ndim == 2) {
        if (!kr_same_shape(Y, T))
            kr_lua_error(L, "%s: output is %s, target is %s", op,
                       kr_tensor_shape_str(Y, s1, sizeof s1),
                       kr_tensor_shape_str(T, s2, sizeof s2));
        labels = labels_scratch(L, Y->size[1], op);
        kr_lua_check(L, kr_argmax_columns(labels, T));
    } else {
        labels = check_labels(L, 2, Y->size[1], Y->size[0], op);
    }
    kr_lua_check(L, kr_accuracy(&acc, Y, labels));
    lua_pushnumber(L, acc);
    return 1;
}

/* ---- data helpers ----------------------------------------------------------------------- */
/* _onehot(labels, K [, dtype]) -> K x B, one sample per contiguous column */
static int l_onehot(lua_State *L)
{
    const char *op = "onehot";
    lua_Integer K = luaL_checkinteger(L, 2);
    if (K < 1) kr_lua_error(L, "%s: the number of classes must be >= 1, got %lld", op, (long long)K);
    kr_dtype dt = kr_lua_opt_dtype(L, 3, kr_lua_ctx_of(L)->default_dtype);
    int64_t B = labels_count(L, 1, op);
    int64_t *labels = check_labels(L, 1, B, K, op);
    kr_tensor *t = push_samples(L, dt, K, B, op);
    kr_fill_(t, 0.0);
    for (int64_t j = 0; j < B; j++) {
        int64_t idx[2] = { labels[j], j };
        kr_set(t, idx, 1.0);
    }
    return 1;
}

/* _perm_new(n): a permutation buffer, holding 0..n-1 */
static int l_perm_new(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= ((lua_Integer)1 << 40), 1, "size must be in 0..2^40");
    int64_t *p = kr_lua_new_buffer(L, (size_t)(n > 0 ? n : 1) * sizeof *p, 1, "batches");
    lua_pushinteger(L, n);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, PERM_MT);
    for (lua_Integer i = 0; i < n; i++) p[i] = i;
    return 1;
}

static int64_t *check_perm(lua_State *L, int idx, int64_t *n)
{
    int64_t *p = luaL_checkudata(L, idx, PERM_MT);
    lua_getiuservalue(L, idx, 1);
    *n = (int64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return p;
}

/* _perm_shuffle(p [, rng]): a fresh uniformly random permutation (Fisher-Yates) */
static int l_perm_shuffle(lua_State *L)
{
    int64_t n;
    int64_t *p = check_perm(L, 1, &n);
    kr_rng_permutation(kr_lua_opt_rng(L, 2, "batches"), n, p);
    return 0;
}

/* _gather(dst, src, p, start [, scale]): dst's samples = scale * src's samples p[start],
 * p[start+1], ... (src may be uint8: converted while gathered) */
static int l_gather(lua_State *L)
{
    kr_tensor *dst = kr_lua_check_tensor_any(L, 1), *src = kr_lua_check_tensor_any(L, 2);
    double scale = luaL_optnumber(L, 5, 1.0);
    int64_t n;
    int64_t *p = check_perm(L, 3, &n);
    lua_Integer start = luaL_checkinteger(L, 4);
    int64_t m = dst->ndim >= 1 ? dst->size[dst->ndim - 1] : 0;
    if (start < 0 || start > n || m > n - start) /* in doubles: start + m may overflow */
        kr_lua_error(L, "gather: samples %.0f..%.0f are outside the permutation of %lld",
                 (double)start + 1, (double)start + (double)m, (long long)n);
    kr_lua_check(L, kr_gather_columns_scaled(dst, src, p + start, scale));
    return 0;
}

/* _renew_batch(buf): kr.data.batches is about to overwrite buf; every view of it handed out
 * before is stale from now on (kr_tensor_renew), buf itself stays usable. */
static int l_renew_batch(lua_State *L)
{
    kr_tensor_renew(kr_lua_check_tensor(L, 1), "this batch from kr.data.batches was overwritten "
                                               "by the next batch; clone() it to keep it");
    return 0;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty(STDERR_FILENO));
    return 1;
}

/* ---- the MLP: user-defined activations -------------------------------------------------- */
typedef struct hook_ctx {
    lua_State *L;
    int state; /* stack index of the network's state table */
    const char *op;
} hook_ctx;

/* One call of a user's activation, made in protected mode (hook_body) so that no Lua error
 * can jump through the C core: target = f(arg) (forward) or target .*= f'(arg) (backward). */
typedef struct hook_call {
    hook_ctx *h;
    int layer;
    const char *field; /* "forward" or "backward" */
    kr_tensor *target;
    const kr_tensor *arg;
    kr_status st;
} hook_call;

/* hook_body(call, state): calls state.custom[layer + 1][field](view of arg), checks that it
 * returned a tensor of arg's shape, and applies it; a misfit result sets call->st. */
static int hook_body(lua_State *L)
{
    hook_call *c = lua_touserdata(L, 1);
    char s1[200], s2[200];
    lua_getfield(L, 2, "custom");
    lua_geti(L, -1, c->layer + 1);
    lua_getfield(L, -1, c->field);
    push_view(L, c->arg);
    lua_call(L, 1, 1);
    kr_tensor *r = kr_lua_test_tensor(L, -1);
    if (!r) {
        c->st = kr_fail(KR_EINVAL, "%s: %s of layer %d's activation returned %s, not a tensor",
                        c->h->op, c->field, c->layer + 1, kr_lua_typename(L, -1));
    } else if (!kr_same_shape(r, c->arg)) {
        c->st = kr_fail(KR_EINVAL, "%s: %s of layer %d's activation returned %s for %s",
                        c->h->op, c->field, c->layer + 1, kr_tensor_shape_str(r, s1, sizeof s1),
                        kr_tensor_shape_str(c->arg, s2, sizeof s2));
    } else if (strcmp(c->field, "forward") == 0) {
        c->st = kr_copy_(c->target, r); /* u = f(u) */
    } else {
        c->st = kr_binary(c->target, c->target, r, KR_MUL); /* g .*= f'(y) */
    }
    return 0;
}

static kr_status run_hook(hook_ctx *h, int layer, const char *field, kr_tensor *target,
                          const kr_tensor *arg)
{
    lua_State *L = h->L;
    int top = lua_gettop(L);
    hook_call c = { h, layer, field, target, arg, KR_OK };
    lua_pushvalue(L, lua_upvalueindex(1)); /* the context, for push_view */
    lua_pushcclosure(L, hook_body, 1);
    lua_pushlightuserdata(L, &c);
    lua_pushvalue(L, h->state);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        c.st = kr_fail(KR_EINVAL, "%s: %s of layer %d's activation failed: %s", h->op, field,
                       layer + 1, msg ? msg : "(error object is not a string)");
    }
    lua_settop(L, top);
    return c.st;
}

static kr_status hook_forward(void *ud, int layer, kr_tensor *u)
{
    return run_hook(ud, layer, "forward", u, u);
}

static kr_status hook_grad_mul(void *ud, int layer, kr_tensor *g, const kr_tensor *y)
{
    return run_hook(ud, layer, "backward", g, y);
}

/* ---- the MLP: construction -------------------------------------------------------------- */
static const char *const mlp_options[] = { "sizes", "activation", "output", "init", "init_scale",
                                           "bias", "dtype", "rng", "feedback", NULL };

/* Parses the activation at stack index v for layer `layer` (0-based); user-defined ones
 * go to state.custom[layer + 1]. */
static void parse_activation(lua_State *L, int v, int layer, kr_activation *a, int state)
{
    v = lua_absindex(L, v);
    if (lua_type(L, v) == LUA_TSTRING) {
        const char *name = lua_tostring(L, v);
        if (strcmp(name, "softmax") == 0)
            kr_lua_error(L, "kr.nn.MLP: softmax is not a layer activation: use output = \"identity\" and "
                          "kr.nn.softmax_cross_entropy on the logits");
        if (kr_act_from_name(a, name) != KR_OK) kr_lua_error(L, "kr.nn.MLP: %s", kr_last_error());
        return;
    }
    if (lua_istable(L, v)) {
        lua_getfield(L, v, "builtin");
        int builtin = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (builtin) {
            lua_getfield(L, v, "name");
            lua_getfield(L, v, "slope");
            const char *name = lua_tostring(L, -2);
            if (!name || kr_act_from_name(a, name) != KR_OK)
                kr_lua_error(L, "kr.nn.MLP: activation of layer %d is not a known built-in", layer + 1);
            if (lua_isnumber(L, -1)) a->slope = lua_tonumber(L, -1);
            lua_pop(L, 2);
            if (kr_act_check("kr.nn.MLP", *a) != KR_OK) kr_lua_error(L, "%s", kr_last_error());
            return;
        }
        lua_getfield(L, v, "forward");
        lua_getfield(L, v, "backward");
        int ok = lua_isfunction(L, -2) && lua_isfunction(L, -1);
        lua_pop(L, 2);
        if (ok) {
            a->kind = KR_ACT_CUSTOM;
            a->slope = 0;
            lua_getfield(L, state, "custom");
            lua_pushvalue(L, v);
            lua_seti(L, -2, layer + 1);
            lua_pop(L, 1);
            return;
        }
    }
    kr_lua_error(L, "kr.nn.MLP: the activation of layer %d must be a name or a table with forward and "
                  "backward functions, got %s", layer + 1,
             lua_istable(L, v) ? "a table without them" : kr_lua_typename(L, v));
}

/* A list of activations (one per layer), as opposed to one activation. */
static int is_activation_list(lua_State *L, int v)
{
    if (!lua_istable(L, v)) return 0;
    int t = lua_geti(L, v, 1);
    lua_pop(L, 1);
    return t != LUA_TNIL;
}

/* Pushes what describes layer l's activation and can be given back to kr.nn.MLP: the name of
 * a built-in, kr.nn.activations.leaky_relu{ slope = a } for a leaky ReLU of another slope, the
 * user's table for a user-defined one. */
static void push_activation(lua_State *L, int state, kr_activation a, int l)
{
    if (a.kind == KR_ACT_CUSTOM) {
        lua_getfield(L, state, "custom");
        lua_geti(L, -1, l + 1);
        lua_remove(L, -2);
        return;
    }
    if (a.kind == KR_ACT_LEAKY_RELU && a.slope != KR_LEAKY_RELU_SLOPE) {
        int top = lua_gettop(L);
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        if (lua_getfield(L, -1, "kairo") == LUA_TTABLE && lua_getfield(L, -1, "nn") == LUA_TTABLE &&
            lua_getfield(L, -1, "activations") == LUA_TTABLE &&
            lua_getfield(L, -1, "leaky_relu") != LUA_TNIL) {
            lua_createtable(L, 0, 1);
            lua_pushnumber(L, a.slope);
            lua_setfield(L, -2, "slope");
            lua_call(L, 1, 1); /* kr.nn.activations.leaky_relu{ slope = a } */
            lua_replace(L, top + 1);
            lua_settop(L, top + 1);
            return;
        }
        lua_settop(L, top); /* kairo.nn not loaded yet: the name will do */
    }
    lua_pushstring(L, kr_act_name(a.kind));
}

/* state.feedback (the rule's name), state.B and, for kp, state.dB (lists indexed by layer,
 * with holes where a layer has no feedback matrix: B[2..L] or, for dfa, B[1..L-1]); kp's B
 * join the end of params (B2, B3, ...) and its dB the end of grads, so an optimizer steps them;
 * state.weights / state.weight_grads are what weight decay touches: W (and kp's B), dW (dB). */
static void build_feedback_state(lua_State *L, int state, const kr_mlp *net)
{
    lua_pushstring(L, kr_feedback_name(net->feedback));
    lua_setfield(L, state, "feedback");
    for (int k = 0; k < 2; k++) {
        const kr_tensor *list = k == 0 ? net->B : net->dB;
        if (!list && k == 1) continue;
        lua_createtable(L, net->nlayers, 0);
        for (int l = 0; list && l < net->nlayers; l++) {
            if (!kr_mlp_has_feedback(net, l)) continue;
            push_view(L, &list[l]);
            lua_seti(L, -2, l + 1);
        }
        lua_setfield(L, state, k == 0 ? "B" : "dB");
    }
    const char *pairs[2][3] = { { "params", "grads", NULL }, { "weights", "weight_grads", NULL } };
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 2; j++) {
            /* weights / weight_grads start as copies of W / dW */
            if (k == 1) {
                lua_createtable(L, net->nlayers, 0);
                lua_getfield(L, state, j == 0 ? "W" : "dW");
                for (int l = 1; l <= net->nlayers; l++) {
                    lua_geti(L, -1, l);
                    lua_seti(L, -3, l);
                }
                lua_pop(L, 1);
                lua_setfield(L, state, pairs[k][j]);
            }
            if (net->feedback != KR_FEEDBACK_KP) continue;
            lua_getfield(L, state, pairs[k][j]);
            lua_getfield(L, state, j == 0 ? "B" : "dB");
            lua_Integer n = luaL_len(L, -2);
            for (int l = 0; l < net->nlayers; l++) {
                if (!kr_mlp_has_feedback(net, l)) continue;
                lua_geti(L, -1, l + 1);
                lua_seti(L, -3, ++n);
            }
            lua_pop(L, 2);
        }
    }
}

/* Fills the state table at `state` with the views and descriptions of net. */
static void build_state(lua_State *L, int state, const kr_mlp *net)
{
    const char *lists[4] = { "W", "b", "dW", "db" };
    for (int k = 0; k < 4; k++) {
        lua_createtable(L, net->nlayers, 0);
        for (int l = 0; l < net->nlayers; l++) {
            const kr_tensor *t = k == 0 ? &net->W[l] : k == 1 ? &net->b[l]
                                 : k == 2 ? &net->dW[l] : &net->db[l];
            if (!t->storage) continue; /* no biases */
            push_view(L, t);
            lua_seti(L, -2, l + 1);
        }
        lua_setfield(L, state, lists[k]);
    }
    /* parameters and gradients: W1, b1, W2, b2, ... (W only without biases) */
    for (int k = 0; k < 2; k++) {
        lua_createtable(L, 2 * net->nlayers, 0);
        int n = 0;
        for (int l = 0; l < net->nlayers; l++) {
            lua_getfield(L, state, k == 0 ? "W" : "dW");
            lua_geti(L, -1, l + 1);
            lua_seti(L, -3, ++n);
            lua_pop(L, 1);
            if (!net->bias) continue;
            lua_getfield(L, state, k == 0 ? "b" : "db");
            lua_geti(L, -1, l + 1);
            lua_seti(L, -3, ++n);
            lua_pop(L, 1);
        }
        lua_setfield(L, state, k == 0 ? "params" : "grads");
    }
    lua_createtable(L, net->nlayers + 1, 0);
    for (int l = 0; l <= net->nlayers; l++) {
        lua_pushinteger(L, net->sizes[l]);
        lua_seti(L, -2, l + 1);
    }
    lua_setfield(L, state, "sizes");
    lua_createtable(L, net->nlayers, 0);
    for (int l = 0; l < net->nlayers; l++) {
        push_activation(L, state, net->act[l], l);
        lua_seti(L, -2, l + 1);
    }
    lua_setfield(L, state, "activations");
    lua_pushinteger(L, net->nlayers);
    lua_setfield(L, state, "nlayers");
    lua_pushstring(L, kr_dtype_name(net->dtype));
    lua_setfield(L, state, "dtype");
    lua_pushboolean(L, net->bias);
    lua_setfield(L, state, "bias");
    build_feedback_state(L, state, net);
}

/* Pushes a new, empty MLP userdata with its state table; returns the userdata. */
static mlp_ud *push_mlp(lua_State *L)
{
    mlp_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->net = NULL;
    u->busy = 0;
    luaL_setmetatable(L, MLP_MT);
    lua_newtable(L);
    lua_newtable(L);
    lua_setfield(L, -2, "custom");
    lua_setiuservalue(L, -2, 1);
    return u;
}

static kr_dtype parse_dtype(lua_State *L, int v, kr_dtype def)
{
    if (lua_isnil(L, v)) return def;
    const char *s = lua_type(L, v) == LUA_TSTRING ? lua_tostring(L, v) : NULL;
    kr_dtype dt;
    if (kr_lua_dtype_from_name(s, &dt)) return dt;
    kr_lua_error(L, "kr.nn.MLP: unknown dtype %s%s%s (use \"f64\" or \"f32\")", s ? "'" : "",
                 s ? s : kr_lua_typename(L, v), s ? "'" : "");
    return def;
}

/* kr.nn.MLP{ sizes =, activation =, output =, init =, init_scale =, bias =, dtype =, rng = } */
static int l_mlp_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
        int known = 0;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int k = 0; mlp_options[k] && !known; k++)
                known = strcmp(lua_tostring(L, -2), mlp_options[k]) == 0;
        if (!known)
            kr_lua_error(L, "kr.nn.MLP: unknown option %s (known: sizes, activation, output, init, "
                          "init_scale, bias, dtype, rng, feedback)",
                       lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "(not a name)");
    }
    /* 2: sizes, 3: activation, 4: output, 5: init, 6: init_scale, 7: bias, 8: dtype, 9: rng,
     * 10: feedback */
    for (int k = 0; mlp_options[k]; k++) lua_getfield(L, 1, mlp_options[k]);
    kr_feedback fb = KR_FEEDBACK_BP;
    if (!lua_isnil(L, 10)) {
        const char *name = lua_type(L, 10) == LUA_TSTRING ? lua_tostring(L, 10) : NULL;
        if (!name) kr_lua_error(L, "kr.nn.MLP: feedback must be a name, got %s", kr_lua_typename(L, 10));
        if (kr_feedback_from_name(&fb, name) != KR_OK) kr_lua_error(L, "kr.nn.MLP: %s", kr_last_error());
    }
    lua_pop(L, 1); /* the stack indices below (10: sizes buffer, ...) stay as they were */
    if (!lua_istable(L, 2) || luaL_len(L, 2) < 2)
        kr_lua_error(L, "kr.nn.MLP: sizes must be a list of at least two layer sizes, e.g. {784, 256, 10}");
    int nl = (int)luaL_len(L, 2) - 1;
    if (nl > 65536) kr_lua_error(L, "kr.nn.MLP: too many layers (%d)", nl);
    int64_t *sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)(nl + 1), 0); /* 10 */
    kr_activation *act = lua_newuserdatauv(L, sizeof *act * (size_t)nl, 0);    /* 11 */
    for (int l = 0; l <= nl; l++) {
        lua_geti(L, 2, l + 1);
        int isint;
        lua_Integer n = lua_tointegerx(L, -1, &isint);
        if (!isint || n < 1)
            kr_lua_error(L, "kr.nn.MLP: sizes[%d] must be a positive integer, got %s", l + 1,
                     lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL)
                                                    : kr_lua_typename(L, -1));
        sizes[l] = n;
        lua_pop(L, 1);
    }
    mlp_ud *u = push_mlp(L); /* 12 */
    lua_getiuservalue(L, 12, 1); /* 13: state */
    if (is_activation_list(L, 3)) {
        if (!lua_isnil(L, 4))
            kr_lua_error(L, "kr.nn.MLP: give the output activation either as the last entry of the "
                          "activation list or as output, not both");
        if (luaL_len(L, 3) != nl)
            kr_lua_error(L, "kr.nn.MLP: the activation list needs one entry per layer: %d (sizes has %d "
                          "entries), got %d", nl, nl + 1, (int)luaL_len(L, 3));
        for (int l = 0; l < nl; l++) {
            lua_geti(L, 3, l + 1);
            parse_activation(L, -1, l, &act[l], 13);
            lua_pop(L, 1);
        }
    } else {
        if (nl == 1 && !lua_isnil(L, 3) && lua_isnil(L, 4))
            kr_lua_error(L, "kr.nn.MLP: a one-layer network has no hidden layer; set its activation with "
                          "output = ...");
        if (lua_isnil(L, 3)) lua_pushliteral(L, "relu");
        else lua_pushvalue(L, 3);
        for (int l = 0; l < nl - 1; l++) parse_activation(L, -1, l, &act[l], 13);
        lua_pop(L, 1);
        if (lua_isnil(L, 4)) lua_pushliteral(L, "identity");
        else lua_pushvalue(L, 4);
        parse_activation(L, -1, nl - 1, &act[nl - 1], 13);
        lua_pop(L, 1);
    }
    kr_init init = KR_INIT_DEFAULT;
    if (!lua_isnil(L, 5)) {
        const char *name = lua_tostring(L, 5);
        if (!name) kr_lua_error(L, "kr.nn.MLP: init must be a name, got %s", kr_lua_typename(L, 5));
        if (kr_init_from_name(&init, name) != KR_OK) kr_lua_error(L, "kr.nn.MLP: %s", kr_last_error());
    }
    double scale = 1.0;
    if (!lua_isnil(L, 6)) {
        if (!lua_isnumber(L, 6))
            kr_lua_error(L, "kr.nn.MLP: init_scale must be a number, got %s", kr_lua_typename(L, 6));
        scale = lua_tonumber(L, 6);
    }
    if (!lua_isnil(L, 7) && !lua_isboolean(L, 7))
        kr_lua_error(L, "kr.nn.MLP: bias must be true or false, got %s", kr_lua_typename(L, 7));
    int bias = lua_isnil(L, 7) || lua_toboolean(L, 7);
    kr_dtype dt = parse_dtype(L, 8, kr_lua_ctx_of(L)->default_dtype);
    kr_rng *g = kr_lua_opt_rng(L, 9, "kr.nn.MLP");

    kr_mlp_config cfg = { nl, sizes, act, dt, bias, init, scale, fb };
    uint64_t before = kr_alloc_stats_get().live_bytes;
    kr_lua_check(L, kr_mlp_new(&u->net, &cfg, g));
    account_since(L, before);
    build_state(L, 13, u->net);
    /* net.init: how the weights were drawn, for the REPL's summary (a loaded net has none) */
    lua_pushfstring(L, scale == 1.0 ? "%s" : "%s x %f", kr_init_name(init), scale);
    lua_setfield(L, 13, "init");
    lua_pushvalue(L, 12);
    return 1;
}

/* kr.nn.load(path) */
static int l_mlp_load(lua_State *L)
{
    const char *path = kr_lua_check_path(L, 1);
    mlp_ud *u = push_mlp(L);
    int ud = lua_gettop(L);
    uint64_t before = kr_alloc_stats_get().live_bytes;
    kr_lua_check(L, kr_mlp_load(&u->net, path));
    account_since(L, before);
    lua_getiuservalue(L, ud, 1);
    build_state(L, lua_gettop(L), u->net);
    lua_settop(L, ud);
    return 1;
}

/* ---- the MLP: methods ------------------------------------------------------------------- */
/* Y = net:forward(X) (keep = 1: Y is a view of the network's output workspace, overwritten
 * next call, and the state backward needs is kept) or Y = net:predict(X) (keep = 0: a new
 * tensor; the state kept for backward is left alone). */
static int mlp_run(lua_State *L, int keep)
{
    const char *op = keep ? "net:forward" : "net:predict";
    mlp_ud *u = check_idle_mlp(L, 1, op);
    kr_tensor *X = kr_lua_check_tensor(L, 2);
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    hook_ctx hc = { L, 3, op };
    kr_act_hooks hooks = { hook_forward, hook_grad_mul, &hc };
    kr_tensor *Y = kr_lua_push_header(L);
    uint64_t before = kr_alloc_stats_get().live_bytes;
    u->busy = 1;
    kr_status st = keep ? kr_mlp_forward(u->net, Y, X, &hooks)
                        : kr_mlp_predict(u->net, Y, X, &hooks);
    u->busy = 0;
    kr_lua_check(L, st);
    account_since(L, before);
    return 1;
}
static int mlp_forward(lua_State *L) { return mlp_run(L, 1); }
static int mlp_predict(lua_State *L) { return mlp_run(L, 0); }

/* dX = net:backward(dY [, input_grad = true]): fills net.dW, net.db (overwriting them) */
static int mlp_backward(lua_State *L)
{
    mlp_ud *u = check_idle_mlp(L, 1, "net:backward");
    kr_tensor *G = kr_lua_check_tensor(L, 2);
    int want_dx = lua_isnoneornil(L, 3) || lua_toboolean(L, 3);
    lua_settop(L, 3);
    lua_getiuservalue(L, 1, 1);
    hook_ctx hc = { L, 4, "net:backward" };
    kr_act_hooks hooks = { hook_forward, hook_grad_mul, &hc };
    kr_tensor *dX = want_dx ? kr_lua_push_header(L) : NULL;
    u->busy = 1;
    kr_status st = kr_mlp_backward(u->net, dX, G, &hooks);
    u->busy = 0;
    kr_lua_check(L, st);
    return want_dx;
}

/* Z = net:activity(l): a view of the last forward's activities Z_l (l = 1: its input,
 * l = 2..L+1: the layers' outputs), n_l x B; the next forward overwrites it.  The
 * perturbation rules (lua/kairo/credit.lua) read the clean pass from it. */
static int mlp_activity(lua_State *L)
{
    kr_mlp *net = check_mlp(L, 1);
    lua_Integer l = luaL_checkinteger(L, 2);
    if (net->batch == 0) kr_lua_error(L, "MLP:activity: no forward pass yet");
    if (l < 1 || l > net->nlayers + 1)
        kr_lua_error(L, "MLP:activity: layer %lld is outside 1..%d", (long long)l, net->nlayers + 1);
    if (l == 1) {
        push_view(L, &net->input);
        return 1;
    }
    kr_tensor *t = kr_lua_push_header(L);
    kr_tensor_share(t, &net->Z[l - 1]);
    t->ndim = 2;
    t->size[0] = net->sizes[l - 1];
    t->size[1] = net->batch;
    t->stride[0] = 1;
    t->stride[1] = net->sizes[l - 1];
    return 1;
}

static int mlp_zero_grad(lua_State *L)
{
    kr_mlp_zero_grad(check_mlp(L, 1));
    lua_settop(L, 1);
    return 1;
}

static int mlp_save(lua_State *L)
{
    kr_mlp *net = check_mlp(L, 1);
    kr_lua_check(L, kr_mlp_save(net, kr_lua_check_path(L, 2)));
    return 0;
}

static int mlp_state_field(lua_State *L, const char *field)
{
    check_mlp(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, field);
    return 1;
}
/* The same lists every call: W1, b1, W2, b2, ... and dW1, db1, ... (views, not copies). */
static int mlp_parameters(lua_State *L) { return mlp_state_field(L, "params"); }
static int mlp_gradients(lua_State *L) { return mlp_state_field(L, "grads"); }

static int mlp_index(lua_State *L)
{
    luaL_getmetatable(L, MLP_MT);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int mlp_tostring(lua_State *L)
{
    mlp_ud *u = luaL_checkudata(L, 1, MLP_MT);
    kr_mlp *net = u->net;
    if (!net) {
        lua_pushliteral(L, "kairo.MLP (closed)");
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "kairo.MLP ");
    for (int l = 0; l <= net->nlayers; l++) {
        lua_pushfstring(L, l ? "-%I" : "%I", (lua_Integer)net->sizes[l]);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, " (");
    for (int l = 0; l < net->nlayers; l++) {
        if (l) luaL_addstring(&b, ", ");
        luaL_addstring(&b, kr_act_name(net->act[l].kind));
        if (net->act[l].kind == KR_ACT_LEAKY_RELU && net->act[l].slope != KR_LEAKY_RELU_SLOPE) {
            char slope[64];
            snprintf(slope, sizeof slope, "(slope=%g)", net->act[l].slope);
            luaL_addstring(&b, slope);
        }
    }
    lua_pushfstring(L, "; %s%s)", kr_dtype_name(net->dtype), net->bias ? "" : ", no bias");
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

static int mlp_gc(lua_State *L)
{
    mlp_ud *u = luaL_checkudata(L, 1, MLP_MT);
    /* a running pass holds the network on the stack, so only an explicit close gets here */
    if (u->busy) luaL_error(L, "net:close: cannot close a network while it runs a pass");
    kr_mlp_free(u->net);
    u->net = NULL;
    return 0;
}

static const luaL_Reg mlp_methods[] = {
    {"forward", mlp_forward}, {"backward", mlp_backward}, {"predict", mlp_predict},
    {"zero_grad", mlp_zero_grad}, {"save", mlp_save}, {"parameters", mlp_parameters},
    {"gradients", mlp_gradients}, {"activity", mlp_activity}, {NULL, NULL}};

static const luaL_Reg mlp_metamethods[] = {
    {"__index", mlp_index}, {"__tostring", mlp_tostring}, {"__gc", mlp_gc},
    {"__close", mlp_gc}, {NULL, NULL}};

static const luaL_Reg nn_functions[] = {
    {"MLP", l_mlp_new}, {"load", l_mlp_load},
    {"mse", l_mse}, {"binary_cross_entropy", l_bce}, {"bce_with_logits", l_bce_logits},
    {"softmax_cross_entropy", l_softmax_ce}, {"softmax", l_softmax}, {"accuracy", l_accuracy},
    {"_act_forward", l_act_forward}, {"_act_backward", l_act_backward},
    {"_onehot", l_onehot}, {"_perm_new", l_perm_new}, {"_perm_shuffle", l_perm_shuffle},
    {"_gather", l_gather}, {"_renew_batch", l_renew_batch}, {"_isatty", l_isatty},
    {NULL, NULL}};

void kr_lua_open_nn(lua_State *L, int mod, int ctx)
{
    luaL_newmetatable(L, MLP_MT);
    kr_lua_setfuncs(L, mlp_metamethods, ctx);
    lua_newtable(L);
    kr_lua_setfuncs(L, mlp_methods, ctx);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
    luaL_newmetatable(L, PERM_MT);
    lua_pop(L, 1);

    lua_newtable(L);
    kr_lua_setfuncs(L, nn_functions, ctx);
    luaL_getmetatable(L, MLP_MT);
    lua_getfield(L, -1, "methods");
    lua_setfield(L, -3, "_MLP_methods"); /* so the Lua half can add methods */
    lua_pop(L, 1);
    lua_setfield(L, mod, "nn");
}
