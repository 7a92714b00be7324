/* luaopen_kairo_core: the C module `kairo.core`, a table of each area's functions.  The
 * public table `kr` is assembled from it by lua/kairo/init.lua (`require "kairo"`).  This file
 * only registers the areas; what they share is in l_aux.c. */
#include <string.h>

#include "l_kairo.h"

/* The areas, in the order they are opened (the tensor type first: the others push tensors). */
static void (*const areas[])(lua_State *L, int mod, int ctx) = {
    kr_lua_open_tensor, kr_lua_open_ops, kr_lua_open_random, kr_lua_open_linalg, kr_lua_open_io,
    kr_lua_open_nn,     kr_lua_open_data,   kr_lua_open_optim,  kr_lua_open_image,
    kr_lua_open_checkpoint, kr_lua_open_npz, kr_lua_open_h5,
};

/* The context is collected last of kairo's objects (every function holds it), at lua_close at
 * the latest: the allocator goes back to what it was. */
static int ctx_gc(lua_State *L)
{
    kr_lua_pool_remove(L);
    return 0;
}

KR_LUA_EXPORT int luaopen_kairo_core(lua_State *L);
KR_LUA_EXPORT int luaopen_kairo_core(lua_State *L)
{
    lua_newtable(L);
    int mod = lua_gettop(L);
    kr_lua_ctx *ctx = lua_newuserdatauv(L, sizeof *ctx, 0);
    memset(ctx, 0, sizeof *ctx);
    ctx->default_dtype = KR_F64;
    int ctxi = lua_gettop(L);
    lua_newtable(L);
    lua_pushcfunction(L, ctx_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, ctxi);
    kr_lua_pool_install(L);
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
        areas[i](L, mod, ctxi);
        lua_settop(L, ctxi);
    }
    lua_pushliteral(L, KR_VERSION);
    lua_setfield(L, mod, "_VERSION");
    lua_settop(L, mod);
    return 1;
}
