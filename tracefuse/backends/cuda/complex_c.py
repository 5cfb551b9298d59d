"""Complex numbers in the generated CUDA C: `tx_complex<T>` (`tx_c64`, `tx_c128`), our own
struct (no <cuComplex.h>, no thrust: the source stays self-contained, the same text for NVRTC
and for gpu-sim's g++), its arithmetic operators, and the standard's complex functions written
from the real ones. `COMPLEX_PREAMBLE` goes into a kernel's source after the preamble when
the kernel has a complex value; an include guard keeps it once in a combined program.
`COMPLEX_FUNCS` names its function for each op of a complex operand, and `COMPLEX_PART_OPS`
holds the CUDA op-table entries of `real`, `imag`, `conj`, `angle` (render.py's CUDA_OPS).

Semantics are NumPy's: `*` is the plain product, `/` and `reciprocal` are NumPy's loops
(Smith's algorithm, x / 0 an inf or NaN), `sign` is NumPy's z/|z|, `pow` is exp(b log a) with
NumPy's cases for a zero base and a zero exponent, `expm1`, `log1p` NumPy's formulas. The
functions of C99 Annex G (exp, log, sqrt, the hyperbolic and inverse functions) handle the
standard's special values (NaN and infinite parts, signed zeros) as glibc does, and compute
finite values by the usual formulas (docs/vmath.md, "Complex functions", says where they lose
accuracy). complex64 functions run in double precision and round once: float range problems
(z*z overflowing at |z| = 1.8e19) and float cancellation go away at the price of
double-precision throughput; the arithmetic operators and pow's integer-exponent products stay
in float, as NumPy's (the same overflows to inf and NaN).
"""

from __future__ import annotations

from ...ir import OpCode
from ...ir.dtypes import DType

G = OpCode

COMPLEX_PREAMBLE = r"""
#ifndef TX_COMPLEX_DEFINED
#define TX_COMPLEX_DEFINED
// complex numbers: our own struct, laid out as NumPy's complex64 / complex128 (re, im)
template <typename T> struct alignas(2 * sizeof(T)) tx_complex {
  T re, im;
  tx_complex() = default;
  __device__ __forceinline__ tx_complex(T r, T i) : re(r), im(i) {}
  __device__ __forceinline__ tx_complex(double r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(float r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(long long r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(unsigned long long r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(int r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(unsigned int r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(short r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(unsigned short r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(signed char r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(unsigned char r) : re((T)r), im((T)0) {}
  __device__ __forceinline__ tx_complex(bool r) : re((T)r), im((T)0) {}
  template <typename U> __device__ __forceinline__ explicit tx_complex(const tx_complex<U>& z)
      : re((T)z.re), im((T)z.im) {}
  __device__ __forceinline__ explicit operator bool() const { return re != (T)0 || im != (T)0; }
};
typedef tx_complex<float> tx_c64;
typedef tx_complex<double> tx_c128;
#define TX_CT template <typename T> static __device__ __forceinline__
#define TX_NAN_D __longlong_as_double(0x7ff8000000000000LL)
#define TX_INF_C __longlong_as_double(0x7ff0000000000000LL)
static __device__ __forceinline__ bool tx_isfin(double a) { return a - a == 0; }
static __device__ __forceinline__ bool tx_isfin(float a) { return a - a == 0; }

TX_CT tx_complex<T> operator+(tx_complex<T> a, tx_complex<T> b) { return tx_complex<T>(a.re + b.re, a.im + b.im); }
TX_CT tx_complex<T> operator-(tx_complex<T> a, tx_complex<T> b) { return tx_complex<T>(a.re - b.re, a.im - b.im); }
TX_CT tx_complex<T> operator-(tx_complex<T> a) { return tx_complex<T>(-a.re, -a.im); }
TX_CT tx_complex<T> operator*(tx_complex<T> a, tx_complex<T> b) {
  return tx_complex<T>(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
TX_CT tx_complex<T> operator/(tx_complex<T> a, tx_complex<T> b) {  // NumPy's loop (Smith)
  T abr = (T)fabs(b.re), abi = (T)fabs(b.im);  // fabs: +0 for -0 (x / -0 is NumPy's x / +0)
  if (abr >= abi) {
    if (abr == 0 && abi == 0) return tx_complex<T>(a.re / abr, a.im / abr);
    T rat = b.im / b.re, scl = (T)1 / (b.re + b.im * rat);
    return tx_complex<T>((a.re + a.im * rat) * scl, (a.im - a.re * rat) * scl);
  }
  T rat = b.re / b.im, scl = (T)1 / (b.im + b.re * rat);
  return tx_complex<T>((a.re * rat + a.im) * scl, (a.im * rat - a.re) * scl);
}
TX_CT bool operator==(tx_complex<T> a, tx_complex<T> b) { return a.re == b.re && a.im == b.im; }
TX_CT bool operator!=(tx_complex<T> a, tx_complex<T> b) { return !(a == b); }
TX_CT bool operator==(tx_complex<T> a, int b) { return a.re == (T)b && a.im == (T)0; }
TX_CT bool operator!=(tx_complex<T> a, int b) { return !(a == b); }

// warp shuffles of a complex accumulator: part by part (the preamble's real ones)
static __device__ __forceinline__ tx_c64 tx_shfl_xor(tx_c64 v, int m) { return tx_c64(tx_shfl_xor(v.re, m), tx_shfl_xor(v.im, m)); }
static __device__ __forceinline__ tx_c128 tx_shfl_xor(tx_c128 v, int m) { return tx_c128(tx_shfl_xor(v.re, m), tx_shfl_xor(v.im, m)); }

TX_CT tx_complex<T> tx_conj(tx_complex<T> z) { return tx_complex<T>(z.re, -z.im); }
TX_CT bool tx_isnan(tx_complex<T> z) { return z.re != z.re || z.im != z.im; }
TX_CT bool tx_isinf(tx_complex<T> z) { return tx_isinf(z.re) || tx_isinf(z.im); }
TX_CT bool tx_isfinite(tx_complex<T> z) { return tx_isfin(z.re) && tx_isfin(z.im); }
TX_CT T tx_abs(tx_complex<T> z) { return hypot(z.re, z.im); }
TX_CT tx_complex<T> tx_rint(tx_complex<T> z) { return tx_complex<T>(rint(z.re), rint(z.im)); }
TX_CT tx_complex<T> tx_square(tx_complex<T> z) { return z * z; }
TX_CT tx_complex<T> tx_reciprocal(tx_complex<T> z) {  // NumPy's loop
  T x = z.re, y = z.im;
  if ((y < 0 ? -y : y) <= (x < 0 ? -x : x)) { T r = y / x, d = x + y * r; return tx_complex<T>((T)1 / d, -r / d); }
  T r = x / y, d = x * r + y;
  return tx_complex<T>(r / d, (T)-1 / d);
}
TX_CT tx_complex<T> tx_sign(tx_complex<T> z) {  // NumPy's z / |z|
  T a = hypot(z.re, z.im);
  if (a != a) return tx_complex<T>((T)TX_NAN_D, (T)TX_NAN_D);
  if (tx_isinf(a)) {
    if (tx_isinf(z.re)) return tx_isinf(z.im) ? tx_complex<T>((T)TX_NAN_D, (T)TX_NAN_D)
                                        : tx_complex<T>(z.re > 0 ? (T)1 : (T)-1, (T)0);
    return tx_complex<T>((T)0, z.im > 0 ? (T)1 : (T)-1);
  }
  if (a == 0) return tx_complex<T>((T)0, (T)0);
  return tx_complex<T>(z.re / a, z.im / a);
}

// ---- the functions of Annex G, in double (complex64 converts, computes, rounds once) ----
#define TX_DF static __device__ __forceinline__
#define TX_PI 3.14159265358979323846

TX_DF tx_c128 tx_rot(tx_c128 z) { return tx_c128(-z.im, z.re); }    // i z
TX_DF tx_c128 tx_unrot(tx_c128 z) { return tx_c128(z.im, -z.re); }  // -i z

TX_DF tx_c128 tx_exp_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (y == 0) return tx_c128(exp(x), y);
  if (tx_isinf(x)) {
    if (x < 0) return tx_isfin(y) ? tx_c128(0.0 * cos(y), 0.0 * sin(y)) : tx_c128(0.0, y == y ? copysign(0.0, y) : 0.0);
    if (!tx_isfin(y)) return tx_c128(x, y - y);
  }
  double e = exp(x);
  return tx_c128(e * cos(y), e * sin(y));
}
TX_DF tx_c128 tx_log_d(tx_c128 z) {  // log|z| + i arg z (hypot and atan2 give Annex G's specials)
  double x = z.re, y = z.im, h = hypot(x, y);
  double re = (h > 0.7 && h < 1.5) ? 0.5 * log1p((x - 1.0) * (x + 1.0) + y * y) : log(h);
  return tx_c128(re, atan2(y, x));
}
TX_DF tx_c128 tx_sqrt_d(tx_c128 z) {  // FreeBSD's csqrt, without its scaling near overflow
  double x = z.re, y = z.im;
  if (x == 0 && y == 0) return tx_c128(0.0, y);
  if (tx_isinf(y)) return tx_c128(TX_INF_C, y);
  if (x != x) return tx_c128(x, TX_NAN_D);
  if (tx_isinf(x)) return tx_signbit(x) ? tx_c128(fabs(y - y), copysign(x, y)) : tx_c128(x, copysign(y - y, y));
  if (x >= 0) { double t = sqrt((x + hypot(x, y)) * 0.5); return tx_c128(t, y / (2 * t)); }
  double t = sqrt((-x + hypot(x, y)) * 0.5);
  return tx_c128(fabs(y) / (2 * t), copysign(t, y));
}
TX_DF tx_c128 tx_sinh_xy(double x, double y) {  // FreeBSD's csinh cases
  if (tx_isfin(x) && tx_isfin(y)) {
    if (y == 0) return tx_c128(sinh(x), y);
    return tx_c128(sinh(x) * cos(y), cosh(x) * sin(y));
  }
  if (x == 0) return tx_c128(x, y - y);
  if (y == 0) return tx_c128(x, y);
  if (tx_isfin(x)) return tx_c128(y - y, y - y);
  if (tx_isinf(x)) {
    if (!tx_isfin(y)) return tx_c128(fabs(x), y - y);
    return tx_c128(x * cos(y), TX_INF_C * sin(y));
  }
  return tx_c128((x * x) * (y - y), (x + x) * (y - y));
}
TX_DF tx_c128 tx_cosh_xy(double x, double y) {  // FreeBSD's ccosh cases
  if (tx_isfin(x) && tx_isfin(y)) {
    if (y == 0) return tx_c128(cosh(x), x * y);
    return tx_c128(cosh(x) * cos(y), sinh(x) * sin(y));
  }
  if (x == 0) return tx_c128(y - y, x * copysign(0.0, y));
  if (y == 0) return tx_c128(x * x, copysign(0.0, x) * y);
  if (tx_isfin(x)) return tx_c128(y - y, x * (y - y));
  if (tx_isinf(x)) {
    if (!tx_isfin(y)) return tx_c128(x * x, x * (y - y));
    return tx_c128((x * x) * cos(y), x * sin(y));
  }
  return tx_c128((x * x) * (y - y), (x + x) * (y - y));
}
// FreeBSD's ctanh (Kahan's algorithm); tanh(+-inf + iy) has the sign of y (the standard) when
// `standard`, else of sin(2y) (C99, NumPy: what tan, through tanh, keeps)
TX_DF tx_c128 tx_tanh_xy(double x, double y, bool standard) {
  if (!tx_isfin(x)) {
    if (x != x) return tx_c128(x + y, y == 0 ? y : x + y);
    return tx_c128(copysign(1.0, x), copysign(0.0, tx_isinf(y) || standard ? y : sin(y) * cos(y)));
  }
  if (!tx_isfin(y)) return tx_c128(x != 0 ? y - y : x, y - y);
  if (fabs(x) >= 22) { double e = exp(-fabs(x)); return tx_c128(copysign(1.0, x), 4 * sin(y) * cos(y) * e * e); }
  double t = tan(y), beta = 1.0 + t * t, s = sinh(x), rho = sqrt(1.0 + s * s);
  double denom = 1.0 + beta * s * s;
  return tx_c128((beta * rho * s) / denom, t / denom);
}
TX_DF tx_c128 tx_sin_d(tx_c128 z) {
  if (tx_isinf(z.im) && !tx_isfin(z.re)) return tx_c128(TX_NAN_D, TX_INF_C);
  tx_c128 w = tx_rot(z);
  return tx_unrot(tx_sinh_xy(w.re, w.im));
}
TX_DF tx_c128 tx_cos_d(tx_c128 z) { tx_c128 w = tx_rot(z); return tx_cosh_xy(w.re, w.im); }
TX_DF tx_c128 tx_tan_d(tx_c128 z) { tx_c128 w = tx_rot(z); return tx_unrot(tx_tanh_xy(w.re, w.im, false)); }

// inverse functions: Kahan's formulas ("Branch cuts for complex elementary functions", 1987)
// from csqrt and real functions; the non-finite inputs by Annex G's tables
TX_DF tx_c128 tx_asinh_special(double x, double y) {
  if (tx_isinf(x)) {
    if (y != y) return tx_c128(x, y);
    if (tx_isinf(y)) return tx_c128(x, copysign(TX_PI / 4, y));
    return tx_c128(x, copysign(0.0, y));
  }
  if (tx_isinf(y)) {
    if (x != x) return tx_c128(fabs(y), x);
    return tx_c128(copysign(TX_INF_C, x), copysign(TX_PI / 2, y));
  }
  if (y == 0) return tx_c128(x, y);
  return tx_c128(TX_NAN_D, TX_NAN_D);
}
TX_DF tx_c128 tx_asin_finite(tx_c128 z) {
  // 1 - z and 1 + z part by part: 0.0 + (-0.0) would lose the sign of a zero imaginary part
  tx_c128 s1m = tx_sqrt_d(tx_c128(1.0 - z.re, -z.im)), s1p = tx_sqrt_d(tx_c128(1.0 + z.re, z.im));
  return tx_c128(atan2(z.re, s1m.re * s1p.re - s1m.im * s1p.im),
                 asinh(s1m.re * s1p.im - s1m.im * s1p.re));
}
TX_DF tx_c128 tx_asin_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (tx_isfin(x) && tx_isfin(y)) return tx_asin_finite(z);
  if (tx_isinf(x) && y != y) return tx_c128(TX_NAN_D, TX_INF_C);
  return tx_unrot(tx_asinh_special(-y, x));
}
TX_DF tx_c128 tx_asinh_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (tx_isfin(x) && tx_isfin(y)) return tx_unrot(tx_asin_finite(tx_rot(z)));
  return tx_asinh_special(x, y);
}
TX_DF tx_c128 tx_acos_special(double x, double y) {
  if (tx_isinf(x)) {
    if (y != y) return tx_c128(y, -fabs(x));
    if (tx_isinf(y)) return tx_c128(x > 0 ? TX_PI / 4 : 3 * TX_PI / 4, -y);
    return tx_c128(x > 0 ? 0.0 : TX_PI, copysign(TX_INF_C, -y));
  }
  if (tx_isinf(y)) return tx_c128(x == x ? TX_PI / 2 : x, -y);
  if (x == 0) return tx_c128(TX_PI / 2, y);
  return tx_c128(TX_NAN_D, TX_NAN_D);
}
TX_DF tx_c128 tx_acos_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (!(tx_isfin(x) && tx_isfin(y))) return tx_acos_special(x, y);
  tx_c128 s1m = tx_sqrt_d(tx_c128(1.0 - z.re, -z.im)), s1p = tx_sqrt_d(tx_c128(1.0 + z.re, z.im));
  return tx_c128(2.0 * atan2(s1m.re, s1p.re), asinh(s1p.re * s1m.im - s1p.im * s1m.re));
}
TX_DF tx_c128 tx_acosh_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (tx_isfin(x) && tx_isfin(y)) {
    tx_c128 w = tx_acos_d(z);  // +-i acos(z): the real part >= 0, the imaginary y's sign
    return tx_c128(fabs(w.im), copysign(w.re, y));
  }
  if (y != y) return tx_isinf(x) ? tx_c128(TX_INF_C, TX_NAN_D) : tx_c128(TX_NAN_D, x == 0 ? TX_PI / 2 : TX_NAN_D);
  if (tx_isinf(x)) {
    double im = tx_isinf(y) ? (x < 0 ? 3 * TX_PI / 4 : TX_PI / 4) : (x < 0 ? TX_PI : 0.0);
    return tx_c128(TX_INF_C, copysign(im, y));
  }
  if (tx_isinf(y)) return tx_c128(TX_INF_C, copysign(x == x ? TX_PI / 2 : TX_NAN_D, y));
  return tx_c128(TX_NAN_D, TX_NAN_D);
}
TX_DF tx_c128 tx_atanh_special(double x, double y) {
  if (tx_isinf(y)) return tx_c128(x == x ? copysign(0.0, x) : 0.0, copysign(TX_PI / 2, y));
  if (tx_isinf(x)) return tx_c128(copysign(0.0, x), y != y ? y : copysign(TX_PI / 2, y));
  if (x == 0) return tx_c128(x, y);
  return tx_c128(TX_NAN_D, TX_NAN_D);
}
TX_DF tx_c128 tx_atanh_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (!(tx_isfin(x) && tx_isfin(y))) return tx_atanh_special(x, y);
  if (fabs(x) == 1 && y == 0) return tx_c128(copysign(TX_INF_C, x), y);
  double ax = fabs(x), re = 0.25 * log1p(4 * ax / ((1 - ax) * (1 - ax) + y * y));
  return tx_c128(copysign(re, x), 0.5 * atan2(2 * y, (1 - ax) * (1 + ax) - y * y));
}
TX_DF tx_c128 tx_atan_d(tx_c128 z) {
  double x = z.re, y = z.im;
  if (tx_isinf(x) && y != y) return tx_c128(copysign(TX_PI / 2, x), 0.0);
  return tx_unrot(tx_atanh_d(tx_rot(z)));
}
TX_DF tx_c128 tx_expm1_d(tx_c128 z) {  // NumPy's formula
  double x = z.re, y = z.im;
  if (x == 0 && y == 0) return tx_c128(0.0, y);  // the standard: +0 + 0j for either zero of x
  if (!(tx_isfin(x) && tx_isfin(y))) {  // the standard's special cases (NumPy misses six)
    if (x != x) return tx_c128(TX_NAN_D, y == 0 ? y : TX_NAN_D);
    if (tx_isinf(x) && x > 0) {
      if (y == 0) return tx_c128(x, y);
      if (tx_isfin(y)) return tx_c128(x * cos(y), x * sin(y));
      return tx_c128(x, TX_NAN_D);
    }
    if (tx_isinf(x)) return tx_c128(-1.0, copysign(0.0, tx_isfin(y) ? sin(y) : y));
    return tx_c128(TX_NAN_D, TX_NAN_D);
  }
  double a = sin(y / 2);
  return tx_c128(expm1(x) * cos(y) - 2 * a * a, exp(x) * sin(y));
}
TX_DF tx_c128 tx_log1p_d(tx_c128 z) {  // NumPy's formula
  return tx_c128(log(hypot(z.re + 1, z.im)), atan2(z.im, z.re + 1));
}
// NumPy's npy_cpow: b == 0 gives 1; a zero base 0 (b real > 0) or NaN; a small integer
// exponent repeated products in the operand's own precision (as NumPy's: the same overflow
// to inf and NaN), 1, 2, 3 without a product with 1 + 0j; else exp(b log a), in double
template <typename T> static __device__ __forceinline__ tx_complex<T> tx_cpow_t(tx_complex<T> a, tx_complex<T> b) {
  if (b.re == 0 && b.im == 0) return tx_complex<T>((T)1, (T)0);
  if (a.re == 0 && a.im == 0) {
    if (b.re > 0 && b.im == 0) return tx_complex<T>((T)0, (T)0);
    return tx_complex<T>((T)TX_NAN_D, (T)TX_NAN_D);
  }
  if (b.im == 0 && fabs(b.re) < 100 && b.re == (T)(long long)b.re) {
    long long n = (long long)b.re, m = n < 0 ? -n : n;
    if (n == 1) return a;
    if (n == 2) return a * a;
    if (n == 3) return a * (a * a);
    tx_complex<T> r((T)1, (T)0), p = a;
    while (m) { if (m & 1) r = r * p; p = p * p; m >>= 1; }
    return n < 0 ? tx_complex<T>((T)1, (T)0) / r : r;
  }
  return tx_complex<T>(tx_exp_d(tx_c128(b) * tx_log_d(tx_c128(a))));
}

// the op entries' names: complex64 computes in double and rounds once
#define TX_COMPLEX_FN(NAME, D)                                                              \
  static __device__ __forceinline__ tx_c128 NAME(tx_c128 z) { return D(z); }               \
  static __device__ __forceinline__ tx_c64 NAME(tx_c64 z) { return tx_c64(D(tx_c128(z))); }
TX_COMPLEX_FN(tx_cexp, tx_exp_d) TX_COMPLEX_FN(tx_clog, tx_log_d) TX_COMPLEX_FN(tx_csqrt, tx_sqrt_d)
TX_COMPLEX_FN(tx_cexpm1, tx_expm1_d) TX_COMPLEX_FN(tx_clog1p, tx_log1p_d)
TX_COMPLEX_FN(tx_csin, tx_sin_d) TX_COMPLEX_FN(tx_ccos, tx_cos_d) TX_COMPLEX_FN(tx_ctan, tx_tan_d)
TX_COMPLEX_FN(tx_casin, tx_asin_d) TX_COMPLEX_FN(tx_cacos, tx_acos_d) TX_COMPLEX_FN(tx_catan, tx_atan_d)
TX_COMPLEX_FN(tx_casinh, tx_asinh_d) TX_COMPLEX_FN(tx_cacosh, tx_acosh_d) TX_COMPLEX_FN(tx_catanh, tx_atanh_d)
static __device__ __forceinline__ tx_c128 tx_csinh(tx_c128 z) { return tx_sinh_xy(z.re, z.im); }
static __device__ __forceinline__ tx_c64 tx_csinh(tx_c64 z) { return tx_c64(tx_sinh_xy(z.re, z.im)); }
static __device__ __forceinline__ tx_c128 tx_ccosh(tx_c128 z) { return tx_cosh_xy(z.re, z.im); }
static __device__ __forceinline__ tx_c64 tx_ccosh(tx_c64 z) { return tx_c64(tx_cosh_xy(z.re, z.im)); }
static __device__ __forceinline__ tx_c128 tx_ctanh(tx_c128 z) { return tx_tanh_xy(z.re, z.im, true); }
static __device__ __forceinline__ tx_c64 tx_ctanh(tx_c64 z) { return tx_c64(tx_tanh_xy(z.re, z.im, true)); }
static __device__ __forceinline__ tx_c128 tx_clog2(tx_c128 z) { tx_c128 l = tx_log_d(z); return tx_c128(l.re * 1.44269504088896340736, l.im * 1.44269504088896340736); }
static __device__ __forceinline__ tx_c64 tx_clog2(tx_c64 z) { return tx_c64(tx_clog2(tx_c128(z))); }
static __device__ __forceinline__ tx_c128 tx_clog10(tx_c128 z) { tx_c128 l = tx_log_d(z); return tx_c128(l.re * 0.434294481903251827651, l.im * 0.434294481903251827651); }
static __device__ __forceinline__ tx_c64 tx_clog10(tx_c64 z) { return tx_c64(tx_clog10(tx_c128(z))); }
static __device__ __forceinline__ tx_c128 tx_cpow(tx_c128 a, tx_c128 b) { return tx_cpow_t(a, b); }
static __device__ __forceinline__ tx_c64 tx_cpow(tx_c64 a, tx_c64 b) { return tx_cpow_t(a, b); }
#endif  // TX_COMPLEX_DEFINED
"""

# op -> the preamble's function of a complex operand
COMPLEX_FUNCS = {
    "exp": "tx_cexp", "expm1": "tx_cexpm1", "log": "tx_clog", "log1p": "tx_clog1p",
    "log2": "tx_clog2", "log10": "tx_clog10", "sqrt": "tx_csqrt", "sin": "tx_csin",
    "cos": "tx_ccos", "tan": "tx_ctan", "sinh": "tx_csinh", "cosh": "tx_ccosh",
    "tanh": "tx_ctanh", "asin": "tx_casin", "acos": "tx_cacos", "atan": "tx_catan",
    "asinh": "tx_casinh", "acosh": "tx_cacosh", "atanh": "tx_catanh", "pow": "tx_cpow",
    "abs": "tx_abs", "sign": "tx_sign", "square": "tx_square", "reciprocal": "tx_reciprocal",
    "round": "tx_rint", "isnan": "tx_isnan", "isinf": "tx_isinf", "isfinite": "tx_isfinite",
}


# --- the op-table entries of the complex-number ops (render.py's CUDA_OPS takes them) --------
def _real(r, ops, od: DType, out: DType) -> str:
    return f"({ops[0]}).re" if od.is_complex else ops[0]


def _imag(r, ops, od: DType, out: DType) -> str:
    return f"({ops[0]}).im" if od.is_complex else r.literal(0, out)


def _conj(r, ops, od: DType, out: DType) -> str:
    return f"tx_conj({ops[0]})" if od.is_complex else ops[0]


def _angle(r, ops, od: DType, out: DType) -> str:
    """atan2(imag, real); of a real x, atan2(0, x) (pi for negative x and -0.0)."""
    a = ops[0]
    fn = "atan2f" if out.itemsize == 4 else "atan2"
    if od.is_complex:
        return f"{fn}(({a}).im, ({a}).re)"
    return f"{fn}({r.literal(0, out)}, {r.convert(a, out)})"


COMPLEX_PART_OPS = {G.REAL: _real, G.IMAG: _imag, G.CONJ: _conj, G.ANGLE: _angle}
