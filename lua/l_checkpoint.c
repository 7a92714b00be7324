/* Lua binding: the byte-level pieces of checkpoints and model files (core/checkpoint.h).
 * The container format itself is Lua (lua/kairo/serial.lua); these are what Lua cannot do
 * fast or at all:
 *   kr._ckpt.write(path, bytes)         atomic replace: temporary file, fsync, rename
 *   kr._ckpt.crc32(bytes)               zlib's CRC-32 of a string, an integer
 *   kr._ckpt.bytes(t)                   a tensor's elements in row-major order, little-endian
 *   kr._ckpt.fill(t, bytes, pos)        copies numel(t) elements from bytes at pos (1-based)
 *                                       into the contiguous tensor t; checks that they are there
 * Tensor bytes are IEEE 754 little-endian; on a big-endian machine the functions refuse. */
#include <string.h>

#include "l_kairo.h"

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void check_host(lua_State *L, const char *who)
{
    if (!host_little_endian()) luaL_error(L, "%s: checkpoints need a little-endian machine", who);
}

static int l_write(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *buf = luaL_checklstring(L, 2, &n);
    const char *who = luaL_optstring(L, 3, "checkpoint");
    if (kr_write_file_atomic(who, path, buf, n) != KR_OK)
        return luaL_error(L, "%s", kr_last_error());
    return 0;
}

static int l_crc32(lua_State *L)
{
    size_t n;
    const char *buf = luaL_checklstring(L, 1, &n);
    lua_pushinteger(L, (lua_Integer)kr_crc32(0, buf, n));
    return 1;
}

static int l_bytes(lua_State *L)
{
    check_host(L, "checkpoint");
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    size_t es = kr_dtype_size(t->dtype);
    size_t n = (size_t)kr_numel(t);
    if (kr_is_contiguous(t)) {
        lua_pushlstring(L, (const char *)t->storage->data + (size_t)t->offset * es, n * es);
        return 1;
    }
    /* a strided view: copy it into a contiguous tensor first */
    kr_tensor *c = kr_lua_push_empty(L, t->dtype, t->ndim, t->size);
    kr_lua_check(L, kr_copy_(c, t));
    lua_pushlstring(L, (const char *)c->storage->data + (size_t)c->offset * es, n * es);
    return 1;
}

static int l_fill(lua_State *L)
{
    check_host(L, "checkpoint");
    kr_tensor *t = kr_lua_check_tensor(L, 1);
    size_t len;
    const char *buf = luaL_checklstring(L, 2, &len);
    lua_Integer pos = luaL_checkinteger(L, 3);
    if (!kr_is_contiguous(t)) return luaL_argerror(L, 1, "contiguous tensor expected");
    size_t es = kr_dtype_size(t->dtype);
    size_t n = (size_t)kr_numel(t) * es;
    if (pos < 1 || (size_t)(pos - 1) > len || len - (size_t)(pos - 1) < n)
        return luaL_error(L, "checkpoint: truncated tensor data (%I bytes needed at byte %I, "
                             "%I there)", (lua_Integer)n, pos,
                          (lua_Integer)(pos >= 1 && (size_t)(pos - 1) <= len ? len - (size_t)(pos - 1) : 0));
    memcpy(t->storage->data + (size_t)t->offset * es, buf + (pos - 1), n);
    return 0;
}

static const luaL_Reg functions[] = {
    {"write", l_write}, {"crc32", l_crc32}, {"bytes", l_bytes}, {"fill", l_fill}, {NULL, NULL},
};

void kr_lua_open_checkpoint(lua_State *L, int mod, int ctx)
{
    lua_newtable(L);
    kr_lua_setfuncs(L, functions, ctx);
    lua_setfield(L, mod, "_ckpt");
}
