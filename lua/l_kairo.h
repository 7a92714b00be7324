/* The areas of the Lua binding: each lua/l_*.c file has one opener, which lua/kairo.c (the
 * entry, luaopen_kairo_core) calls once.  The helpers they share are in l_aux.h. */
#ifndef KR_L_KAIRO_H
#define KR_L_KAIRO_H

#include "l_aux.h"

/* The binding is compiled with -fvisibility=hidden: only the luaopen_* entry points, marked
 * with this, are exported (lua/exports.map keeps them and nothing else). */
#define KR_LUA_EXPORT __attribute__((visibility("default")))

/* Each area's opener: adds its functions to the module table at `mod` (ctx at `ctx`).  A
 * namespace (kr.nn, kr.data, kr.image, ...) is created by the one opener that owns it. */
void kr_lua_open_tensor(lua_State *L, int mod, int ctx);
void kr_lua_open_random(lua_State *L, int mod, int ctx);
void kr_lua_open_linalg(lua_State *L, int mod, int ctx);
void kr_lua_open_io(lua_State *L, int mod, int ctx);
void kr_lua_open_nn(lua_State *L, int mod, int ctx);
void kr_lua_open_data(lua_State *L, int mod, int ctx);
void kr_lua_open_optim(lua_State *L, int mod, int ctx);
void kr_lua_open_image(lua_State *L, int mod, int ctx);
void kr_lua_open_checkpoint(lua_State *L, int mod, int ctx);
void kr_lua_open_ops(lua_State *L, int mod, int ctx); /* after open_tensor */
void kr_lua_open_npz(lua_State *L, int mod, int ctx);  /* kr.savez, kr.savez_compressed, kr.loadz */
void kr_lua_open_h5(lua_State *L, int mod, int ctx);   /* kr.h5 */

#endif
