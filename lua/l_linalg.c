/* Lua binding: factorisations (core/svd.c) and BLAS settings (core/blas.c).
 *
 *   U, S, V = kr.svd(A)     thin SVD of a 2-D tensor, A = U diag(S) V^T: A m x n, k = min(m, n),
 *                           U m x k and V n x k with orthonormal columns, S (k) descending;
 *                           same dtype as A; A is left as it was
 *   kr.svdvals(A)           S alone (cheaper)
 *   kr.rank(A [, tol])      how many singular values exceed tol (default max(m, n) eps s_max)
 *   kr.set_threads(n)       threads of both BLAS libraries (n >= 1); returns the count then set
 *   kr.config()             {version, blas, blas_core, blas_parallel, threads, default_dtype,
 *                           gemm, gemm_rule, blis, blis_threads, gemm_calls = "openblas N, blis N"}
 *
 * KAIRO_BLAS=openblas|blis|auto in the environment chooses the GEMM library (core/gemm_backend.c);
 * any other value, or blis where BLIS cannot be used, makes require "kairo" raise.
 *
 * A that holds NaN or infinity is refused before LAPACK sees it; a LAPACK failure (no
 * convergence) raises an error with LAPACK's info code. */
#include "l_kairo.h"

#include "../core/gemm_backend.h"

static int l_svd(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    kr_tensor *U = kr_lua_push_header(L);
    kr_tensor *S = kr_lua_push_header(L);
    kr_tensor *V = kr_lua_push_header(L);
    kr_lua_check(L, kr_svd(U, S, V, A));
    kr_lua_account(L, U->storage->nbytes + S->storage->nbytes + V->storage->nbytes);
    return 3;
}

static int l_svdvals(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    kr_tensor *S = kr_lua_push_header(L);
    kr_lua_check(L, kr_svdvals(S, A));
    kr_lua_account(L, S->storage->nbytes);
    return 1;
}

static int l_rank(lua_State *L)
{
    kr_tensor *A = kr_lua_check_tensor(L, 1);
    double tol = -1; /* the default rule */
    if (!lua_isnoneornil(L, 2)) {
        tol = luaL_checknumber(L, 2);
        luaL_argcheck(L, tol >= 0, 2, "tol must be >= 0");
    }
    int64_t r;
    kr_lua_check(L, kr_rank(A, tol, &r));
    lua_pushinteger(L, (lua_Integer)r);
    return 1;
}

static int l_set_threads(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 4096, 1, "thread count must be in 1..4096");
    kr_set_threads((int)n);
    lua_pushinteger(L, kr_get_threads());
    return 1;
}

static int l_config(lua_State *L)
{
    kr_lua_ctx *ctx = kr_lua_ctx_of(L);
    lua_createtable(L, 0, 6);
    lua_pushliteral(L, KR_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, kr_blas_info());
    lua_setfield(L, -2, "blas");
    lua_pushstring(L, kr_blas_core());
    lua_setfield(L, -2, "blas_core");
    lua_pushstring(L, kr_blas_parallel());
    lua_setfield(L, -2, "blas_parallel");
    lua_pushinteger(L, kr_get_threads());
    lua_setfield(L, -2, "threads");
    lua_pushstring(L, kr_dtype_name(ctx->default_dtype));
    lua_setfield(L, -2, "default_dtype");
    lua_pushstring(L, kr_gemm_mode());
    lua_setfield(L, -2, "gemm");
    lua_pushstring(L, kr_gemm_rule());
    lua_setfield(L, -2, "gemm_rule");
    if (kr_blis_ready())
        lua_pushfstring(L, "BLIS %s, %s kernels (chosen by %s)%s%s", kr_blis_version(),
                        kr_blis_arch(), kr_blis_chosen_by(), *kr_blis_why_not() ? "; " : "",
                        kr_blis_why_not());
    else
        lua_pushfstring(L, "not used: %s", kr_blis_why_not());
    lua_setfield(L, -2, "blis");
    lua_pushinteger(L, kr_blis_get_threads());
    lua_setfield(L, -2, "blis_threads");
    uint64_t calls[2];
    kr_gemm_counts(calls);
    lua_pushfstring(L, "openblas %I, blis %I", (lua_Integer)calls[KR_GEMM_OPENBLAS],
                    (lua_Integer)calls[KR_GEMM_BLIS]);
    lua_setfield(L, -2, "gemm_calls");
    return 1;
}

static const luaL_Reg functions[] = {
    {"svd", l_svd},
    {"svdvals", l_svdvals},
    {"rank", l_rank},
    {"set_threads", l_set_threads},
    {"config", l_config},
    {NULL, NULL},
};

void kr_lua_open_linalg(lua_State *L, int mod, int ctx)
{
    const char *bad = kr_gemm_env_error();
    if (bad) luaL_error(L, "kairo: %s", bad);
    lua_pushvalue(L, mod);
    kr_lua_setfuncs(L, functions, ctx);
    lua_pop(L, 1);
}
