//! The C math library's transcendental functions (double and single
//! precision), defined by the executable itself on top of the pure-Rust `libm`
//! crate.
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
//! The single-precision ones serve whisper.cpp, linked into both executables
//! with the `whisper` feature: its scalar `expf`/`logf` calls (token sampling,
//! timestamp probabilities) then round the same way on both targets too.
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

/// Defines `exp`, `log`, `sin`, `pow`, ... and their `f32` twins `expf`,
/// `logf`, ... (C ABI, unmangled) in the calling binary, forwarding to the
/// `libm` crate. Invoke once, at the binary's top
/// level. See the module documentation of `pipeline_runtime::libm_exports`.
#[macro_export]
macro_rules! export_libm {
    () => {
        $crate::__export_libm_fns! {
            f64 unary: acos acosh asin asinh atan atanh cbrt cos cosh erf erfc exp exp2
                expm1 log log10 log1p log2 sin sinh tan tanh;
            f64 binary: atan2 hypot pow;
            f32 unary: acosf acoshf asinf asinhf atanf atanhf cbrtf cosf coshf erff erfcf expf
                exp2f expm1f logf log10f log1pf log2f sinf sinhf tanf tanhf;
            f32 binary: atan2f hypotf powf;
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_libm_fns {
    (
        f64 unary: $($u:ident)*; f64 binary: $($b:ident)*;
        f32 unary: $($uf:ident)*; f32 binary: $($bf:ident)*;
    ) => {
        $crate::__export_libm_fns!(@unary f64: $($u)*);
        $crate::__export_libm_fns!(@binary f64: $($b)*);
        $crate::__export_libm_fns!(@unary f32: $($uf)*);
        $crate::__export_libm_fns!(@binary f32: $($bf)*);
    };
    (@unary $t:ty: $($name:ident)*) => {
        $(
            #[no_mangle]
            pub extern "C" fn $name(x: $t) -> $t {
                $crate::libm_exports::__libm::$name(x)
            }
        )*
    };
    (@binary $t:ty: $($name:ident)*) => {
        $(
            #[no_mangle]
            pub extern "C" fn $name(x: $t, y: $t) -> $t {
                $crate::libm_exports::__libm::$name(x, y)
            }
        )*
    };
}
