/* Lua binding of the tensor operations beyond arithmetic: comparisons, where, masked_fill,
 * any/all (core/compare.c); unsqueeze, squeeze, permute, expand, flatten, cat, stack,
 * index_select, diag (core/shape.c); var, std, prod, cumsum, dot, outer, trace (core/stats.c);
 * solve, inv, det, eigh, qr, cholesky, lstsq, pinv (core/lapack.c); and indexing, t[i] and
 * t[i] = v, through the tensor metatable's __index/__newindex (method names resolve first).
 * Dimensions and indices are 1-based here, as everywhere in Lua; the core takes 0-based ones.
 * The reference entries of these functions are in lua/kairo/doc/. */
#include <math.h>
#include <string.h>

#include "l_kairo.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

/* A new tensor header for a core function that allocates; accounted once it holds storage. */
static void account(lua_State *L, const kr_tensor *t)
{
    if (t->storage) kr_lua_account(L, t->storage->nbytes);
}

static int check_dim(lua_State *L, int idx, const kr_tensor *t, int extra)
{
    lua_Integer d = luaL_checkinteger(L, idx);
    if (d < 1 || d > t->ndim + extra)
        luaL_argerror(L, idx, lua_pushfstring(L, "dimension %I out of range 1..%d", d,
                                              t->ndim + extra));
    return (int)d - 1;
}

/* ---- comparisons ----------------------------------------------------------------------- */

static int compare(lua_State *L, kr_cmp op)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    kr_tensor *out = kr_lua_push_header(L);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        kr_lua_check(L, kr_compare_scalar(out, a, lua_tonumber(L, 2), op));
    } else {
        if (!kr_lua_test_tensor(L, 2)) {
            if (luaL_testudata(L, 2, KR_TENSOR_MT)) kr_lua_check_tensor(L, 2); /* closed */
            luaL_typeerror(L, 2, "tensor or number");
        }
        kr_lua_check(L, kr_compare(out, a, kr_lua_check_tensor(L, 2), op));
    }
    account(L, out);
    return 1;
}

static int t_eq(lua_State *L) { return compare(L, KR_EQ); }
static int t_ne(lua_State *L) { return compare(L, KR_NE); }
static int t_lt(lua_State *L) { return compare(L, KR_LT); }
static int t_le(lua_State *L) { return compare(L, KR_LE); }
static int t_gt(lua_State *L) { return compare(L, KR_GT); }
static int t_ge(lua_State *L) { return compare(L, KR_GE); }

/* The tensor at idx, or a number there as a 0-d tensor of dtype dt (pushed, so it lives). */
static kr_tensor *tensor_or_number(lua_State *L, int idx, kr_dtype dt)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        kr_tensor *t = kr_lua_push_empty(L, dt, 0, NULL);
        kr_set(t, NULL, lua_tonumber(L, idx));
        return t;
    }
    if (!kr_lua_test_tensor(L, idx) && !luaL_testudata(L, idx, KR_TENSOR_MT))
        luaL_typeerror(L, idx, "tensor or number");
    return kr_lua_check_tensor(L, idx);
}

static int l_where(lua_State *L)
{
    kr_tensor *mask = kr_lua_check_tensor(L, 1);
    kr_dtype dt = mask->dtype;
    if (kr_lua_test_tensor(L, 2)) dt = kr_lua_test_tensor(L, 2)->dtype;
    else if (kr_lua_test_tensor(L, 3)) dt = kr_lua_test_tensor(L, 3)->dtype;
    kr_tensor *a = tensor_or_number(L, 2, dt);
    kr_tensor *b = tensor_or_number(L, 3, dt);
    kr_tensor *out = kr_lua_push_header(L);
    kr_lua_check(L, kr_where(out, mask, a, b));
    account(L, out);
    return 1;
}

static int t_masked_fill_(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1), *mask = kr_lua_check_tensor(L, 2);
    double v = luaL_checknumber(L, 3);
    kr_lua_check(L, kr_masked_fill_(a, mask, v));
    lua_settop(L, 1);
    return 1;
}

static int t_masked_fill(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1), *mask = kr_lua_check_tensor(L, 2);
    double v = luaL_checknumber(L, 3);
    kr_tensor *out = kr_lua_push_empty(L, a->dtype, a->ndim, a->size);
    kr_copy_(out, a);
    kr_lua_check(L, kr_masked_fill_(out, mask, v));
    return 1;
}

static int any_all(lua_State *L, int want_all)
{
    int any, all;
    kr_any_all(kr_lua_check_tensor(L, 1), &any, &all);
    lua_pushboolean(L, want_all ? all : any);
    return 1;
}

static int t_any(lua_State *L) { return any_all(L, 0); }
static int t_all(lua_State *L) { return any_all(L, 1); }

/* ---- shapes ---------------------------------------------------------------------------- */

static int t_unsqueeze(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int dim = check_dim(L, 2, t, 1);
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_unsqueeze(v, t, dim));
    return 1;
}

static int t_squeeze(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? -1 : check_dim(L, 2, t, 0);
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_squeeze(v, t, dim));
    return 1;
}

static int t_permute(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int64_t d[KR_MAXDIM];
    int n = kr_lua_read_ints(L, 2, d, "dimensions"), perm[KR_MAXDIM];
    for (int k = 0; k < n; k++) perm[k] = d[k] >= 1 && d[k] <= KR_MAXDIM ? (int)d[k] - 1 : -1;
    lua_settop(L, 1);
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_permute(v, t, n, perm));
    return 1;
}

static int t_expand(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int64_t size[KR_MAXDIM];
    int n = kr_lua_read_ints(L, 2, size, "sizes");
    for (int k = 0; k < n; k++) {
        int ds = t->ndim - n + k; /* -1 keeps the size the tensor has there */
        if (size[k] == -1 && ds >= 0) size[k] = t->size[ds];
        if (size[k] < 0)
            luaL_error(L, "expand: size %I is negative (only an existing dimension may be -1)",
                       (lua_Integer)size[k]);
    }
    lua_settop(L, 1);
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_expand(v, t, n, size));
    return 1;
}

static int t_flatten(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int64_t n = kr_numel(t);
    if (kr_is_contiguous(t)) {
        kr_tensor *v = kr_lua_push_header(L);
        kr_lua_check(L, kr_reshape(v, t, 1, &n));
        return 1;
    }
    kr_tensor *v = kr_lua_push_empty(L, t->dtype, t->ndim, t->size);
    kr_copy_(v, t);
    v->ndim = 1;
    v->size[0] = n;
    v->stride[0] = 1;
    return 1;
}

/* The tensors of the Lua list at idx, checked, into a scratch array (a userdata on the stack). */
static const kr_tensor **read_list(lua_State *L, int idx, int *n, const char *fname)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer len = luaL_len(L, idx);
    if (len < 1) luaL_argerror(L, idx, lua_pushfstring(L, "%s needs at least one tensor", fname));
    if (len > 1 << 20) luaL_argerror(L, idx, "too many tensors");
    const kr_tensor **in =
        kr_lua_new_buffer(L, (size_t)len * sizeof *in, 0, fname); /* stays on the stack */
    for (lua_Integer k = 1; k <= len; k++) {
        lua_geti(L, idx, k);
        in[k - 1] = kr_lua_test_tensor(L, -1);
        if (!in[k - 1])
            luaL_argerror(L, idx, lua_pushfstring(L, "element %I is a %s, expected a tensor", k,
                                                  kr_lua_typename(L, -1)));
        lua_pop(L, 1); /* the list keeps it alive */
    }
    *n = (int)len;
    return in;
}

static int join(lua_State *L, int stack)
{
    const char *fname = stack ? "stack" : "cat";
    int n;
    lua_Integer d = luaL_optinteger(L, 2, 1);
    lua_settop(L, 2);
    const kr_tensor **in = read_list(L, 1, &n, fname);
    int limit = in[0]->ndim + (stack ? 1 : 0);
    if (d < 1 || d > limit)
        luaL_argerror(L, 2, lua_pushfstring(L, "dimension %I out of range 1..%d", d, limit));
    kr_tensor *out = kr_lua_push_header(L);
    kr_lua_check(L, stack ? kr_stack(out, n, in, (int)d - 1) : kr_cat(out, n, in, (int)d - 1));
    account(L, out);
    return 1;
}

static int l_cat(lua_State *L) { return join(L, 0); }
static int l_stack(lua_State *L) { return join(L, 1); }

static int t_index_select(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int dim = check_dim(L, 2, t, 0);
    kr_tensor *it = kr_lua_test_tensor(L, 3);
    lua_Integer n;
    if (it) {
        if (it->ndim != 1) {
            char sh[200];
            luaL_argerror(L, 3, lua_pushfstring(L, "index tensor must be 1-D, got %s", SHAPE(it, sh)));
        }
        n = it->size[0];
    } else {
        if (!lua_istable(L, 3)) luaL_typeerror(L, 3, "list or 1-D tensor of indices");
        n = luaL_len(L, 3);
    }
    if (n < 0 || n > ((lua_Integer)1 << 40)) luaL_argerror(L, 3, "too many indices");
    int64_t *idx = kr_lua_new_buffer(L, (size_t)(n ? n : 1) * sizeof *idx, 0, "index_select");
    for (lua_Integer k = 0; k < n; k++) {
        double v;
        if (it) {
            v = kr_get(it, (int64_t[]){k});
        } else {
            lua_geti(L, 3, k + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_argerror(L, 3, lua_pushfstring(L, "index %I is a %s, expected an integer",
                                                    k + 1, luaL_typename(L, -1)));
            v = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        if (v != floor(v) || !(fabs(v) < 9e15))
            luaL_argerror(L, 3, lua_pushfstring(L, "index %I is %f, expected an integer", k + 1, v));
        idx[k] = (int64_t)v - 1;
    }
    kr_tensor *out = kr_lua_push_header(L);
    kr_lua_check(L, kr_index_select(out, t, dim, n, idx));
    account(L, out);
    return 1;
}

static int l_diag(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    if (t->ndim == 1) { /* a square matrix with t on its diagonal */
        int64_t n = t->size[0], size[2] = {n, n};
        kr_tensor *M = kr_lua_push_zeros(L, t->dtype, 2, size), d;
        kr_diagonal(&d, M);
        kr_copy_(&d, t);
        kr_tensor_release(&d);
        return 1;
    }
    kr_tensor d;
    kr_lua_check(L, kr_diagonal(&d, t));
    kr_tensor *out = kr_lua_push_empty(L, t->dtype, 1, d.size);
    kr_copy_(out, &d);
    kr_tensor_release(&d);
    return 1;
}

/* kr.col(v): a 1-D v as an n x 1 column, a view (for biases: W * X + kr.col(b)). */
static int l_col(lua_State *L)
{
    kr_tensor *v = kr_lua_check_tensor(L, 1);
    if (v->ndim != 1) {
        char sh[200];
        luaL_error(L, "col: expected a 1-D tensor, got %s (a matrix's column is A:col(j))",
                   SHAPE(v, sh));
    }
    kr_tensor *c = kr_lua_push_header(L);
    kr_lua_check(L, kr_unsqueeze(c, v, 1));
    return 1;
}

/* ---- reductions ------------------------------------------------------------------------ */

static int variance(lua_State *L, int sd)
{
    const char *fname = sd ? "std" : "var";
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    double ddof = luaL_optnumber(L, 3, 0);
    if (!(ddof >= 0)) luaL_argerror(L, 3, "ddof must be >= 0");
    kr_status st;
    if (lua_isnoneornil(L, 2)) {
        double r;
        st = kr_var_all(a, ddof, &r);
        if (st) luaL_error(L, "%s: %s", fname, kr_last_error() + 5); /* "var: " */
        lua_pushnumber(L, sd ? sqrt(r) : r);
        return 1;
    }
    int dim = check_dim(L, 2, a, 0);
    kr_tensor *out = kr_lua_push_header(L);
    st = kr_var_dim(out, a, dim, ddof);
    if (st) luaL_error(L, "%s: %s", fname, kr_last_error() + 5);
    account(L, out);
    if (sd) kr_unary(out, out, KR_SQRT);
    return 1;
}

static int t_var(lua_State *L) { return variance(L, 0); }
static int t_std(lua_State *L) { return variance(L, 1); }

static int t_prod(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lua_pushnumber(L, kr_prod_all(a));
        return 1;
    }
    int dim = check_dim(L, 2, a, 0);
    kr_tensor *out = kr_lua_push_header(L);
    kr_lua_check(L, kr_prod_dim(out, a, dim));
    account(L, out);
    return 1;
}

static int t_cumsum(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    int dim;
    if (lua_isnoneornil(L, 2)) {
        char sh[200];
        if (a->ndim != 1)
            luaL_error(L, "cumsum: give the dimension for a %d-D tensor (%s)", a->ndim,
                       SHAPE(a, sh));
        dim = 0;
    } else {
        dim = check_dim(L, 2, a, 0);
    }
    kr_tensor *out = kr_lua_push_header(L);
    kr_lua_check(L, kr_cumsum(out, a, dim));
    account(L, out);
    return 1;
}

static int l_dot(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1), *b = kr_lua_check_tensor(L, 2);
    double r;
    kr_lua_check(L, kr_dot(a, b, &r));
    lua_pushnumber(L, r);
    return 1;
}

static int l_outer(lua_State *L)
{
    char sa[200], sb[200];
    kr_tensor *a = kr_lua_check_tensor(L, 1), *b = kr_lua_check_tensor(L, 2);
    if (a->ndim != 1 || b->ndim != 1)
        luaL_error(L, "outer: expected two 1-D tensors, got %s and %s", SHAPE(a, sa), SHAPE(b, sb));
    if (a->dtype != b->dtype)
        luaL_error(L, "outer: dtypes differ (%s and %s); convert one with to()",
                   kr_dtype_name(a->dtype), kr_dtype_name(b->dtype));
    /* a as a column times b as a row, broadcast */
    kr_tensor col, row;
    kr_unsqueeze(&col, a, 1);
    kr_unsqueeze(&row, b, 0);
    int64_t size[2] = {a->size[0], b->size[0]};
    kr_tensor *out = kr_lua_push_empty(L, a->dtype, 2, size);
    kr_status st = kr_binary(out, &col, &row, KR_MUL);
    kr_tensor_release(&col);
    kr_tensor_release(&row);
    kr_lua_check(L, st);
    return 1;
}

static int l_trace(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1), d;
    char sh[200];
    if (A->ndim != 2) luaL_error(L, "trace: expected a 2-D tensor, got %s", SHAPE(A, sh));
    kr_diagonal(&d, A);
    double r;
    kr_status st = kr_reduce_all(&d, KR_RSUM, &r);
    kr_tensor_release(&d);
    kr_lua_check(L, st);
    lua_pushnumber(L, r);
    return 1;
}

/* ---- linear algebra -------------------------------------------------------------------- */

static int l_solve(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1), *B = kr_lua_check_tensor(L, 2);
    kr_tensor *X = kr_lua_push_header(L);
    kr_lua_check(L, kr_solve(X, A, B));
    account(L, X);
    return 1;
}

/* The factorizations of one matrix A: X = f(A) (inv, cholesky) or (P, Q) = f(A) (eigh, qr);
 * the results are new tensors, pushed in order. */
static int factor1(lua_State *L, kr_status (*f)(kr_tensor *, const kr_tensor *))
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    kr_tensor *X = kr_lua_push_header(L);
    kr_lua_check(L, f(X, A));
    account(L, X);
    return 1;
}

static int factor2(lua_State *L, kr_status (*f)(kr_tensor *, kr_tensor *, const kr_tensor *))
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    kr_tensor *P = kr_lua_push_header(L), *Q = kr_lua_push_header(L);
    kr_lua_check(L, f(P, Q, A));
    account(L, P);
    account(L, Q);
    return 2;
}

static int l_inv(lua_State *L) { return factor1(L, kr_inv); }

static int l_det(lua_State *L)
{
    double d;
    kr_lua_check(L, kr_det(kr_lua_check_tensor(L, 1), &d));
    lua_pushnumber(L, d);
    return 1;
}

static int l_eigh(lua_State *L) { return factor2(L, kr_eigh); }      /* w, V */
static int l_qr(lua_State *L) { return factor2(L, kr_qr); }          /* Q, R */
static int l_cholesky(lua_State *L) { return factor1(L, kr_cholesky); }

static int l_lstsq(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1), *B = kr_lua_check_tensor(L, 2);
    kr_tensor *X = kr_lua_push_header(L);
    int64_t rank = 0;
    kr_lua_check(L, kr_lstsq(X, &rank, A, B));
    account(L, X);
    lua_pushinteger(L, (lua_Integer)rank);
    return 2;
}

static int l_pinv(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    double rcond = -1;
    if (!lua_isnoneornil(L, 2)) {
        rcond = luaL_checknumber(L, 2);
        luaL_argcheck(L, rcond >= 0, 2, "rcond must be >= 0");
    }
    kr_tensor *X = kr_lua_push_header(L);
    kr_lua_check(L, kr_pinv(X, A, rcond));
    account(L, X);
    return 1;
}

/* ---- indexing -------------------------------------------------------------------------- */

/* t[i]: the slice t:select(1, i), or a number when t is 1-D.  Upvalue 2: the method table. */
static int index_slot(lua_State *L, kr_tensor *t, int64_t *i)
{
    char sh[200];
    int isnum;
    lua_Integer k = lua_tointegerx(L, 2, &isnum);
    if (!isnum) {
        if (lua_type(L, 2) == LUA_TNUMBER)
            luaL_error(L, "tensor[i]: the index must be an integer, got %f", lua_tonumber(L, 2));
        luaL_error(L, "tensor[i]: the index must be an integer or a method name, got a %s",
                   kr_lua_typename(L, 2));
    }
    if (t->ndim == 0) luaL_error(L, "tensor[i]: a 0-d tensor has no dimension to index; use item()");
    if (k < 1 || k > t->size[0])
        luaL_error(L, "tensor[i]: index %I out of range 1..%I (tensor is %s)", k,
                   (lua_Integer)t->size[0], SHAPE(t, sh));
    *i = (int64_t)k - 1;
    return 0;
}

static int t_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        lua_rawget(L, lua_upvalueindex(2));
        return 1;
    }
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    int64_t i;
    index_slot(L, t, &i);
    if (t->ndim == 1) {
        lua_pushnumber(L, kr_get(t, &i));
        return 1;
    }
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_select(v, t, 0, i));
    return 1;
}

static int t_newindex(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING)
        luaL_error(L, "tensor[i] = v: cannot set the field '%s' (a tensor holds no fields)",
                   lua_tostring(L, 2));
    int64_t i;
    index_slot(L, t, &i);
    kr_tensor v;
    kr_lua_check(L, kr_select(&v, t, 0, i));
    kr_status st = KR_OK;
    if (lua_type(L, 3) == LUA_TNUMBER) {
        kr_fill_(&v, lua_tonumber(L, 3));
    } else {
        kr_tensor *src = kr_lua_test_tensor(L, 3);
        if (!src) {
            kr_tensor_release(&v);
            if (luaL_testudata(L, 3, KR_TENSOR_MT)) kr_lua_check_tensor(L, 3);
            luaL_error(L, "tensor[i] = v: v must be a number or a tensor, got %s",
                       kr_lua_typename(L, 3));
        }
        st = kr_copy_(&v, src);
    }
    kr_tensor_release(&v);
    if (st) luaL_error(L, "tensor[i] = v: %s", kr_last_error() + 7); /* "copy_: " */
    return 0;
}

/* ---- registration ---------------------------------------------------------------------- */

static const luaL_Reg methods[] = {
    {"eq", t_eq}, {"ne", t_ne}, {"lt", t_lt}, {"le", t_le}, {"gt", t_gt}, {"ge", t_ge},
    {"masked_fill", t_masked_fill}, {"masked_fill_", t_masked_fill_}, {"any", t_any},
    {"all", t_all}, {"unsqueeze", t_unsqueeze}, {"squeeze", t_squeeze}, {"permute", t_permute},
    {"expand", t_expand}, {"flatten", t_flatten}, {"index_select", t_index_select},
    {"var", t_var}, {"std", t_std}, {"prod", t_prod}, {"cumsum", t_cumsum},
    {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"where", l_where}, {"col", l_col}, {"cat", l_cat}, {"stack", l_stack}, {"diag", l_diag}, {"dot", l_dot},
    {"outer", l_outer}, {"trace", l_trace}, {"solve", l_solve}, {"inv", l_inv}, {"det", l_det},
    {"eigh", l_eigh}, {"qr", l_qr}, {"cholesky", l_cholesky}, {"lstsq", l_lstsq},
    {"pinv", l_pinv}, {NULL, NULL}};

/* Runs after kr_lua_open_tensor: adds to its method table and replaces __index. */
void kr_lua_open_ops(lua_State *L, int mod, int ctx)
{
    luaL_getmetatable(L, KR_TENSOR_MT);
    int mt = lua_gettop(L);
    lua_getfield(L, mt, "__index"); /* the method table */
    int methods_idx = lua_gettop(L);
    lua_pushvalue(L, methods_idx);
    kr_lua_setfuncs(L, methods, ctx);
    lua_pop(L, 1);
    lua_pushvalue(L, ctx);
    lua_pushvalue(L, methods_idx);
    lua_pushcclosure(L, t_index, 2);
    lua_setfield(L, mt, "__index");
    lua_pushvalue(L, ctx);
    lua_pushcclosure(L, t_newindex, 1);
    lua_setfield(L, mt, "__newindex");
    lua_settop(L, mt - 1);
    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
