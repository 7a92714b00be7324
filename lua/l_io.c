/* Lua binding: io (filled in by its issue). */
#include "l_kairo.h"

void kr_lua_open_io(lua_State *L, int mod, int ctx)
{
    (void)L; (void)mod; (void)ctx;
}
