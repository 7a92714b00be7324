/* Helpers the file-format bindings share: see l_files.h. */
#include <string.h>

#include "l_kairo.h"
#include "l_files.h"

const char *kr_lua_check_file(lua_State *L, int idx)
{
    const char *path = kr_lua_check_path(L, idx); /* a string without zero bytes */
    luaL_argcheck(L, path[0] != '\0', idx, "empty file name");
    return path;
}

int kr_lua_cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
