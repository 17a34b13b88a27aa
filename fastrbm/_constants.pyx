# cython: language_level=3
"""The constants shared by the kernels and the Python side, from fastrbm/_constants.pxd.

Python code reads them here instead of repeating the literals.
"""
# The names of the C constants (declared in the .pxd of this module) are taken by
# them here, so the Python attributes of the same names are set through globals().
globals().update(
    #: Unit codes of the kernels (``visible=`` / ``hidden=`` arguments).
    VISIBLE_CODES={"bernoulli": VIS_BERNOULLI, "gaussian": VIS_GAUSSIAN},
    HIDDEN_CODES={"bernoulli": HID_BERNOULLI, "stepped": HID_STEPPED, "nrelu": HID_NRELU},
    #: Optimiser codes of the training kernels (``Hyper.optimizer``).
    OPTIMIZER_CODES={"sgd": OPT_SGD, "adam": OPT_ADAM},
    #: Largest ``n_copies`` of stepped units.
    MAX_COPIES=MAX_COPIES,
    #: Half-width of the exact NReLU sampler's window, by dtype.
    NRELU_WINDOW_FLOAT32=NRELU_WINDOW_FLOAT32,
    NRELU_WINDOW_FLOAT64=NRELU_WINDOW_FLOAT64,
    #: AIS's exact NReLU sample of element i uses uniforms ``i * NRELU_AIS_STRIDE + slot``.
    NRELU_AIS_STRIDE=NRELU_AIS_STRIDE,
    #: NReLU's free-energy term: exact within this many steps, closed-form tail beyond.
    NRELU_CUTOFF=NRELU_CUTOFF,
    #: Thread heuristics (see _constants.pxd).
    MAX_THREADS=MAX_THREADS,
    PARALLEL_MIN_ELEMENTS=PARALLEL_MIN_ELEMENTS,
    MIN_UNITS_PER_THREAD=MIN_UNITS_PER_THREAD,
    MIN_ROWS_PER_THREAD=MIN_ROWS_PER_THREAD,
    AIS_UNIT_SPLIT_MIN=AIS_UNIT_SPLIT_MIN,
)
