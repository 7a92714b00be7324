/* Lua binding: data sets, the parts that touch bytes or loop per sample (kr.data.*).
 *
 *   kr.data.idx(path [, {dtype =, scale = false}])      an IDX file (gzip or plain) as a tensor
 *   kr.data.za_maps(pos [, {out =, theta_max = 40, step = 10, width = 15}])
 *   kr.data.za_peaks(maps [, {method = "argmax" | "fit", theta_max =, step =, width =}])
 *   kr.data.za_eye_code(eye [, {out =, units = 8, range = 80}])
 *
 * This file creates the C half of the namespace (kairo.core's `data` table); the pure-Lua data
 * sets (spiral, zipser_andersen, fashion_mnist, ...) are in lua/kairo/data.lua, which owns the
 * public kr.data and completes it from this table, batches.lua and data_shapes.lua. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "l_kairo.h"

/* The value on top of the stack for a message: a number or a string as it is, else its type. */
static const char *value_str(lua_State *L)
{
    int t = lua_type(L, -1);
    return t == LUA_TNUMBER || t == LUA_TSTRING ? lua_tostring(L, -1) : kr_lua_typename(L, -1);
}


/* An options table at idx (or none): its field `name` as a number, or def when absent. */
static double opt_number(lua_State *L, int idx, const char *name, double def)
{
    if (lua_isnoneornil(L, idx)) return def;
    lua_getfield(L, idx, name);
    double v = def;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok)
            luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a number, got %s", name,
                                                  kr_lua_typename(L, -1)));
    }
    lua_pop(L, 1);
    return v;
}

static void check_options(lua_State *L, int idx)
{
    if (!lua_isnoneornil(L, idx)) luaL_checktype(L, idx, LUA_TTABLE);
}

/* The options table's dtype field ("f64", "float64", "f32", "float32", ..., "u8", "uint8"), def
 * when absent. */
static kr_dtype opt_dtype(lua_State *L, int idx, kr_dtype def)
{
    lua_getfield(L, idx, "dtype");
    kr_dtype dt = def;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (s && (strcmp(s, "u8") == 0 || strcmp(s, "uint8") == 0))
        dt = KR_U8;
    else if (!lua_isnil(L, -1) && !kr_lua_dtype_from_name(s, &dt))
        luaL_argerror(L, idx, lua_pushfstring(L, "option 'dtype' must be \"f64\", \"f32\" or \"u8\", got %s",
                                              s ? s : kr_lua_typename(L, -1)));
    lua_pop(L, 1);
    return dt;
}

/* kr.data.idx(path [, opts]) -> tensor with the file's dimensions. */
static int l_idx(lua_State *L)
{
    const char *path = kr_lua_check_path(L, 1);
    check_options(L, 2);
    kr_dtype dt = kr_lua_ctx_of(L)->default_dtype;
    int scale = 0;
    if (!lua_isnoneornil(L, 2)) {
        dt = opt_dtype(L, 2, dt);
        lua_getfield(L, 2, "scale");
        scale = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    kr_tensor *t = kr_lua_push_header(L);
    kr_lua_check(L, kr_idx_load(t, path, dt, scale));
    kr_lua_account(L, t->storage->nbytes);
    return 1;
}

/* The grid from options theta_max (half the field, degrees), step and width (1/e full width). */
static kr_za_grid opt_grid(lua_State *L, int idx)
{
    double theta_max = opt_number(L, idx, "theta_max", 40.0);
    double step = opt_number(L, idx, "step", 10.0);
    double width = opt_number(L, idx, "width", 15.0);
    double n = 2.0 * theta_max / step;
    if (!(theta_max > 0 && step > 0 && width > 0) || fabs(n - floor(n + 0.5)) > 1e-9 ||
        !(n >= 1 && n <= 256))
        kr_lua_argerror(L, idx, "the grid needs theta_max > 0, step > 0, width > 0 and "
                              "2*theta_max/step a whole number in 1..256, got theta_max %g, "
                              "step %g, width %g", theta_max, step, width);
    kr_za_grid g = {(int)floor(n + 0.5), -theta_max, step, sqrt(2.0) * width / 4.0};
    return g;
}

/* The tensor in opts.out, or a new rows x cols tensor of dtype dt; left on the stack. */
static kr_tensor *opt_out(lua_State *L, int idx, kr_dtype dt, int64_t rows, int64_t cols)
{
    if (!lua_isnoneornil(L, idx)) {
        lua_getfield(L, idx, "out");
        if (!lua_isnil(L, -1)) {
            kr_tensor *t = kr_lua_test_tensor(L, -1);
            if (!t)
                luaL_argerror(L, idx, lua_pushfstring(L, "option 'out' must be a tensor, got %s",
                                                      kr_lua_typename(L, -1)));
            return t;
        }
        lua_pop(L, 1);
    }
    int64_t size[2] = {rows, cols};
    return kr_lua_push_empty(L, dt, 2, size);
}

/* kr.data.za_maps(pos [, opts]) -> n*n x N Gaussian spot maps of the positions (2 x N). */
static int l_za_maps(lua_State *L)
{
    kr_tensor *pos = kr_lua_check_tensor(L, 1);
    check_options(L, 2);
    kr_za_grid g = opt_grid(L, 2);
    int64_t N = pos->ndim == 2 ? pos->size[1] : 0;
    kr_tensor *out = opt_out(L, 2, pos->dtype, (int64_t)g.n * g.n, N);
    kr_lua_check(L, kr_za_maps(out, pos, &g));
    return 1;
}

/* kr.data.za_peaks(maps [, opts]) -> 2 x N peak positions in degrees. */
static int l_za_peaks(lua_State *L)
{
    kr_tensor *maps = kr_lua_check_tensor(L, 1);
    check_options(L, 2);
    kr_za_grid g = opt_grid(L, 2);
    kr_za_peak_method m = KR_ZA_PEAK_ARGMAX;
    if (!lua_isnoneornil(L, 2)) {
        lua_getfield(L, 2, "method");
        const char *name = lua_tostring(L, -1);
        if (name && strcmp(name, "fit") == 0) m = KR_ZA_PEAK_FIT;
        else if (!lua_isnil(L, -1) && !(name && strcmp(name, "argmax") == 0))
            luaL_argerror(L, 2, lua_pushfstring(L, "option 'method' must be \"argmax\" or "
                                                   "\"fit\", got %s", value_str(L)));
        lua_pop(L, 1);
    }
    int64_t N = maps->ndim == 2 ? maps->size[1] : 0;
    kr_tensor *out = opt_out(L, 2, maps->dtype, 2, N);
    kr_lua_check(L, kr_za_peaks(out, maps, &g, m));
    return 1;
}

/* kr.data.za_eye_code(eye [, opts]) -> 4*units x N monotonic code of eye positions (degrees). */
static int l_za_eye_code(lua_State *L)
{
    kr_tensor *eye = kr_lua_check_tensor(L, 1);
    check_options(L, 2);
    double units = opt_number(L, 2, "units", 8);
    double range = opt_number(L, 2, "range", 80);
    if (!(units >= 1 && units <= 1 << 20) || units != floor(units))
        kr_lua_argerror(L, 2, "option 'units' must be a whole number in 1..2^20, got %g", units);
    int64_t N = eye->ndim == 2 ? eye->size[1] : 0;
    kr_tensor *out = opt_out(L, 2, eye->dtype, 4 * (int64_t)units, N);
    kr_lua_check(L, kr_za_eye_code(out, eye, (int)units, range));
    return 1;
}

static const luaL_Reg functions[] = {
    {"idx", l_idx}, {"za_maps", l_za_maps}, {"za_peaks", l_za_peaks},
    {"za_eye_code", l_za_eye_code}, {NULL, NULL}};

void kr_lua_open_data(lua_State *L, int mod, int ctx)
{
    lua_newtable(L);
    kr_lua_setfuncs(L, functions, ctx);
    lua_setfield(L, mod, "data");
}
