/* Lua binding: files (core/io.h).
 *
 *   kr.save(path, t)   writes t (any dtype, shape or strides) as a NumPy .npy file in C order;
 *                      the bytes go to a temporary file beside path that is then renamed over
 *                      it, so a failed save leaves an existing file as it was
 *   kr.load(path)      reads a .npy file (float64/float32 in either byte order, integer and
 *                      bool types as float64, C or Fortran order) into a new contiguous tensor
 *
 * Both raise an error naming the file and the problem, also for a missing file
 * ("load: cannot open 'x.npy': No such file or directory"): a script that loads data it
 * needs should stop there, and one that can do without wraps the call in pcall. */
#include <string.h>

#include "l_kairo.h"

static const char *check_path(lua_State *L, int idx)
{
    size_t len;
    const char *path = luaL_checklstring(L, idx, &len);
    luaL_argcheck(L, len > 0, idx, "empty file name");
    luaL_argcheck(L, strlen(path) == len, idx, "file name contains a zero byte");
    return path;
}

static int l_save(lua_State *L)
{
    const char *path = check_path(L, 1);
    if (luaL_testudata(L, 2, "kairo.MLP")) { /* kr.save(path, net) is net:save(path) */
        const char *desc = luaL_tolstring(L, 2, NULL);
        if (strstr(desc, "(closed)")) luaL_argerror(L, 2, "network has been closed");
        lua_pop(L, 1);
        lua_getfield(L, 2, "save");
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 1);
        lua_call(L, 2, 0);
        return 0;
    }
    if (!luaL_testudata(L, 2, KR_TENSOR_MT)) /* a Sequential, a table, ...: say where to go */
        luaL_argerror(L, 2, lua_pushfstring(L, "tensor expected, got %s (a model is saved with "
                                               "kr.nn.save(path, model))",
                                            kr_lua_typename(L, 2)));
    kr_tensor *t = kr_lua_check_tensor(L, 2);
    kr_lua_check(L, kr_npy_save(path, t));
    return 0;
}

static int l_load(lua_State *L)
{
    const char *path = check_path(L, 1);
    kr_tensor *t = kr_lua_push_header(L); /* an empty header is harmless if loading fails */
    kr_lua_check(L, kr_npy_load(t, path));
    kr_lua_account(L, t->storage->nbytes);
    return 1;
}

static const luaL_Reg functions[] = {
    {"save", l_save},
    {"load", l_load},
    {NULL, NULL},
};

void kr_lua_open_io(lua_State *L, int mod, int ctx)
{
    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
