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
