/* luaopen_kairo: builds the module table from each area's functions, then lets the pure-Lua
 * part (lua/kairo/lib.lua) add what is better written in Lua. */
#include <string.h>

#include "l_kairo.h"

void kr_lua_setfuncs(lua_State *L, const luaL_Reg *funcs, int ctx_idx)
{
    lua_pushvalue(L, ctx_idx);
    luaL_setfuncs(L, funcs, 1);
}

int luaopen_kairo(lua_State *L);
int luaopen_kairo(lua_State *L)
{
    lua_newtable(L);
    int mod = lua_gettop(L);
    kr_lua_ctx *ctx = lua_newuserdatauv(L, sizeof *ctx, 0);
    memset(ctx, 0, sizeof *ctx);
    ctx->default_dtype = KR_F64;
    int ctxi = lua_gettop(L);

    kr_lua_open_tensor(L, mod, ctxi);
    kr_lua_open_random(L, mod, ctxi);
    kr_lua_open_linalg(L, mod, ctxi);
    kr_lua_open_io(L, mod, ctxi);
    kr_lua_open_nn(L, mod, ctxi);
    kr_lua_open_data(L, mod, ctxi);
    kr_lua_open_optim(L, mod, ctxi);
    kr_lua_open_image(L, mod, ctxi);
    lua_settop(L, mod);

    lua_pushliteral(L, KR_VERSION);
    lua_setfield(L, mod, "_VERSION");

    /* Register the table before the Lua part runs, so its `require "kairo"` finds it. */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_pushvalue(L, mod);
    lua_setfield(L, -2, "kairo");
    lua_pop(L, 2);

    lua_getglobal(L, "require");
    lua_pushliteral(L, "kairo.lib");
    lua_call(L, 1, 0);
    lua_settop(L, mod);
    return 1;
}
