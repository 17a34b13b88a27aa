"""fastrbm: Restricted Boltzmann Machines and Deep Belief Nets, fast on the CPU."""
__version__ = "0.1.0"

from ._config import show_config
from .rbm import RBM, BernoulliRBM, DivergenceError, GaussianRBM
from .dbn import DBN

__all__ = ["RBM", "BernoulliRBM", "GaussianRBM", "DivergenceError", "DBN", "show_config",
           "__version__"]
