/* Lua binding: NumPy .npz archives (core/io.h, npz.c).
 *
 *   kr.savez(path, { name = t, ... })             one NAME.npy member per tensor, stored
 *   kr.savez_compressed(path, { name = t, ... })  the same, deflated (numpy.savez_compressed)
 *   kr.loadz(path)                                 -> { name = tensor, ... }
 *
 * The members are written in the order of their sorted names; numpy.load(path) reads them
 * (np.load(p)["W1"]).  Writing is atomic; a missing or damaged file raises an error naming
 * the function and the file. */
#include <stdlib.h>
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

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int save(lua_State *L, int compress, const char *op)
{
    const char *path = check_path(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            return luaL_error(L, "%s: the table must map names to tensors, got a %s key", op,
                              luaL_typename(L, -2));
        }
        size_t len;
        const char *name = lua_tolstring(L, -2, &len);
        if (len == 0 || strlen(name) != len)
            return luaL_error(L, "%s: array names must be non-empty and without zero bytes", op);
        if (kr_lua_test_tensor(L, -1) == NULL)
            return luaL_error(L, "%s: '%s' must be a tensor, got %s", op, name,
                              kr_lua_typename(L, -1));
        lua_pop(L, 1);
        n++;
    }
    /* names and tensors in scratch userdata (freed by the collector even if we raise) */
    const char **names = kr_lua_new_buffer(L, sizeof *names * (size_t)(n ? n : 1), 0, op);
    const kr_tensor **ts = kr_lua_new_buffer(L, sizeof *ts * (size_t)(n ? n : 1), 0, op);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        names[k++] = lua_tostring(L, -2); /* held by the table */
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, 2, names[i]);
        ts[i] = kr_lua_check_tensor(L, -1);
        lua_pop(L, 1); /* the table keeps it alive */
    }
    kr_lua_check(L, kr_npz_save(path, n, names, ts, compress, op));
    return 0;
}

static int l_savez(lua_State *L) { return save(L, 0, "savez"); }
static int l_savez_compressed(lua_State *L) { return save(L, 1, "savez_compressed"); }

static int l_loadz(lua_State *L)
{
    const char *path = check_path(L, 1);
    kr_named *list = NULL;
    int n = 0;
    kr_lua_check(L, kr_npz_load(path, &list, &n, "loadz"));
    /* Move each tensor into a userdata; the rest is freed if an allocation raises midway. */
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        kr_tensor *t = kr_lua_push_header(L);
        *t = list[i].t;
        memset(&list[i].t, 0, sizeof list[i].t);
        kr_lua_account(L, t->storage->nbytes);
        lua_setfield(L, -2, list[i].name);
    }
    kr_named_free(list, n);
    return 1;
}

static const luaL_Reg functions[] = {
    {"savez", l_savez},
    {"savez_compressed", l_savez_compressed},
    {"loadz", l_loadz},
    {NULL, NULL},
};

void kr_lua_open_npz(lua_State *L, int mod, int ctx)
{
    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
