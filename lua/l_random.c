/* Lua binding: random numbers (core/random.h).
 *
 *   kr.seed(n)                       reseed the global generator (it starts seeded with 0)
 *   kr.rand(d1, d2, ... [, dtype])   a new tensor of U[0, 1) draws (dims may be one table)
 *   kr.randn(...)                    N(0, 1) draws
 *   kr.uniform([a, b [, dims...]])   a number in [a, b) (default [0, 1)), or a tensor with dims
 *   kr.normal([mean, std [, dims...]])   a number from N(mean, std^2), or a tensor with dims
 *   kr.integer(n) / kr.integer(m, n) an integer uniform in 1..n / m..n
 *   kr.permutation(n)                a table holding a random order of 1..n
 *   g = kr.Generator([seed])         an independent generator with the same functions as
 *                                    methods: g:rand(...), g:randn(...), g:uniform(), g:normal(),
 *                                    g:integer(n), g:permutation(n), g:seed(n), g:clone();
 *                                    without a seed it is seeded from the global generator's next
 *                                    output (so it follows kr.seed)
 *   g:state() / g:set_state(s)       the generator's whole state as a 49-byte string, and back
 *
 * The generator is xoshiro256** seeded through splitmix64 (see core/random.h for the exact
 * definitions), so a seed gives the same numbers on every machine.  Seeds are Lua integers;
 * negative ones are taken as their 64-bit two's complement pattern.  The global generator lives
 * in the module's context userdata, not in a C global. */
#include <math.h>
#include <string.h>

#include "l_kairo.h"

typedef kr_lua_generator lua_generator;

static lua_generator *check_generator(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, KR_GENERATOR_MT);
}

/* Dimensions from `first` on (kr_lua_read_dims), then nothing after the dtype. */
static void read_dims(lua_State *L, int first, int *ndim, int64_t *size, kr_dtype *dt)
{
    int i = kr_lua_read_dims(L, first, ndim, size, dt);
    int slot = i > first && lua_type(L, i - 1) == LUA_TSTRING ? i - 1 : i; /* the dtype's */
    if (!lua_isnoneornil(L, slot + 1))
        luaL_argerror(L, slot + 1, "unexpected argument after the dtype");
}

typedef enum draw_kind { DRAW_UNIFORM, DRAW_NORMAL } draw_kind;

/* A new tensor of the dims at `first`, filled with U[a, b) or N(a, b^2) draws. */
static int push_filled(lua_State *L, kr_rng *rng, int first, draw_kind kind, double a, double b)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_dtype dt;
    read_dims(L, first, &ndim, size, &dt);
    kr_tensor *t = kr_lua_push_empty(L, dt, ndim, size);
    if (kind == DRAW_UNIFORM)
        kr_lua_check(L, kr_rng_fill_uniform(rng, t, a, b));
    else
        kr_lua_check(L, kr_rng_fill_normal(rng, t, a, b));
    return 1;
}

/* uniform([a, b [, dims]]) and normal([mean, std [, dims]]) from argument `first` on: a number
 * without dims, a tensor with them. */
static int draw(lua_State *L, kr_rng *rng, int first, draw_kind kind)
{
    double a = 0.0, b = 1.0;
    if (!lua_isnoneornil(L, first)) {
        a = luaL_checknumber(L, first);
        b = luaL_checknumber(L, first + 1);
        luaL_argcheck(L, isfinite(a), first, "must be finite");
        luaL_argcheck(L, isfinite(b) && (kind == DRAW_UNIFORM || b >= 0), first + 1,
                      kind == DRAW_UNIFORM ? "must be finite" : "std must be finite and >= 0");
    }
    if (lua_gettop(L) >= first + 2) return push_filled(L, rng, first + 2, kind, a, b);
    if (kind == DRAW_UNIFORM)
        lua_pushnumber(L, a + (b - a) * kr_rng_uniform(rng)); /* a + (b - a) u */
    else
        lua_pushnumber(L, a + b * kr_rng_normal(rng));        /* mean + std z */
    return 1;
}

/* integer(n): 1..n;  integer(m, n): m..n (unbiased). */
static int draw_integer(lua_State *L, kr_rng *rng, int first)
{
    lua_Integer lo = 1, hi;
    if (lua_isnoneornil(L, first + 1)) {
        hi = luaL_checkinteger(L, first);
        luaL_argcheck(L, hi >= 1, first, "n must be at least 1");
    } else {
        lo = luaL_checkinteger(L, first);
        hi = luaL_checkinteger(L, first + 1);
        luaL_argcheck(L, lo <= hi, first + 1, "empty interval (m > n)");
    }
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means all 2^64 values */
    uint64_t k = span == 0 ? kr_rng_next(rng) : kr_rng_below(rng, span);
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + k));
    return 1;
}

/* permutation(n): {p1, ..., pn}, a uniformly random order of 1..n (Fisher-Yates). */
static int draw_permutation(lua_State *L, kr_rng *rng, int first)
{
    lua_Integer n = luaL_checkinteger(L, first);
    luaL_argcheck(L, n >= 0 && n <= (1 << 30), first, "n must be in 0..2^30");
    int64_t *p = kr_lua_new_buffer(L, (size_t)n * sizeof *p + 1, 0, "permutation"); /* scratch */
    kr_rng_permutation(rng, (int64_t)n, p);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)p[i] + 1);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- the global generator (kr.*) ------------------------------------------------------- */

static kr_rng *global(lua_State *L)
{
    return &kr_lua_ctx_of(L)->rng;
}

static int l_seed(lua_State *L)
{
    kr_rng_seed(global(L), (uint64_t)luaL_checkinteger(L, 1));
    return 0;
}

static int l_rand(lua_State *L) { return push_filled(L, global(L), 1, DRAW_UNIFORM, 0, 1); }
static int l_randn(lua_State *L) { return push_filled(L, global(L), 1, DRAW_NORMAL, 0, 1); }
static int l_uniform(lua_State *L) { return draw(L, global(L), 1, DRAW_UNIFORM); }
static int l_normal(lua_State *L) { return draw(L, global(L), 1, DRAW_NORMAL); }
static int l_integer(lua_State *L) { return draw_integer(L, global(L), 1); }
static int l_permutation(lua_State *L) { return draw_permutation(L, global(L), 1); }

static int l_generator(lua_State *L)
{
    lua_Integer seed = lua_isnoneornil(L, 1) ? (lua_Integer)kr_rng_next(global(L))
                                             : luaL_checkinteger(L, 1);
    kr_lua_push_generator(L, seed);
    return 1;
}

/* ---- Generator methods ----------------------------------------------------------------- */

static int g_seed(lua_State *L)
{
    lua_generator *g = check_generator(L, 1);
    g->seed = luaL_checkinteger(L, 2);
    kr_rng_seed(&g->rng, (uint64_t)g->seed);
    lua_settop(L, 1);
    return 1; /* g, for chaining */
}

static int g_rand(lua_State *L)
{
    return push_filled(L, &check_generator(L, 1)->rng, 2, DRAW_UNIFORM, 0, 1);
}

static int g_randn(lua_State *L)
{
    return push_filled(L, &check_generator(L, 1)->rng, 2, DRAW_NORMAL, 0, 1);
}

static int g_uniform(lua_State *L) { return draw(L, &check_generator(L, 1)->rng, 2, DRAW_UNIFORM); }
static int g_normal(lua_State *L) { return draw(L, &check_generator(L, 1)->rng, 2, DRAW_NORMAL); }
static int g_integer(lua_State *L) { return draw_integer(L, &check_generator(L, 1)->rng, 2); }

static int g_permutation(lua_State *L)
{
    return draw_permutation(L, &check_generator(L, 1)->rng, 2);
}

/* An independent copy in the same state: both then produce the same stream. */
static int g_clone(lua_State *L)
{
    lua_generator *g = check_generator(L, 1);
    lua_generator *c = kr_lua_push_generator(L, g->seed);
    c->rng = g->rng;
    return 1;
}

/* g:state() -> a 49-byte string: the four xoshiro256** words, the spare normal, the seed
 * (little-endian) and whether the spare is pending; g:set_state(s) puts a generator back exactly where state() found it (for
 * checkpoints: a resumed run draws the same numbers as an uninterrupted one). */
#define GEN_STATE_BYTES 48

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static int g_state(lua_State *L)
{
    lua_generator *g = check_generator(L, 1);
    unsigned char buf[GEN_STATE_BYTES + 1];
    uint64_t spare;
    memcpy(&spare, &g->rng.spare, sizeof spare);
    for (int k = 0; k < 4; k++) put_u64le(buf + 8 * k, g->rng.s[k]);
    put_u64le(buf + 32, spare);
    put_u64le(buf + 40, (uint64_t)g->seed);
    buf[GEN_STATE_BYTES] = g->rng.has_spare ? 1 : 0;
    lua_pushlstring(L, (const char *)buf, sizeof buf);
    return 1;
}

static int g_set_state(lua_State *L)
{
    lua_generator *g = check_generator(L, 1);
    size_t n;
    const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 2, &n);
    if (n != GEN_STATE_BYTES + 1 || p[GEN_STATE_BYTES] > 1)
        return luaL_argerror(L, 2, "not a generator state (from g:state())");
    kr_rng r;
    for (int k = 0; k < 4; k++) r.s[k] = get_u64le(p + 8 * k);
    if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) == 0)
        return luaL_argerror(L, 2, "not a generator state (all-zero xoshiro256** words)");
    uint64_t spare = get_u64le(p + 32);
    memcpy(&r.spare, &spare, sizeof spare);
    r.has_spare = p[GEN_STATE_BYTES];
    g->rng = r;
    g->seed = (lua_Integer)get_u64le(p + 40);
    lua_settop(L, 1);
    return 1;
}

static int g_tostring(lua_State *L)
{
    lua_generator *g = check_generator(L, 1);
    lua_pushfstring(L, "kairo.Generator(seed %I, xoshiro256**)", g->seed);
    return 1;
}

static const luaL_Reg functions[] = {
    {"seed", l_seed},       {"rand", l_rand},       {"randn", l_randn},
    {"uniform", l_uniform}, {"normal", l_normal},   {"integer", l_integer},
    {"permutation", l_permutation}, {"Generator", l_generator}, {NULL, NULL},
};

static const luaL_Reg methods[] = {
    {"seed", g_seed},       {"rand", g_rand},       {"randn", g_randn},
    {"uniform", g_uniform}, {"normal", g_normal},   {"integer", g_integer},
    {"permutation", g_permutation}, {"clone", g_clone},
    {"state", g_state},     {"set_state", g_set_state}, {NULL, NULL},
};

void kr_lua_open_random(lua_State *L, int mod, int ctx)
{
    kr_rng_seed(&((kr_lua_ctx *)lua_touserdata(L, ctx))->rng, 0);

    luaL_newmetatable(L, KR_GENERATOR_MT);
    lua_pushcfunction(L, g_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    kr_lua_setfuncs(L, methods, ctx);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
