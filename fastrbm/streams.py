"""Random-stream numbering shared by the kernels and the NumPy reference.

A random draw is a pure function of ``(seed, stream, step, index)`` (see
``src_c/philox.h``). ``step`` counts calls of one kind (training updates, Gibbs calls,
AIS transitions); ``stream`` says which draw inside that call it is:

* Gibbs step ``t`` (1-based) samples hidden units with stream ``purpose + 2 t`` and
  visible units with ``purpose + 2 t - 1``. In a CD step the data's hidden sample is
  ``t = 0``: stream ``purpose + 0``.
* Parallel tempering's swaps of a training step draw from stream ``purpose + PT_SWAP``
  (uniform ``ladder * n_temperatures + m`` for the pair (m, m + 1)).
* ``purpose`` keeps kinds of call apart: training, user Gibbs sampling, AIS, ...
"""

PURPOSE_TRAIN = 0
PURPOSE_GIBBS = 1 << 20
PURPOSE_AIS = 2 << 20
PURPOSE_INIT = 3 << 20
PURPOSE_DBN = 4 << 20
PURPOSE_SBN = 5 << 20
PURPOSE_EVAL = 6 << 20
PURPOSE_RAISE = 7 << 20
#: Offset of the swap stream within a purpose (above every Gibbs step's streams).
PT_SWAP = 1 << 19


def hidden(t: int, purpose: int = PURPOSE_TRAIN) -> int:
    """Stream of the hidden sample of Gibbs step ``t`` (``t = 0``: from the data)."""
    return purpose + 2 * t


def swap(purpose: int = PURPOSE_TRAIN) -> int:
    """Stream of parallel tempering's swap decisions."""
    return purpose + PT_SWAP


def visible(t: int, purpose: int = PURPOSE_TRAIN) -> int:
    """Stream of the visible sample of Gibbs step ``t >= 1``."""
    return purpose + 2 * t - 1
