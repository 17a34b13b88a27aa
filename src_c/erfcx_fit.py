"""Coefficients of the erfc approximation in fastmath.h (float64 NReLU mean).

erfc(z) = u Q(u) exp(-z^2) for z >= 0, with u = 1 / (1 + z/2) in (0, 1]. Q(u) =
erfcx(z) / u is smooth in u; on u in [U_MIN, 1] (z <= 8) it is interpolated at
Chebyshev points of the first kind from 50-digit values (mpmath) and the series is cut
at DEGREE. Beyond z = 8, erfc < 2e-29 and fastmath.h clamps u to U_MIN: the result is
then wrong in relative terms but far below anything a float64 sum can see.

Run ``python src_c/erfcx_fit.py`` to print the C table and the fit's error.
"""
import mpmath as mp
import numpy as np

U_MIN = 0.2
DEGREE = 20
N_NODES = 64


def q_exact(u):
    z = 2 * (1 / u - 1)
    return mp.erfc(z) * mp.exp(z * z) / u


def chebyshev_coefficients():
    mp.mp.dps = 50
    k = np.arange(N_NODES)
    s = np.cos(np.pi * (k + 0.5) / N_NODES)           # nodes in [-1, 1]
    u = [mp.mpf(U_MIN) + (mp.mpf(1) - U_MIN) * (mp.mpf(si) + 1) / 2 for si in s]
    f = [q_exact(ui) for ui in u]
    coeffs = []
    for j in range(DEGREE + 1):
        acc = mp.fsum(f[i] * mp.cos(mp.pi * j * (i + mp.mpf(0.5)) / N_NODES)
                      for i in range(N_NODES))
        coeffs.append(acc * (1 if j else mp.mpf(1) / 2) * 2 / N_NODES)
    return [float(c) for c in coeffs]


def clenshaw(coeffs, s):
    b1 = b2 = 0.0
    for c in coeffs[:0:-1]:
        b1, b2 = 2 * s * b1 - b2 + c, b1
    return s * b1 - b2 + coeffs[0]


if __name__ == "__main__":
    coeffs = chebyshev_coefficients()
    mp.mp.dps = 30
    worst = 0.0
    for u in np.linspace(U_MIN, 1, 4001):
        s = (2 * u - (1 + U_MIN)) / (1 - U_MIN)
        exact = q_exact(mp.mpf(u))
        worst = max(worst, abs(float((clenshaw(coeffs, s) - exact) / exact)))
    print(f"/* degree {DEGREE}, u in [{U_MIN}, 1]: max relative error {worst:.1e} */")
    print("static const double FRBM_ERFCX_CHEB[%d] = {" % (DEGREE + 1))
    for i in range(0, DEGREE + 1, 3):
        print("    " + ", ".join(f"{c:.17e}" for c in coeffs[i:i + 3]) + ",")
    print("};")
