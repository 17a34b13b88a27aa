# OpenMP for the kernel modules (src_c/omp_shim.h: the serial build gets the same calls),
# and the one rule that cuts n items into per-thread parts.
from libc.stdint cimport int64_t

cdef extern from "omp_shim.h" nogil:
    int frbm_openmp_enabled()
    int frbm_omp_max_threads()
    int frbm_thread_num()
    int frbm_num_threads()
    void frbm_barrier()


cdef inline void _part(int n, int t, int n_parts, int *lo, int *hi) noexcept nogil:
    """Part ``t`` of ``n`` items split into ``n_parts`` contiguous, nearly equal parts."""
    lo[0] = <int>((<int64_t>n * t) // n_parts)
    hi[0] = <int>((<int64_t>n * (t + 1)) // n_parts)
