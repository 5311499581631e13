//! The C math library's double-precision transcendental functions, defined by
//! the executable itself on top of the pure-Rust `libm` crate.
//!
//! Python nodes do float math through CPython's `math`/`cmath` modules and
//! `float.__pow__`, which call the C library: glibc natively, wasi-libc (musl)
//! in `pipeline_executor_wasm`. The two round differently in the last bit
//! (`math.exp(1.0)` is `2.718281828459045` on glibc, `2.7182818284590455` on
//! musl), so outputs would not be bit-identical across targets. Defining the
//! symbols in the binary makes both targets use the same Rust code:
//! * wasm: the module is linked statically; a definition in an object file wins
//!   over wasi-libc's archive member, which is then never pulled in.
//! * native: rustc exports `#[no_mangle]` functions from the executable, and the
//!   dynamic linker looks in the executable before `libm.so`, so the shared
//!   libpython (and its extension modules) bind to these definitions.
//!
//! Only the functions whose results are not fixed by IEEE 754 are replaced;
//! `sqrt`, `fabs`, `floor`, `fmod`, `ldexp`, ... are exact on every libc. The
//! Python wheel (an extension module inside someone else's interpreter) cannot
//! do this: there, Python nodes follow the host's libm.
//!
//! A library cannot force its `#[no_mangle]` symbols into an executable, so
//! each binary invokes [`export_libm!`](crate::export_libm) once.

#[doc(hidden)]
pub use libm as __libm;

/// Defines `exp`, `log`, `sin`, `pow`, ... (C ABI, unmangled) in the calling
/// binary, forwarding to the `libm` crate. Invoke once, at the binary's top
/// level. See the module documentation of `pipeline_runtime::libm_exports`.
#[macro_export]
macro_rules! export_libm {
    () => {
        $crate::__export_libm_fns! {
            unary: acos acosh asin asinh atan atanh cbrt cos cosh erf erfc exp exp2
                expm1 log log10 log1p log2 sin sinh tan tanh;
            binary: atan2 hypot pow;
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_libm_fns {
    (unary: $($u:ident)*; binary: $($b:ident)*;) => {
        $(
            #[no_mangle]
            pub extern "C" fn $u(x: f64) -> f64 {
                $crate::libm_exports::__libm::$u(x)
            }
        )*
        $(
            #[no_mangle]
            pub extern "C" fn $b(x: f64, y: f64) -> f64 {
                $crate::libm_exports::__libm::$b(x, y)
            }
        )*
    };
}
