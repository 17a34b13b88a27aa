/* OpenMP as the kernels use it, and the same calls in a serial build (FASTRBM_OPENMP 0):
 * one thread, barriers that do nothing. Shared by every kernel module. */
#ifndef FASTRBM_OMP_SHIM_H
#define FASTRBM_OMP_SHIM_H
#if FASTRBM_OPENMP
#include <omp.h>
static inline int frbm_openmp_enabled(void) { return 1; }
static inline int frbm_omp_max_threads(void) { return omp_get_max_threads(); }
static inline int frbm_thread_num(void) { return omp_get_thread_num(); }
static inline int frbm_num_threads(void) { return omp_get_num_threads(); }
static inline void frbm_barrier(void) { _Pragma("omp barrier") }
#else
static inline int frbm_openmp_enabled(void) { return 0; }
static inline int frbm_omp_max_threads(void) { return 1; }
static inline int frbm_thread_num(void) { return 0; }
static inline int frbm_num_threads(void) { return 1; }
static inline void frbm_barrier(void) { }
#endif
#endif
