# Long kernels run in segments of about 20 ms each and check for pending
# signals (Ctrl-C) between segments, with the GIL: a segment's size is paced from the
# speed of the previous one, so the check comes often whatever the machine's speed or
# load, and the parallel region is entered rarely enough to cost nothing measurable.
# Also the barrier-free work claiming of src_c/frbm_sched.h the segments run on.
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t

cdef extern from "frbm_sched.h" nogil:
    ctypedef struct frbm_sched:
        pass
    void frbm_sched_init(frbm_sched *s)
    int64_t frbm_sched_claim(frbm_sched *s)
    void frbm_sched_finish(frbm_sched *s)
    void frbm_sched_wait(frbm_sched *s, int64_t target)
    double frbm_seconds()

# 20 ms: a check at least every 0.1 s even when another process takes half the machine
cdef enum:
    SEGMENT_MICROSECONDS = 20000


cdef inline int64_t next_segment(int64_t last, double seconds) noexcept nogil:
    """Units of work for the next segment: about SEGMENT_MICROSECONDS at the speed of the
    last one (``last`` units in ``seconds``), growing at most fourfold, at least 1."""
    cdef double ideal
    if seconds <= 0:
        return last * 4
    ideal = last * (SEGMENT_MICROSECONDS * 1e-6) / seconds
    if ideal > 4.0 * last:
        ideal = 4.0 * last
    return <int64_t>ideal if ideal >= 1 else 1


# Choosing the thread count of each segment. The epoch kernel's result does not depend
# on its thread count (its chunks are fixed by the shapes), so it may change between
# segments: when another process takes a core, waiting for a descheduled thread can cost
# more than the second thread brings, and one thread is then faster. The kernel runs
# the count that has been faster, measuring the other one segment in PROBE_EVERY.
cdef enum:
    PROBE_EVERY = 16

cdef struct ThreadChoice:
    int n_max               # the most threads allowed
    int last                # the count of the segment being measured
    double rate_max         # units per second with n_max threads (0: not yet measured)
    double rate_one         # units per second with one thread
    int64_t segments


cdef inline void thread_choice_init(ThreadChoice *tc, int n_max) noexcept nogil:
    tc.n_max = n_max
    tc.last = n_max
    tc.rate_max = 0
    tc.rate_one = 0
    tc.segments = 0


cdef inline int choose_threads(ThreadChoice *tc) noexcept nogil:
    """The thread count of the next segment."""
    cdef int best
    tc.segments += 1
    if tc.n_max <= 1:
        tc.last = 1
    elif tc.rate_max == 0:
        tc.last = tc.n_max
    elif tc.rate_one == 0:
        tc.last = 1
    else:
        best = tc.n_max if tc.rate_max >= tc.rate_one else 1
        if tc.segments % PROBE_EVERY == 0:
            best = 1 if best == tc.n_max else tc.n_max
        tc.last = best
    return tc.last


cdef inline void record_segment(ThreadChoice *tc, int64_t units, double seconds) noexcept nogil:
    """Fold the speed of the segment just run into its thread count's estimate."""
    cdef double rate
    if seconds <= 0 or tc.n_max <= 1:
        return
    rate = units / seconds
    if tc.last == tc.n_max:
        tc.rate_max = rate if tc.rate_max == 0 else 0.5 * (tc.rate_max + rate)
    else:
        tc.rate_one = rate if tc.rate_one == 0 else 0.5 * (tc.rate_one + rate)
