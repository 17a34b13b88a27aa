# The one definition of the constants that the kernels and the Python side share.
#
# Every .pyx/.pxd cimports them from here; fastrbm/_constants.pyx exposes the same
# values to Python (fastrbm._constants.VISIBLE_CODES, NRELU_CUTOFF, ...), where
# fastrbm.reference, fastrbm.units, fastrbm._kernel_args and the tests read them.

# ---------------------------------------------------------------- unit codes
cdef enum:
    VIS_BERNOULLI = 0
    VIS_GAUSSIAN = 1
    N_VISIBLE_CODES = 2
    HID_BERNOULLI = 0
    HID_STEPPED = 1
    HID_NRELU = 2
    N_HIDDEN_CODES = 3

# ------------------------------------------------------------ optimisers
cdef enum:
    OPT_SGD = 0             # momentum SGD
    OPT_ADAM = 1            # Adam (Kingma & Ba 2015)
    N_OPTIMIZER_CODES = 2

# ------------------------------------------------------------ unit arithmetic
cdef enum:
    # Stepped units draw their copies' words in one stack buffer of 2 * MAX_COPIES words.
    MAX_COPIES = 1024
    STEPPED_WORDS = 2 * MAX_COPIES
    # Exact NReLU samples (AIS): copies outside a window of this half-width are decided
    # whatever the uniform (sigmoid(T) rounds to 1, sigmoid(-T) is below every uniform).
    NRELU_WINDOW_FLOAT32 = 17
    NRELU_WINDOW_FLOAT64 = 37
    # AIS's exact NReLU sample of element i uses uniforms i * NRELU_AIS_STRIDE + slot.
    NRELU_AIS_STRIDE = 128

cdef extern from *:
    """
    /* NReLU's free-energy term: the stepped sum is summed exactly within this many
       steps of the input and by its closed-form tail beyond (fastrbm/_unitmath.pxd). */
    static const double FRBM_NRELU_CUTOFF = 40.0;
    """
    const double NRELU_CUTOFF "FRBM_NRELU_CUTOFF"

# ------------------------------------------------------------- thread heuristics
# Used by every choice of a thread count (_kernels.epoch_threads / row_threads,
# _ais.ais_threads / ais_unit_split).
cdef enum:
    # More OpenMP threads than this are refused: each costs a stack, and AIS allocates
    # coefficient rows per thread.
    MAX_THREADS = 256
    # Kernels with less work than this (rows x units) run on one thread: a parallel
    # region and its barriers cost microseconds, more than small minibatches take.
    PARALLEL_MIN_ELEMENTS = 8192
    # A unit-split kernel (the epoch, AIS's large products) gives each thread at least
    # this many visible and hidden units; a row-split one at least this many rows.
    MIN_UNITS_PER_THREAD = 16
    MIN_ROWS_PER_THREAD = 4
    # AIS splits products of at least this many multiply-adds (runs x visible x hidden)
    # by units across threads: four barriers per intermediate distribution are then
    # noise, and each thread packs only its share of W.
    AIS_UNIT_SPLIT_MIN = 2097152
