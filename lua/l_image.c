/* Lua binding: kr.image, image files <-> tensors in [0, 1] (core/image.c).
 *
 *   img = kr.image.load(path [, { dtype = "f32", channels = true | 1..4, max_pixels = N }])
 *       grey rows x cols by default (colour through the BT.601 luma weights);
 *       channels = true keeps the file's channels (rows x cols x C), a number converts to it;
 *       a file claiming more than max_pixels (default 2^28) width x height is refused
 *   PNG, JPEG and binary PGM/PPM are read; GIF, BMP, TGA, HDR, ... are refused by name
 *   kr.image.save(path, img)      -- .png, .pgm, .ppm, .pnm; values clamped to [0, 1]
 * A missing, unreadable or undecodable file raises an error naming the path and the reason. */
#include <math.h>
#include <string.h>

#include "l_kairo.h"

static int l_load(lua_State *L)
{
    const char *path = kr_lua_check_path(L, 1);
    kr_dtype dt = kr_lua_ctx_of(L)->default_dtype;
    int channels = KR_IMAGE_GREY;
    int64_t max_pixels = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_settop(L, 2);
        lua_getfield(L, 2, "dtype"); /* at 3, so a bad name is reported against the options */
        const char *name = lua_tostring(L, 3);
        if (name != NULL && (strcmp(name, "f32") == 0 || strcmp(name, "float32") == 0))
            dt = KR_F32;
        else if (name != NULL && (strcmp(name, "f64") == 0 || strcmp(name, "float64") == 0))
            dt = KR_F64;
        else if (!lua_isnil(L, 3))
            return luaL_argerror(L, 2, lua_pushfstring(L, "dtype must be \"f64\", \"float64\", "
                                                          "\"f32\" or \"float32\", got %s",
                                                       name ? name : kr_lua_typename(L, 3)));
        lua_pop(L, 1);
        lua_getfield(L, 2, "channels");
        if (lua_isboolean(L, -1)) {
            channels = lua_toboolean(L, -1) ? KR_IMAGE_FILE_CHANNELS : KR_IMAGE_GREY;
        } else if (!lua_isnil(L, -1)) {
            int isnum = 0;
            lua_Integer n = lua_tointegerx(L, -1, &isnum);
            if (!isnum || n < 1 || n > 4)
                return luaL_argerror(L, 2, lua_pushfstring(L, "channels must be true, false or an "
                                                              "integer 1..4, got %s",
                                                           lua_type(L, -1) == LUA_TNUMBER
                                                               ? lua_tostring(L, -1)
                                                               : kr_lua_typename(L, -1)));
            channels = (int)n;
        }
        lua_pop(L, 1);
        lua_getfield(L, 2, "max_pixels");
        if (!lua_isnil(L, -1)) {
            int isnum = 0;
            lua_Number n = lua_tonumberx(L, -1, &isnum);
            if (!isnum || !(n >= 1) || n > 9.2e18 || n != floor(n))
                return luaL_argerror(L, 2, lua_pushfstring(L, "max_pixels must be a positive "
                                                              "integer, got %s",
                                                           lua_type(L, -1) == LUA_TNUMBER
                                                               ? lua_tostring(L, -1)
                                                               : kr_lua_typename(L, -1)));
            max_pixels = (int64_t)n;
        }
        lua_pop(L, 1);
    }
    kr_tensor *t = kr_lua_push_header(L);
    kr_lua_check(L, kr_image_load(t, path, dt, channels, max_pixels));
    kr_lua_account(L, t->storage->nbytes);
    return 1;
}

static int l_save(lua_State *L)
{
    const char *path = kr_lua_check_path(L, 1);
    kr_tensor *t = kr_lua_check_tensor(L, 2);
    kr_lua_check(L, kr_image_save(path, t));
    return 0;
}

static const luaL_Reg functions[] = {{"load", l_load}, {"save", l_save}, {NULL, NULL}};

void kr_lua_open_image(lua_State *L, int mod, int ctx)
{
    lua_newtable(L);
    kr_lua_setfuncs(L, functions, ctx);
    lua_setfield(L, mod, "image");
}
