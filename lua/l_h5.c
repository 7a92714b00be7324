/* Lua binding: HDF5 files (core/h5.h), the table kr.h5.
 *
 *   kr.h5.save(path, { name = t, ["group/name"] = t, ... })   float64/float32 datasets
 *   kr.h5.load(path)         -> { ["group/name"] = tensor, ... } every numeric dataset of the
 *                            file (strings and compound types are left out; h5.list shows them)
 *   kr.h5.load(path, name)   -> the tensor of one dataset ("group/name" or "/group/name")
 *   kr.h5.list(path)         -> { { name = "group/name", shape = { 3, 4 }, dtype = "float64" }, ... }
 *   kr.h5.available          false when kairo was built without libhdf5 (then each function
 *                            raises an error saying so)
 * Errors name the function and the file: "h5.load: 'x.h5' has no dataset 'W9'". */
#include <stdlib.h>
#include <string.h>

#include "l_kairo.h"
#include "l_files.h"

static int l_save(lua_State *L)
{
    const char *op = "h5.save";
    const char *path = kr_lua_check_file(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "%s: the table must map names to tensors, got a %s key", op,
                              luaL_typename(L, -2));
        size_t len;
        const char *name = lua_tolstring(L, -2, &len);
        if (strlen(name) != len) return luaL_error(L, "%s: a name contains a zero byte", op);
        if (kr_lua_test_tensor(L, -1) == NULL)
            return luaL_error(L, "%s: '%s' must be a tensor, got %s", op, name,
                              kr_lua_typename(L, -1));
        lua_pop(L, 1);
        n++;
    }
    const char **names = kr_lua_new_buffer(L, sizeof *names * (size_t)(n ? n : 1), 0, op);
    const kr_tensor **ts = kr_lua_new_buffer(L, sizeof *ts * (size_t)(n ? n : 1), 0, op);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        names[k++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, kr_lua_cmp_names);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, 2, names[i]);
        ts[i] = kr_lua_check_tensor(L, -1);
        lua_pop(L, 1);
    }
    kr_lua_check(L, kr_h5_save(path, n, names, ts, op));
    return 0;
}

static int l_load(lua_State *L)
{
    const char *path = kr_lua_check_file(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    kr_named *list = NULL;
    int n = 0;
    kr_lua_check(L, kr_h5_load(path, name, &list, &n, "h5.load"));
    if (name == NULL) lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        kr_tensor *t = kr_lua_push_header(L);
        *t = list[i].t;
        memset(&list[i].t, 0, sizeof list[i].t);
        kr_lua_account(L, t->storage->nbytes);
        if (name == NULL) lua_setfield(L, -2, list[i].name);
    }
    kr_named_free(list, n);
    return 1;
}

static int l_list(lua_State *L)
{
    const char *path = kr_lua_check_file(L, 1);
    kr_h5_info *list = NULL;
    int n = 0;
    kr_lua_check(L, kr_h5_list(path, &list, &n, "h5.list"));
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, list[i].name);
        lua_setfield(L, -2, "name");
        if (list[i].ndim >= 0) {
            lua_createtable(L, list[i].ndim, 0);
            for (int d = 0; d < list[i].ndim; d++) {
                lua_pushinteger(L, (lua_Integer)list[i].shape[d]);
                lua_rawseti(L, -2, d + 1);
            }
            lua_setfield(L, -2, "shape");
        }
        lua_pushstring(L, list[i].dtype);
        lua_setfield(L, -2, "dtype");
        lua_rawseti(L, -2, i + 1);
    }
    kr_h5_info_free(list, n);
    return 1;
}

static const luaL_Reg functions[] = {
    {"save", l_save},
    {"load", l_load},
    {"list", l_list},
    {NULL, NULL},
};

void kr_lua_open_h5(lua_State *L, int mod, int ctx)
{
    lua_newtable(L);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pushboolean(L, kr_h5_available());
    lua_setfield(L, -2, "available");
    lua_setfield(L, mod, "h5");
}
