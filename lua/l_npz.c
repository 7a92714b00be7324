/* Lua binding: NumPy .npz archives (core/io.h, npz.c).
 *
 *   kr.savez(path, { name = t, ... })             one NAME.npy member per tensor, stored; a
 *                                                 value may also be a list of ASCII strings
 *                                                 (NumPy's '<U' array: { "relu", "identity" })
 *   kr.savez_compressed(path, { name = t, ... })  the same, deflated (numpy.savez_compressed)
 *   kr.loadz(path)                                 -> { name = tensor (or list of strings), ... }
 *
 * The members are written in the order of their sorted names; numpy.load(path) reads them
 * (np.load(p)["W1"]).  Writing is atomic; a missing or damaged file raises an error naming
 * the function and the file. */
#include <stdlib.h>
#include <string.h>

#include "l_kairo.h"
#include "l_files.h"

/* A non-empty list whose items are all strings, or an empty table. */
static int is_string_list(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE || lua_getmetatable(L, idx)) {
        if (lua_type(L, idx) == LUA_TTABLE) lua_pop(L, 1);
        return 0;
    }
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= len; i++) {
        int ok = lua_rawgeti(L, idx, i) == LUA_TSTRING;
        lua_pop(L, 1);
        if (!ok) return 0;
    }
    return 1;
}

static int save(lua_State *L, int compress, const char *op)
{
    const char *path = kr_lua_check_file(L, 1);
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
        if (kr_lua_test_tensor(L, -1) == NULL && !is_string_list(L, -1))
            return luaL_error(L, "%s: '%s' must be a tensor or a list of strings, got %s", op,
                              name, kr_lua_typename(L, -1));
        lua_pop(L, 1);
        n++;
    }
    /* names, tensors and string lists in scratch userdata left on the stack (collected even
     * if we raise); the strings themselves are held by the tables. */
    luaL_checkstack(L, n + 8, op);
    const char **names = kr_lua_new_buffer(L, sizeof *names * (size_t)(n ? n : 1), 0, op);
    const kr_tensor **ts = kr_lua_new_buffer(L, sizeof *ts * (size_t)(n ? n : 1), 0, op);
    kr_strings *sl = kr_lua_new_buffer(L, sizeof *sl * (size_t)(n ? n : 1), 0, op);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        names[k++] = lua_tostring(L, -2); /* held by the table */
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, kr_lua_cmp_names);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, 2, names[i]);
        int v = lua_gettop(L);
        ts[i] = kr_lua_test_tensor(L, v);
        sl[i].n = 0;
        sl[i].items = NULL;
        if (ts[i] == NULL) {
            lua_Integer len = (lua_Integer)lua_rawlen(L, v);
            const char **items = kr_lua_new_buffer(L, sizeof *items * (size_t)(len ? len : 1), 0, op);
            for (lua_Integer j = 1; j <= len; j++) {
                lua_rawgeti(L, v, j);
                items[j - 1] = lua_tostring(L, -1); /* held by the list */
                lua_pop(L, 1);
            }
            sl[i].items = items;
            sl[i].n = (int64_t)len;
            lua_remove(L, v); /* keep the buffer on the stack, the list stays in the table */
        } else {
            lua_pop(L, 1); /* the table keeps the tensor alive */
        }
    }
    kr_lua_check(L, kr_npz_save(path, n, names, ts, sl, compress, op));
    return 0;
}

static int l_savez(lua_State *L) { return save(L, 0, "savez"); }
static int l_savez_compressed(lua_State *L) { return save(L, 1, "savez_compressed"); }

static int l_loadz(lua_State *L)
{
    const char *path = kr_lua_check_file(L, 1);
    kr_named *list = NULL;
    int n = 0;
    kr_lua_check(L, kr_npz_load(path, &list, &n, "loadz"));
    /* Move each tensor into a userdata; the rest is freed if an allocation raises midway. */
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        if (list[i].t.storage == NULL) { /* a list of strings */
            lua_createtable(L, (int)list[i].nstrings, 0);
            for (int64_t j = 0; j < list[i].nstrings; j++) {
                lua_pushstring(L, list[i].strings[j]);
                lua_rawseti(L, -2, (lua_Integer)j + 1);
            }
        } else {
            kr_tensor *t = kr_lua_push_header(L);
            *t = list[i].t;
            memset(&list[i].t, 0, sizeof list[i].t);
            kr_lua_account(L, t->storage->nbytes);
        }
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
