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
# the count that has been faster and now and then measures the other in a short probe
# segment: after PROBE_MIN segments at first and after a probe that changed the choice,
# and at intervals doubling up to PROBE_MAX while the probes confirm it. So a wrong
# choice (from a noisy first measurement, or after the load changed) is undone within a
# few tenths of a second of work, and a settled one costs well under 1 % in probes.
# The measurements live in a float64 array of CHOICE_SIZE the caller keeps between
# calls: [0] units per second on n_max threads, [1] on one (0: not measured yet),
# [2] segments since the last probe, [3] the probe interval (0: PROBE_MIN).
cdef enum:
    PROBE_MIN = 8
    PROBE_MAX = 128
    PROBE_SHARE = 8         # a probe segment is this many times shorter
    CHOICE_SIZE = 4


cdef inline int faster_threads(const double *st, int n_max) noexcept nogil:
    """The thread count that has been faster (n_max until both are measured)."""
    if n_max <= 1:
        return 1
    if st[0] == 0 or st[1] == 0:
        return n_max
    return n_max if st[0] >= st[1] else 1


cdef inline int choose_threads(double *st, int n_max) noexcept nogil:
    """The thread count of the next segment."""
    cdef int best = faster_threads(st, n_max)
    cdef double interval = st[3] if st[3] >= PROBE_MIN else PROBE_MIN
    if n_max <= 1 or st[0] == 0:
        return best
    st[2] += 1
    if st[1] == 0 or st[2] >= interval:
        st[2] = 0
        return 1 if best == n_max else n_max
    return best


cdef inline void record_segment(double *st, int n_max, int n_threads, int64_t units,
                                double seconds) noexcept nogil:
    """Fold the speed of the segment just run into its thread count's estimate (a
    running mean that follows changes of the machine's load within one or two probes),
    and after a probe set the interval to the next one."""
    cdef double rate, interval = st[3] if st[3] >= PROBE_MIN else PROBE_MIN
    cdef int at = 0 if n_threads == n_max else 1
    cdef int before = faster_threads(st, n_max)
    cdef bint probe = st[0] != 0 and st[1] != 0 and n_threads != before
    if seconds <= 0 or n_max <= 1:
        return
    rate = units / seconds
    st[at] = rate if st[at] == 0 else 0.5 * (st[at] + rate)
    if probe:
        if faster_threads(st, n_max) == before:
            st[3] = interval * 2 if interval * 2 <= PROBE_MAX else PROBE_MAX
        else:
            st[3] = PROBE_MIN
