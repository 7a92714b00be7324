/* luaopen_kairo: builds the module table from each area's functions, then lets the pure-Lua
 * part (lua/kairo/lib.lua) add what is better written in Lua. */
#include <string.h>

#include "l_kairo.h"

void kr_lua_setfuncs(lua_State *L, const luaL_Reg *funcs, int ctx_idx)
{
    lua_pushvalue(L, ctx_idx);
    luaL_setfuncs(L, funcs, 1);
}

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

const char *kr_lua_typename(lua_State *L, int idx)
{
    const kr_tensor *t = luaL_testudata(L, idx, KR_TENSOR_MT);
    if (t) return t->storage ? "tensor" : "closed tensor";
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

const char *kr_lua_check_path(lua_State *L, int idx)
{
    size_t len;
    const char *path = luaL_checklstring(L, idx, &len);
    luaL_argcheck(L, strlen(path) == len, idx, "file name contains a zero byte");
    return path;
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
