# BLAS for fastrbm's kernels through scipy.linalg.cython_blas.
#
# fastrbm keeps every matrix row-major (C order). This is the one place where that
# is translated to BLAS's column-major convention: a row-major (m x n) matrix is a
# column-major (n x m) one, so C = op(A) op(B) becomes C^T = op(B)^T op(A)^T, i.e.
# gemm is called with the operands swapped and m/n exchanged.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


# op(A) of gemm: A itself or its transpose.
cdef enum Transpose:
    NO_TRANS = 0
    TRANS = 1


cdef inline void gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k,
                      floating alpha, const floating *a, int lda, const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    """Row-major C (m x n, leading dim ldc) = alpha * op(A) @ op(B) + beta * C."""
    cdef char ta = b'T' if trans_a == TRANS else b'N'
    cdef char tb = b'T' if trans_b == TRANS else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *>b, &ldb, <float *>a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a, &lda,
              &beta, c, &ldc)
