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
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "l_kairo.h"
#include "l_files.h"
#include "../core/fileutil.h"

static int l_save(lua_State *L)
{
    const char *path = kr_lua_check_file(L, 1);
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
    kr_tensor *t = kr_lua_check_tensor_any(L, 2);
    kr_lua_check(L, kr_npy_save(path, t));
    return 0;
}

static int l_load(lua_State *L)
{
    const char *path = kr_lua_check_file(L, 1);
    kr_tensor *t = kr_lua_push_header(L); /* an empty header is harmless if loading fails */
    kr_lua_check(L, kr_npy_load(t, path));
    kr_lua_account(L, t->storage->nbytes);
    return 1;
}

/* kr._save_bytes(op, path, bytes): the one saver (core/fileutil.h) for the Lua writers
 * (kr.csv.write, kr.plot): follows links, keeps mode and owner, refuses non-regular files,
 * leaves no temporary behind.  Raises "op: ..." on failure.  Internal (kairo.fileutil). */
static int l_save_bytes(lua_State *L)
{
    const char *op = luaL_checkstring(L, 1);
    const char *path = kr_lua_check_path(L, 2);
    size_t n;
    const char *bytes = luaL_checklstring(L, 3, &n);
    kr_lua_check(L, kr_save_bytes(op, path, bytes, n));
    return 0;
}

/* kr._regular_size(path) -> size; nil, message when it cannot be opened (as io.open says
 * it); nil, nil, why ("it is a FIFO") when it is not a regular file.  For kairo.csv. */
static int l_regular_size(lua_State *L)
{
    const char *path = kr_lua_check_path(L, 1);
    int fd;
    size_t size;
    int e0 = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        e0 = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(e0));
        return 2;
    }
    if (kr_open_regular("read", path, &fd, &size) != KR_OK) {
        lua_pushnil(L);
        lua_pushnil(L);
        if (S_ISDIR(sb.st_mode))
            lua_pushliteral(L, "it is a directory");
        else if (!S_ISREG(sb.st_mode))
            lua_pushfstring(L, "it is not a regular file (it is %s)", kr_file_kind(sb.st_mode));
        else
            lua_pushstring(L, kr_last_error());
        return 3;
    }
    close(fd);
    lua_pushinteger(L, (lua_Integer)size);
    return 1;
}

static const luaL_Reg functions[] = {
    {"_save_bytes", l_save_bytes},
    {"_regular_size", l_regular_size},
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
