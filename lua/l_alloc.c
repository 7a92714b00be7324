/* A cache of small blocks in front of Lua's allocator.
 *
 * Every new tensor is a userdata of about 200 bytes.  Lua frees them in bursts (a collection
 * frees hundreds at once) and glibc's per-thread cache keeps only seven blocks of a size, so
 * most of those frees and the allocations after them went through malloc's slow bins: about a
 * seventh of a + b on 4x4 tensors.  Here freed blocks of up to SMALL_MAX bytes wait in
 * per-size lists (bounded in count and bytes) for the next allocation of the same size.
 *
 * The blocks all come from, and return to, the allocator the state had before (a list keeps
 * blocks of one exact size, so any allocator works); Lua's own count of its memory, which
 * paces the collector, is unchanged.  One state per process gets the cache (it lives in static
 * storage); the module's context gives the original allocator back when it is collected, at
 * lua_close at the latest.  Under AddressSanitizer the cache is off, so that every free stays
 * visible to it. */
#include <stddef.h>

#include "l_aux.h"

#if defined(__SANITIZE_ADDRESS__)
#define KR_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KR_POOL_OFF 1
#endif
#endif

enum { SMALL_MAX = 256, CLASSES = SMALL_MAX / 8, KEEP_BYTES = 1 << 20 };

static struct pool {
    lua_Alloc f; /* the state's allocator before kairo's */
    void *ud;
    lua_State *L;
    void *head[CLASSES + 1]; /* a free block's first word links to the next */
    size_t kept;             /* bytes waiting in the lists */
} pool;

static int pool_taken;

static int class_of(size_t n)
{
    return n > 0 && n <= SMALL_MAX && n % 8 == 0 ? (int)(n / 8) : -1;
}

static void *pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct pool *p = ud;
    if (nsize == 0) {
        int c = ptr ? class_of(osize) : -1;
        if (c >= 0 && p->kept + osize <= KEEP_BYTES) {
            *(void **)ptr = p->head[c];
            p->head[c] = ptr;
            p->kept += osize;
            return NULL;
        }
    } else if (!ptr) {
        int c = class_of(nsize);
        if (c >= 0 && p->head[c]) {
            void *b = p->head[c];
            p->head[c] = *(void **)b;
            p->kept -= nsize;
            return b;
        }
    }
    return p->f(p->ud, ptr, osize, nsize);
}

void kr_lua_pool_install(lua_State *L)
{
#ifndef KR_POOL_OFF
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (f == pool_alloc || __atomic_exchange_n(&pool_taken, 1, __ATOMIC_ACQ_REL)) return;
    pool.f = f;
    pool.ud = ud;
    pool.L = L;
    lua_setallocf(L, pool_alloc, &pool);
#else
    (void)L;
#endif
}

void kr_lua_pool_remove(lua_State *L)
{
    if (pool.L != L || !pool.f) return;
    lua_setallocf(L, pool.f, pool.ud);
    for (int c = 0; c <= CLASSES; c++) {
        while (pool.head[c]) {
            void *b = pool.head[c];
            pool.head[c] = *(void **)b;
            pool.f(pool.ud, b, (size_t)c * 8, 0);
        }
    }
    pool.kept = 0;
    pool.f = NULL;
    pool.L = NULL;
    __atomic_store_n(&pool_taken, 0, __ATOMIC_RELEASE);
}
