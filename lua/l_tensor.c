/* Lua binding: the tensor type, its constructors, operators and methods.
 *
 * Memory: each tensor userdata holds a kr_tensor header with one reference to a C storage.
 * New storage is reported to the collector (kr_lua_account), so the collector runs in
 * proportion to tensor memory as if the bytes were its own; `local t <close>` or garbage
 * collection drop the reference, and the last one frees the bytes at once. */
#include <math.h>
#include <string.h>

#include "l_kairo.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

/* A new tensor like t (same dtype and shape), contiguous. */
static kr_tensor *push_like(lua_State *L, const kr_tensor *t)
{
    return kr_lua_push_empty(L, t->dtype, t->ndim, t->size);
}

/* ---- argument parsing ------------------------------------------------------------------ */

static int64_t check_size(lua_State *L, int idx)
{
    lua_Integer n = luaL_checkinteger(L, idx);
    if (n < 0) luaL_argerror(L, idx, lua_pushfstring(L, "size must be non-negative, got %I", n));
    return (int64_t)n;
}

/* 1-based index argument in 1..n. */
static int64_t check_index(lua_State *L, int idx, int64_t n, const char *what)
{
    lua_Integer i = luaL_checkinteger(L, idx);
    if (i < 1 || i > n)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s %I out of range 1..%I", what, i, (lua_Integer)n));
    return (int64_t)(i - 1);
}

static int check_dim(lua_State *L, int idx, const kr_tensor *t)
{
    lua_Integer d = luaL_checkinteger(L, idx);
    if (d < 1 || d > t->ndim)
        luaL_argerror(L, idx, lua_pushfstring(L, "dimension %I out of range 1..%d", d, t->ndim));
    return (int)d - 1;
}

/* ---- constructors ---------------------------------------------------------------------- */

static int l_zeros(lua_State *L)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_dtype dt;
    kr_lua_read_dims(L, 1, &ndim, size, &dt);
    kr_lua_push_zeros(L, dt, ndim, size);
    return 1;
}

static int l_empty(lua_State *L)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_dtype dt;
    kr_lua_read_dims(L, 1, &ndim, size, &dt);
    kr_lua_push_empty(L, dt, ndim, size);
    return 1;
}

static int l_ones(lua_State *L)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_dtype dt;
    kr_lua_read_dims(L, 1, &ndim, size, &dt);
    kr_fill_(kr_lua_push_empty(L, dt, ndim, size), 1.0);
    return 1;
}

static int l_full(lua_State *L)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    luaL_checktype(L, 1, LUA_TTABLE);
    kr_lua_read_dims(L, 1, &ndim, size, NULL);
    double v = luaL_checknumber(L, 2);
    kr_dtype dt = kr_lua_opt_dtype(L, 3, kr_lua_ctx_of(L)->default_dtype);
    kr_fill_(kr_lua_push_empty(L, dt, ndim, size), v);
    return 1;
}

static int l_eye(lua_State *L)
{
    int64_t n = check_size(L, 1), m = n;
    int di = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        m = check_size(L, 2);
        di = 3;
    }
    kr_dtype dt = kr_lua_opt_dtype(L, di, kr_lua_ctx_of(L)->default_dtype);
    int64_t size[2] = {n, m};
    kr_tensor *t = kr_lua_push_zeros(L, dt, 2, size);
    for (int64_t i = 0; i < n && i < m; i++) kr_set(t, (int64_t[]){i, i}, 1.0);
    return 1;
}

static int l_linspace(lua_State *L)
{
    double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
    int64_t n = check_size(L, 3);
    kr_dtype dt = kr_lua_opt_dtype(L, 4, kr_lua_ctx_of(L)->default_dtype);
    kr_tensor *t = kr_lua_push_empty(L, dt, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        /* a + i*h, but the last point is exactly b */
        double v = n == 1 ? a : (i == n - 1 ? b : a + (b - a) * (double)i / (double)(n - 1));
        kr_set(t, &i, v);
    }
    return 1;
}

static int beyond(double x, double b, double step)
{
    return step > 0 ? x > b : x < b;
}

/* Like Lua's numeric for: a, a+step, ... up to and including b.  Element i is a + i*step (no
 * accumulated rounding), and exactly the elements that do not pass b are kept, so with exact
 * steps (integers, halves, ...) the elements are those of `for x = a, b, step`. */
static int l_arange(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TNUMBER && lua_type(L, 2) != LUA_TNUMBER) {
        /* kr.arange(n [, dtype]): 1, 2, ..., n, as `for i = 1, n` (the 1-based indices) */
        lua_pushinteger(L, 1);
        lua_insert(L, 1);
    }
    double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2), step = 1;
    int di = 3;
    if (lua_type(L, 3) == LUA_TNUMBER) {
        step = lua_tonumber(L, 3);
        di = 4;
    }
    luaL_argcheck(L, isfinite(a), 1, "start must be finite");
    luaL_argcheck(L, isfinite(b), 2, "end must be finite");
    luaL_argcheck(L, step != 0 && isfinite(step), 3, "step must be finite and non-zero");
    kr_dtype dt = kr_lua_opt_dtype(L, di, kr_lua_ctx_of(L)->default_dtype);
    double span = (b - a) / step; /* +inf when b - a overflows */
    /* checked as a double: converting a span beyond int64_t to an integer is undefined */
    if (!(span < (double)((int64_t)1 << 40))) luaL_error(L, "arange: too many elements requested");
    int64_t n = span < 0 ? 0 : (int64_t)floor(span) + 1;
    /* the rounded span can be one off: keep exactly the a + i*step that do not pass b (one
     * step at most each way; a loop would not end when a + step rounds back to a) */
    double last = a + (double)(n - 1) * step, next = a + (double)n * step;
    if (n > 0 && beyond(last, b, step))
        n--;
    else if (!beyond(next, b, step) && next != last)
        n++;
    kr_tensor *t = kr_lua_push_empty(L, dt, 1, &n);
    for (int64_t i = 0; i < n; i++) kr_set(t, &i, a + (double)i * step);
    return 1;
}

/* kr.tensor(nested tables [, dtype]): the shape comes from the first element at each depth;
 * every other table must agree. */
static void nested_shape(lua_State *L, int idx, int *ndim, int64_t *size)
{
    *ndim = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (*ndim == KR_MAXDIM) luaL_error(L, "tensor: nesting deeper than %d levels", KR_MAXDIM);
        size[(*ndim)++] = (int64_t)luaL_len(L, -1);
        if (size[*ndim - 1] == 0) break;
        lua_geti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

static void nested_fill(lua_State *L, int depth, int ndim, const int64_t *size, kr_tensor *t,
                        int64_t *index)
{
    /* the table to read is on top of the stack */
    if (!lua_istable(L, -1) || (int64_t)luaL_len(L, -1) != size[depth]) {
        char where[200] = "";
        size_t used = 0;
        for (int d = 0; d < depth && used < sizeof where; d++)
            used += (size_t)snprintf(where + used, sizeof where - used, "[%lld]",
                                     (long long)index[d] + 1);
        luaL_error(L, "tensor: ragged nested table: element %s should be a table of length %I",
                   depth ? where : "(top)", (lua_Integer)size[depth]);
    }
    for (int64_t i = 0; i < size[depth]; i++) {
        index[depth] = i;
        lua_geti(L, -1, i + 1);
        if (depth == ndim - 1) {
            /* numbers only: lua_tonumber would also take the string "1" */
            int ok = lua_type(L, -1) == LUA_TNUMBER;
            double v = lua_tonumber(L, -1);
            if (!ok) {
                char where[200] = "";
                size_t used = 0;
                for (int d = 0; d < ndim && used < sizeof where; d++)
                    used += (size_t)snprintf(where + used, sizeof where - used, "[%lld]",
                                             (long long)index[d] + 1);
                luaL_error(L, "tensor: element %s is a %s, expected a number", where,
                           luaL_typename(L, -1));
            }
            kr_set(t, index, v);
        } else {
            nested_fill(L, depth + 1, ndim, size, t, index);
        }
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L)
{
    kr_dtype dt = kr_lua_opt_dtype(L, 2, kr_lua_ctx_of(L)->default_dtype);
    if (lua_type(L, 1) == LUA_TNUMBER) { /* a 0-d tensor */
        kr_tensor *t = kr_lua_push_empty(L, dt, 0, NULL);
        kr_set(t, NULL, lua_tonumber(L, 1));
        return 1;
    }
    if (luaL_testudata(L, 1, KR_TENSOR_MT)) { /* a copy, possibly converting */
        kr_tensor *src = kr_lua_check_tensor(L, 1);
        kr_tensor *t = kr_lua_push_empty(L, lua_isnoneornil(L, 2) ? src->dtype : dt, src->ndim,
                                         src->size);
        kr_lua_check(L, kr_copy_(t, src));
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    int ndim;
    int64_t size[KR_MAXDIM], index[KR_MAXDIM] = {0};
    nested_shape(L, 1, &ndim, size);
    kr_tensor *t = kr_lua_push_empty(L, dt, ndim, size);
    /* walked even when empty, so that {{}, {1}} is found ragged; only the last size can be 0 */
    lua_pushvalue(L, 1);
    nested_fill(L, 0, ndim, size, t, index);
    lua_pop(L, 1);
    return 1;
}

/* ---- queries --------------------------------------------------------------------------- */

static int t_dim(lua_State *L)
{
    lua_pushinteger(L, kr_lua_check_tensor_any(L, 1)->ndim);
    return 1;
}

static void push_shape(lua_State *L, const kr_tensor *t)
{
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->size[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

static int t_size(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    if (lua_isnoneornil(L, 2)) {
        push_shape(L, t);
        return 1;
    }
    lua_pushinteger(L, t->size[check_dim(L, 2, t)]);
    return 1;
}

static int t_shape(lua_State *L)
{
    push_shape(L, kr_lua_check_tensor_any(L, 1));
    return 1;
}

static int t_stride(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lua_createtable(L, t->ndim, 0);
        for (int d = 0; d < t->ndim; d++) {
            lua_pushinteger(L, t->stride[d]);
            lua_rawseti(L, -2, d + 1);
        }
        return 1;
    }
    lua_pushinteger(L, t->stride[check_dim(L, 2, t)]);
    return 1;
}

static int t_numel(lua_State *L)
{
    lua_pushinteger(L, kr_numel(kr_lua_check_tensor_any(L, 1)));
    return 1;
}

static int t_len(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    lua_pushinteger(L, t->ndim ? t->size[0] : 1);
    return 1;
}

static int t_dtype(lua_State *L)
{
    lua_pushstring(L, kr_dtype_name(kr_lua_check_tensor_any(L, 1)->dtype));
    return 1;
}

static int t_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, kr_is_contiguous(kr_lua_check_tensor_any(L, 1)));
    return 1;
}

/* Reads t:get(i, j, ...) / t:set(i, j, ..., v) indices starting at argument `first`. */
static void read_index(lua_State *L, const kr_tensor *t, int first, int64_t *index,
                       const char *fname)
{
    int given = lua_gettop(L) - first + 1;
    if (strcmp(fname, "set") == 0) {
        if (given < 1) luaL_error(L, "set: no value given");
        given--;
    }
    if (given != t->ndim) {
        char sh[200];
        luaL_error(L, "%s: %d %s given for a %d-D tensor (%s)", fname, given,
                   given == 1 ? "index" : "indices", t->ndim, SHAPE(t, sh));
    }
    for (int d = 0; d < t->ndim; d++) index[d] = check_index(L, first + d, t->size[d], "index");
}

static int t_get(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int64_t index[KR_MAXDIM];
    read_index(L, t, 2, index, "get");
    lua_pushnumber(L, kr_get(t, index));
    return 1;
}

static int t_set(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int64_t index[KR_MAXDIM];
    read_index(L, t, 2, index, "set");
    double v = luaL_checknumber(L, lua_gettop(L));
    if (t->dtype == KR_U8 && !(v >= 0 && v <= 255 && v == (double)(int)v))
        kr_lua_error(L, "set: a uint8 tensor holds integers 0..255, got %g", v);
    kr_set(t, index, v);
    lua_settop(L, 1);
    return 1;
}

static int t_item(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    if (kr_numel(t) != 1) {
        char sh[200];
        luaL_error(L, "item: the tensor has %I elements (%s), expected 1",
                   (lua_Integer)kr_numel(t), SHAPE(t, sh));
    }
    int64_t zero[KR_MAXDIM] = {0};
    lua_pushnumber(L, kr_get(t, zero));
    return 1;
}

static void totable_rec(lua_State *L, const kr_tensor *t, int depth, int64_t *index)
{
    lua_createtable(L, (int)t->size[depth], 0);
    for (int64_t i = 0; i < t->size[depth]; i++) {
        index[depth] = i;
        if (depth == t->ndim - 1)
            lua_pushnumber(L, kr_get(t, index));
        else
            totable_rec(L, t, depth + 1, index);
        lua_rawseti(L, -2, i + 1);
    }
}

static int t_totable(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int64_t index[KR_MAXDIM] = {0};
    if (t->ndim == 0) {
        lua_pushnumber(L, kr_get(t, index));
        return 1;
    }
    luaL_checkstack(L, t->ndim + 4, "totable");
    totable_rec(L, t, 0, index);
    return 1;
}

/* ---- views ----------------------------------------------------------------------------- */

static int t_transpose(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int d1, d2;
    if (lua_isnoneornil(L, 2)) {
        if (t->ndim != 2) {
            char sh[200];
            luaL_error(L, "t: expected a 2-D tensor, got %s; use transpose(d1, d2)", SHAPE(t, sh));
        }
        d1 = 0;
        d2 = 1;
    } else {
        d1 = check_dim(L, 2, t);
        d2 = check_dim(L, 3, t);
    }
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_transpose(v, t, d1, d2));
    return 1;
}

static int t_narrow(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int dim = check_dim(L, 2, t);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    /* start may be one past the end (with len 0); below 1, start - 1 could overflow */
    if (start < 1)
        luaL_argerror(L, 3, lua_pushfstring(L, "start %I out of range 1..%I", start,
                                            (lua_Integer)t->size[dim] + 1));
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_narrow(v, t, dim, (int64_t)start - 1, (int64_t)len));
    return 1;
}

static int t_select(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int dim = check_dim(L, 2, t);
    int64_t i = check_index(L, 3, t->size[dim], "index");
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_select(v, t, dim, i));
    return 1;
}

static int rowcol(lua_State *L, int dim, const char *name)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    if (t->ndim != 2) {
        char sh[200];
        luaL_error(L, "%s: expected a 2-D tensor, got %s", name, SHAPE(t, sh));
    }
    int64_t i = check_index(L, 2, t->size[dim], name);
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_select(v, t, dim, i));
    return 1;
}

static int t_row(lua_State *L) { return rowcol(L, 0, "row"); }
static int t_col(lua_State *L) { return rowcol(L, 1, "col"); }

static int t_reshape(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    int64_t size[KR_MAXDIM];
    int ndim = kr_lua_read_ints(L, 2, size, "sizes");
    kr_tensor *v = kr_lua_push_header(L);
    kr_lua_check(L, kr_reshape(v, t, ndim, size));
    return 1;
}

static int t_clone(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    kr_copy_(push_like(L, t), t);
    return 1;
}

static int t_contiguous(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    if (kr_is_contiguous(t)) {
        lua_settop(L, 1);
        return 1;
    }
    return t_clone(L);
}

static int t_to(lua_State *L)
{
    kr_tensor *t = kr_lua_check_tensor_any(L, 1);
    luaL_checkany(L, 2);
    const char *name = lua_tostring(L, 2);
    int u8 = name && (strcmp(name, "u8") == 0 || strcmp(name, "uint8") == 0);
    kr_dtype dt = u8 ? KR_U8 : kr_lua_opt_dtype(L, 2, t->dtype);
    if (dt == t->dtype) {
        lua_settop(L, 1);
        return 1;
    }
    kr_copy_(kr_lua_push_empty(L, dt, t->ndim, t->size), t);
    return 1;
}

/* ---- arithmetic ------------------------------------------------------------------------ */

static const char *const binop_names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};

/* a op b for any mix of tensors and numbers (at least one tensor). */
static int arith(lua_State *L, kr_binop op)
{
    kr_tensor *a = kr_lua_test_tensor(L, 1), *b = kr_lua_test_tensor(L, 2);
    if (a && b) {
        kr_tensor *out = kr_lua_push_header(L);
        kr_lua_check(L, kr_binary_new(out, a, b, op));
        kr_lua_account(L, out->storage->nbytes);
        return 1;
    }
    if (a && lua_type(L, 2) == LUA_TNUMBER) {
        kr_tensor *out = push_like(L, a);
        kr_lua_check(L, kr_binary_scalar(out, a, lua_tonumber(L, 2), op, 0));
        return 1;
    }
    if (b && lua_type(L, 1) == LUA_TNUMBER) {
        kr_tensor *out = push_like(L, b);
        kr_lua_check(L, kr_binary_scalar(out, b, lua_tonumber(L, 1), op, 1));
        return 1;
    }
    /* name the operand that is neither a live tensor nor a number */
    for (int i = 1; i <= 2; i++) {
        if (luaL_testudata(L, i, KR_TENSOR_MT)) kr_lua_check_tensor(L, i); /* closed? */
        else if (lua_type(L, i) != LUA_TNUMBER) return luaL_typeerror(L, i, "tensor or number");
    }
    return luaL_error(L, "%s: expected a tensor operand", binop_names[op]);
}

static int t_add(lua_State *L) { return arith(L, KR_ADD); }
static int t_sub(lua_State *L) { return arith(L, KR_SUB); }
static int t_emul(lua_State *L) { return arith(L, KR_MUL); }
static int t_div(lua_State *L) { return arith(L, KR_DIV); }
static int t_pow(lua_State *L) { return arith(L, KR_POW); }
static int t_maximum(lua_State *L) { return arith(L, KR_MAX); }
static int t_minimum(lua_State *L) { return arith(L, KR_MIN); }

static int matmul_new(lua_State *L, kr_tensor *A, kr_tensor *B)
{
    char sa[200], sb[200];
    if (A->ndim != 2 || (B->ndim != 1 && B->ndim != 2))
        luaL_error(L, "matmul: expected 2-D * 2-D or 2-D * 1-D, got %s * %s", SHAPE(A, sa),
                   SHAPE(B, sb));
    int64_t size[2] = {A->size[0], B->ndim == 2 ? B->size[1] : 0};
    kr_tensor *C = kr_lua_push_empty(L, A->dtype, B->ndim, size);
    kr_lua_check(L, kr_matmul(C, A, B, 1.0, 0.0));
    return 1;
}

/* a * b: the matrix product for two tensors, scaling otherwise (a 0-d tensor scales too). */
static int t_mul(lua_State *L)
{
    kr_tensor *a = kr_lua_test_tensor(L, 1), *b = kr_lua_test_tensor(L, 2);
    if (a && b && a->ndim > 0 && b->ndim > 0) return matmul_new(L, a, b);
    return arith(L, KR_MUL);
}

static int l_matmul(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1), *B = kr_lua_check_tensor(L, 2);
    if (lua_isnoneornil(L, 3)) return matmul_new(L, A, B);
    kr_tensor *C = kr_lua_check_tensor(L, 3);
    double alpha = luaL_optnumber(L, 4, 1.0), beta = luaL_optnumber(L, 5, 0.0);
    kr_lua_check(L, kr_matmul(C, A, B, alpha, beta));
    lua_settop(L, 3);
    return 1;
}

static int t_unm(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    kr_lua_check(L, kr_unary(push_like(L, a), a, KR_NEG));
    return 1;
}

/* ---- in place -------------------------------------------------------------------------- */

static int t_add_(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        kr_lua_check(L, kr_binary_scalar(a, a, lua_tonumber(L, 2), KR_ADD, 0));
    } else {
        kr_tensor *b = kr_lua_check_tensor(L, 2);
        kr_lua_check(L, kr_add_(a, b, luaL_optnumber(L, 3, 1.0)));
    }
    lua_settop(L, 1);
    return 1;
}

/* a op= b needs one dtype and b broadcastable to a's own shape (a cannot grow); checked here
 * so that the messages name the in-place method ("mul_: ..."). */
static void check_into(lua_State *L, const char *name, const kr_tensor *a, const kr_tensor *b)
{
    kr_lua_check(L, kr_inplace_check(name, a, b));
}

static int t_sub_(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        kr_lua_check(L, kr_binary_scalar(a, a, lua_tonumber(L, 2), KR_SUB, 0));
    } else {
        kr_tensor *b = kr_lua_check_tensor(L, 2);
        check_into(L, "sub_", a, b);
        kr_lua_check(L, kr_add_(a, b, -1.0));
    }
    lua_settop(L, 1);
    return 1;
}

static int inplace(lua_State *L, kr_binop op, const char *name)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        kr_lua_check(L, kr_binary_scalar(a, a, lua_tonumber(L, 2), op, 0));
    } else {
        kr_tensor *b = kr_lua_check_tensor(L, 2);
        check_into(L, name, a, b);
        kr_lua_check(L, kr_binary(a, a, b, op));
    }
    lua_settop(L, 1);
    return 1;
}

static int t_mul_(lua_State *L) { return inplace(L, KR_MUL, "mul_"); }
static int t_div_(lua_State *L) { return inplace(L, KR_DIV, "div_"); }
static int t_pow_(lua_State *L) { return inplace(L, KR_POW, "pow_"); }

static int t_fill_(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    kr_fill_(a, luaL_checknumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int t_zero_(lua_State *L)
{
    kr_fill_(kr_lua_check_tensor(L, 1), 0.0);
    lua_settop(L, 1);
    return 1;
}

static int t_copy_(lua_State *L)
{
    kr_tensor *a = kr_lua_check_tensor_any(L, 1), *b = kr_lua_check_tensor_any(L, 2);
    kr_lua_check(L, kr_copy_(a, b));
    lua_settop(L, 1);
    return 1;
}

/* ---- element-wise math ----------------------------------------------------------------- */

static int unary(lua_State *L, kr_unop op)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    kr_lua_check(L, kr_unary(push_like(L, a), a, op));
    return 1;
}

static int t_exp(lua_State *L) { return unary(L, KR_EXP); }
static int t_log(lua_State *L) { return unary(L, KR_LOG); }
static int t_sqrt(lua_State *L) { return unary(L, KR_SQRT); }
static int t_abs(lua_State *L) { return unary(L, KR_ABS); }
static int t_tanh(lua_State *L) { return unary(L, KR_TANH); }
static int t_sigmoid(lua_State *L) { return unary(L, KR_SIGMOID); }
static int t_relu(lua_State *L) { return unary(L, KR_RELU); }
static int t_square(lua_State *L) { return unary(L, KR_SQUARE); }
static int t_sign(lua_State *L) { return unary(L, KR_SIGN); }

/* ---- reductions ------------------------------------------------------------------------ */

static int reduce(lua_State *L, kr_reduce op)
{
    kr_tensor *a = kr_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        double r;
        kr_lua_check(L, kr_reduce_all(a, op, &r));
        if (op == KR_RARGMAX || op == KR_RARGMIN) {
            /* a 1-based flat index in row-major order */
            lua_pushinteger(L, (lua_Integer)r + 1);
            return 1;
        }
        lua_pushnumber(L, r);
        return 1;
    }
    int dim = check_dim(L, 2, a);
    int64_t size[KR_MAXDIM];
    int n = 0;
    for (int d = 0; d < a->ndim; d++)
        if (d != dim) size[n++] = a->size[d];
    int isarg = op == KR_RARGMAX || op == KR_RARGMIN;
    kr_tensor *out = kr_lua_push_empty(L, a->dtype, n, size);
    kr_lua_check(L, kr_reduce_dim(out, a, dim, op));
    if (isarg) kr_binary_scalar(out, out, 1.0, KR_ADD, 0); /* 1-based */
    if (op == KR_RMAX || op == KR_RMIN) { /* also the 1-based positions, like torch */
        kr_tensor *pos = kr_lua_push_empty(L, a->dtype, n, size);
        kr_lua_check(L, kr_reduce_dim(pos, a, dim, op == KR_RMAX ? KR_RARGMAX : KR_RARGMIN));
        kr_binary_scalar(pos, pos, 1.0, KR_ADD, 0);
        return 2;
    }
    return 1;
}

static int t_sum(lua_State *L) { return reduce(L, KR_RSUM); }
static int t_mean(lua_State *L) { return reduce(L, KR_RMEAN); }
static int t_max(lua_State *L) { return reduce(L, KR_RMAX); }
static int t_min(lua_State *L) { return reduce(L, KR_RMIN); }
static int t_argmax(lua_State *L) { return reduce(L, KR_RARGMAX); }
static int t_argmin(lua_State *L) { return reduce(L, KR_RARGMIN); }

static int t_norm(lua_State *L)
{
    lua_pushnumber(L, kr_norm(kr_lua_check_tensor(L, 1)));
    return 1;
}

/* ---- printing -------------------------------------------------------------------------- */

enum { EDGE = 3, SHOW_MAX = 8 }; /* dimensions longer than SHOW_MAX show EDGE at each end */

typedef struct fmt {
    int mode; /* 0 integers, 1 fixed, 2 exponent */
    int width;
} fmt;

static int shown(int64_t n, int64_t i)
{
    return n <= SHOW_MAX || i < EDGE || i >= n - EDGE;
}

static int format_number(char *buf, size_t n, double v, int mode)
{
    if (isnan(v)) return snprintf(buf, n, "NaN");
    if (isinf(v)) return snprintf(buf, n, v > 0 ? "Inf" : "-Inf");
    if (mode == 0) return snprintf(buf, n, "%.0f", v);
    if (mode == 1) return snprintf(buf, n, "%.4f", v);
    return snprintf(buf, n, "%.4e", v);
}

/* Visits the shown elements of t in row-major order. */
static void visit_shown(const kr_tensor *t, void (*f)(double, void *), void *ud)
{
    int64_t idx[KR_MAXDIM] = {0}, n = kr_numel(t);
    if (n == 0) return;
    for (;;) {
        f(kr_get(t, idx), ud);
        int d = t->ndim - 1;
        for (; d >= 0; d--) {
            idx[d]++;
            if (t->size[d] > SHOW_MAX && idx[d] == EDGE) idx[d] = t->size[d] - EDGE;
            if (idx[d] < t->size[d]) break;
            idx[d] = 0;
        }
        if (d < 0) break;
    }
}

typedef struct fmt_scan {
    int all_int, any;
    double maxabs, minabs;
} fmt_scan;

static void scan_one(double v, void *ud)
{
    fmt_scan *s = ud;
    if (!isfinite(v)) return;
    double a = fabs(v);
    if (v != floor(v) || a >= 1e15) s->all_int = 0;
    if (a > s->maxabs) s->maxabs = a;
    if (a > 0 && (!s->any || a < s->minabs)) s->minabs = a;
    if (a > 0) s->any = 1;
}

typedef struct fmt_width {
    int mode, width;
} fmt_width;

static void width_one(double v, void *ud)
{
    fmt_width *w = ud;
    char buf[64];
    int n = format_number(buf, sizeof buf, v, w->mode);
    if (n > w->width) w->width = n;
}

static void print_matrix(luaL_Buffer *b, const kr_tensor *t, int64_t *idx, fmt f)
{
    /* the last two dimensions of t at the leading index idx[0..ndim-3] */
    int nd = t->ndim;
    int64_t rows = nd >= 2 ? t->size[nd - 2] : 1, cols = nd >= 1 ? t->size[nd - 1] : 1;
    char buf[64];
    for (int64_t i = 0; i < rows; i++) {
        if (!shown(rows, i)) {
            if (i == EDGE) luaL_addstring(b, " ⋮\n");
            continue;
        }
        if (nd >= 2) idx[nd - 2] = i;
        for (int64_t j = 0; j < cols; j++) {
            if (!shown(cols, j)) {
                if (j == EDGE) luaL_addstring(b, "  …");
                continue;
            }
            if (nd >= 1) idx[nd - 1] = j;
            int n = format_number(buf, sizeof buf, kr_get(t, idx), f.mode);
            luaL_addchar(b, ' ');
            for (int k = n; k < f.width + 1; k++) luaL_addchar(b, ' ');
            luaL_addlstring(b, buf, (size_t)n);
        }
        luaL_addchar(b, '\n');
    }
}

static void tensor_tostring(lua_State *L, const kr_tensor *t)
{
    char sh[200];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (t->ndim == 0)
        luaL_addstring(&b, "0-d ");
    else
        luaL_addstring(&b, SHAPE(t, sh)), luaL_addchar(&b, ' ');
    luaL_addstring(&b, kr_dtype_name(t->dtype));
    luaL_addstring(&b, " tensor");
    if (kr_numel(t) == 0) {
        luaL_addstring(&b, " (empty)");
        luaL_pushresult(&b);
        return;
    }
    luaL_addstring(&b, ":\n");
    fmt_scan s = {1, 0, 0, 0};
    visit_shown(t, scan_one, &s);
    fmt_width w = {s.all_int ? 0 : 1, 0};
    if (!s.all_int && (s.maxabs >= 1e5 || (s.any && s.minabs < 1e-4))) w.mode = 2;
    visit_shown(t, width_one, &w);
    fmt f = {w.mode, w.width};
    int64_t idx[KR_MAXDIM] = {0};
    if (t->ndim <= 2) {
        print_matrix(&b, t, idx, f);
    } else {
        /* Julia-style slices, [k, l, :, :] =, jumping over the middle of long leading
         * dimensions (one ⋮ for each jump) rather than walking every index */
        int lead = t->ndim - 2;
        for (;;) {
            luaL_addstring(&b, "[");
            for (int d = 0; d < lead; d++) {
                lua_pushfstring(L, "%I, ", (lua_Integer)idx[d] + 1);
                luaL_addvalue(&b);
            }
            luaL_addstring(&b, ":, :] =\n");
            print_matrix(&b, t, idx, f);
            int d = lead - 1, jumped = 0;
            for (; d >= 0; d--) {
                idx[d]++;
                if (t->size[d] > SHOW_MAX && idx[d] == EDGE) {
                    idx[d] = t->size[d] - EDGE;
                    jumped = 1;
                }
                if (idx[d] < t->size[d]) break;
                idx[d] = 0;
            }
            if (d < 0) break;
            if (jumped) luaL_addstring(&b, "⋮\n");
        }
    }
    luaL_pushresult(&b);
    /* drop the final newline */
    size_t len;
    const char *str = lua_tolstring(L, -1, &len);
    if (len && str[len - 1] == '\n') {
        lua_pushlstring(L, str, len - 1);
        lua_remove(L, -2);
    }
}

static int t_tostring(lua_State *L)
{
    kr_tensor *t = luaL_testudata(L, 1, KR_TENSOR_MT);
    if (!t || !t->storage) {
        lua_pushliteral(L, "tensor (closed)");
        return 1;
    }
    if (kr_is_stale(t)) {
        lua_pushfstring(L, "tensor (overwritten: %s)", kr_lua_stale_note(t));
        return 1;
    }
    tensor_tostring(L, t);
    return 1;
}

static int t_gc(lua_State *L)
{
    kr_tensor *t = kr_lua_tensor_header(L, 1);
    if (!t) return luaL_typeerror(L, 1, KR_TENSOR_MT);
    kr_tensor_release(t);
    return 0;
}

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, kr_lua_test_tensor(L, 1) != NULL);
    return 1;
}

static int l_alloc_stats(lua_State *L)
{
    kr_alloc_stats s = kr_alloc_stats_get();
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)s.allocations);
    lua_setfield(L, -2, "allocations");
    lua_pushinteger(L, (lua_Integer)s.live_bytes);
    lua_setfield(L, -2, "live_bytes");
    lua_pushinteger(L, (lua_Integer)s.peak_bytes);
    lua_setfield(L, -2, "peak_bytes");
    return 1;
}

static int l_set_default_dtype(lua_State *L)
{
    luaL_checkany(L, 1);
    kr_lua_ctx_of(L)->default_dtype = kr_lua_opt_dtype(L, 1, KR_F64);
    return 0;
}

/* ---- registration ---------------------------------------------------------------------- */

static const luaL_Reg methods[] = {
    {"dim", t_dim}, {"size", t_size}, {"shape", t_shape}, {"stride", t_stride},
    {"numel", t_numel}, {"dtype", t_dtype}, {"is_contiguous", t_is_contiguous},
    {"get", t_get}, {"set", t_set}, {"item", t_item}, {"totable", t_totable},
    {"t", t_transpose}, {"transpose", t_transpose}, {"narrow", t_narrow}, {"select", t_select},
    {"row", t_row}, {"col", t_col}, {"reshape", t_reshape}, {"view", t_reshape},
    {"clone", t_clone}, {"contiguous", t_contiguous}, {"to", t_to},
    {"add", t_add}, {"sub", t_sub}, {"mul", t_emul}, {"div", t_div}, {"pow", t_pow},
    {"maximum", t_maximum}, {"minimum", t_minimum}, {"matmul", l_matmul},
    {"add_", t_add_}, {"sub_", t_sub_}, {"mul_", t_mul_}, {"div_", t_div_}, {"pow_", t_pow_},
    {"fill_", t_fill_}, {"zero_", t_zero_}, {"copy_", t_copy_},
    {"exp", t_exp}, {"log", t_log}, {"sqrt", t_sqrt}, {"abs", t_abs}, {"tanh", t_tanh},
    {"sigmoid", t_sigmoid}, {"relu", t_relu}, {"square", t_square}, {"sign", t_sign},
    {"neg", t_unm},
    {"sum", t_sum}, {"mean", t_mean}, {"max", t_max}, {"min", t_min}, {"argmax", t_argmax},
    {"argmin", t_argmin}, {"norm", t_norm},
    {"close", t_gc},
    {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div}, {"__pow", t_pow},
    {"__unm", t_unm}, {"__len", t_len}, {"__tostring", t_tostring}, {"__gc", t_gc},
    {"__close", t_gc}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"empty", l_empty},
    {"full", l_full}, {"eye", l_eye}, {"linspace", l_linspace}, {"arange", l_arange},
    {"matmul", l_matmul}, {"is_tensor", l_is_tensor}, {"alloc_stats", l_alloc_stats},
    {"set_default_dtype", l_set_default_dtype},
    {"exp", t_exp}, {"log", t_log}, {"sqrt", t_sqrt}, {"abs", t_abs}, {"tanh", t_tanh},
    {"sigmoid", t_sigmoid}, {"relu", t_relu}, {"square", t_square}, {"sign", t_sign},
    {"maximum", t_maximum}, {"minimum", t_minimum},
    {NULL, NULL}};

void kr_lua_open_tensor(lua_State *L, int mod, int ctx)
{
    luaL_newmetatable(L, KR_TENSOR_MT);
    lua_pushvalue(L, -1);
    kr_lua_ctx *c = lua_touserdata(L, ctx);
    c->tensor_mt_ptr = lua_topointer(L, -1);
    c->tensor_mt = luaL_ref(L, LUA_REGISTRYINDEX);
    kr_lua_setfuncs(L, metamethods, ctx);
    lua_newtable(L);
    kr_lua_setfuncs(L, methods, ctx);
    lua_pushvalue(L, -1);
    lua_setfield(L, mod, "Tensor"); /* kr.Tensor: the method table, for extensions in Lua */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    /* kairo.core._dtypes: every accepted dtype name -> its canonical name, for kairo.check */
    lua_newtable(L);
    for (int i = 0; kr_lua_dtype_names[i]; i++) {
        lua_pushstring(L, kr_dtype_name(kr_lua_dtypes[i]));
        lua_setfield(L, -2, kr_lua_dtype_names[i]);
    }
    lua_setfield(L, mod, "_dtypes");
    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
