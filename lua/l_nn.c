/* Lua binding: nn (filled in by its issue). */
#include "l_kairo.h"

void kr_lua_open_nn(lua_State *L, int mod, int ctx)
{
    (void)L; (void)mod; (void)ctx;
}
