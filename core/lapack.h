/* Dense linear algebra through LAPACKE (lapack.c): solve, inverse, determinant, symmetric
 * eigendecomposition, QR, Cholesky, least squares and the pseudo-inverse.
 *
 * Inputs may have any strides and are never modified (each routine works on a contiguous
 * copy); a matrix holding NaN or infinity is refused before LAPACK sees it.  Results are new
 * contiguous tensors of the input's dtype (uninitialised headers on entry, left released on
 * failure).  A singular matrix (an exactly zero pivot, or a reciprocal condition number below
 * the dtype's epsilon) gives "OP: A is singular ..."; Cholesky of a matrix that is not
 * positive definite gives "cholesky: A is not positive definite ...". */
#ifndef KR_LAPACK_H
#define KR_LAPACK_H

#include "tensor.h"

/* X = A^-1 B, A n x n, B n or n x k (X has B's shape). */
kr_status kr_solve(kr_tensor *X, const kr_tensor *A, const kr_tensor *B);
kr_status kr_inv(kr_tensor *X, const kr_tensor *A);
/* det(A) from the LU factors (0 for an exactly singular A, no error). */
kr_status kr_det(const kr_tensor *A, double *det);
/* A = V diag(w) V^T for symmetric A (its lower triangle is read): w ascending, the
 * eigenvectors as the columns of V. */
kr_status kr_eigh(kr_tensor *w, kr_tensor *V, const kr_tensor *A);
/* Reduced QR: A m x n = Q R, k = min(m, n), Q m x k orthonormal columns, R k x n upper. */
kr_status kr_qr(kr_tensor *Q, kr_tensor *R, const kr_tensor *A);
/* A = L L^T, L lower triangular (A's lower triangle is read). */
kr_status kr_cholesky(kr_tensor *L, const kr_tensor *A);
/* X minimising |A X - B| (minimum norm when A is rank deficient), A m x n, B m or m x k;
 * X is n or n x k; *rank is A's effective rank (singular values above max(m,n) eps s_max). */
kr_status kr_lstsq(kr_tensor *X, int64_t *rank, const kr_tensor *A, const kr_tensor *B);
/* Moore-Penrose pseudo-inverse (n x m) from the SVD, singular values at or below
 * rcond * s_max treated as zero; rcond < 0 means max(m, n) eps. */
kr_status kr_pinv(kr_tensor *X, const kr_tensor *A, double rcond);

#endif
