import cmath, math
UNARY = ('acos acosh asin asinh atan atanh cbrt cos cosh erf erfc exp exp2 expm1 '
         'log log10 log1p log2 sin sinh tan tanh lgamma gamma').split()
def call(f, *a):
    try:
        return f(*a)
    except (ValueError, OverflowError) as e:
        return type(e).__name__
class Node:
    def process(self, x):
        out = {n: call(getattr(math, n), x) for n in UNARY if hasattr(math, n)}
        out['atan2'] = call(math.atan2, x, 0.75)
        out['pow'] = call(pow, abs(x), 1.37)
        out['hypot'] = call(math.hypot, x, 1e-3)
        z = call(cmath.exp, complex(x % 50, x))
        out['cexp'] = [z.real, z.imag] if isinstance(z, complex) else z
        out['cabs'] = abs(complex(x, 2.5))
        return out
