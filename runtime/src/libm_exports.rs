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
//! `expf` is [`glibc_expf`], not the `libm` crate's: the wasm build of
//! whisper.cpp computes its log-softmax with the same algorithm inlined
//! (`whisper/shims/include/wasi_glibc_expf.h`, the crate's is several times
//! slower in wasm), so both targets must define `expf` that way.
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

/// `expf` as glibc (and musl) compute it: ARM's optimized-routines algorithm, a
/// 2^(k/32) table and a degree-3 polynomial evaluated in double precision. Bit
/// for bit the same as `whisper/shims/include/wasi_glibc_expf.h` and, on glibc
/// systems, as the C library's `expf` (tested).
pub fn glibc_expf(x: f32) -> f32 {
    const TABLE: [u64; 32] = [
        0x3ff0000000000000,
        0x3fefd9b0d3158574,
        0x3fefb5586cf9890f,
        0x3fef9301d0125b51,
        0x3fef72b83c7d517b,
        0x3fef54873168b9aa,
        0x3fef387a6e756238,
        0x3fef1e9df51fdee1,
        0x3fef06fe0a31b715,
        0x3feef1a7373aa9cb,
        0x3feedea64c123422,
        0x3feece086061892d,
        0x3feebfdad5362a27,
        0x3feeb42b569d4f82,
        0x3feeab07dd485429,
        0x3feea47eb03a5585,
        0x3feea09e667f3bcd,
        0x3fee9f75e8ec5f74,
        0x3feea11473eb0187,
        0x3feea589994cce13,
        0x3feeace5422aa0db,
        0x3feeb737b0cdc5e5,
        0x3feec49182a3f090,
        0x3feed503b23e255d,
        0x3feee89f995ad3ad,
        0x3feeff76f2fb5e47,
        0x3fef199bdd85529c,
        0x3fef3720dcef9069,
        0x3fef5818dcfba487,
        0x3fef7c97337b9b5f,
        0x3fefa4afa2a490da,
        0x3fefd0765b6e4540,
    ];
    let inv_ln2_n = f64::from_bits(0x40471547652b82fe); // 32 / ln 2
    let shift = f64::from_bits(0x4338000000000000); // 0x1.8p52: rounds to an integer
    let c0 = f64::from_bits(0x3ebc6af84b912394);
    let c1 = f64::from_bits(0x3f2ebfce50fac4f3);
    let c2 = f64::from_bits(0x3f962e42ff0c52d6);

    let ux = x.to_bits();
    let abstop = (ux >> 20) & 0x7ff;
    if abstop >= 0x42b {
        // |x| >= 88, inf or nan
        if ux == 0xff80_0000 {
            return 0.0;
        }
        if abstop >= 0x7f8 {
            return x + x;
        }
        if x > f32::from_bits(0x42b1_7217) {
            return f32::INFINITY;
        }
        if x < f32::from_bits(0xc2cf_f1b4) {
            return 0.0;
        }
    }
    let z = inv_ln2_n * f64::from(x);
    let kd = z + shift;
    let ki = kd.to_bits();
    let r = z - (kd - shift);
    let s = f64::from_bits(TABLE[(ki % 32) as usize].wrapping_add(ki << (52 - 5)));
    let zz = c0 * r + c1;
    let r2 = r * r;
    let y = c2 * r + 1.0;
    let y = zz * r2 + y;
    (y * s) as f32
}

/// Defines `exp`, `log`, `sin`, `pow`, ... and their `f32` twins `expf`,
/// `logf`, ... (C ABI, unmangled) in the calling binary, forwarding to the
/// `libm` crate (`expf` to [`glibc_expf`]). Invoke once, at the binary's top
/// level. See the module documentation of `pipeline_runtime::libm_exports`.
#[macro_export]
macro_rules! export_libm {
    () => {
        $crate::__export_libm_fns! {
            f64 unary: acos acosh asin asinh atan atanh cbrt cos cosh erf erfc exp exp2
                expm1 log log10 log1p log2 sin sinh tan tanh;
            f64 binary: atan2 hypot pow;
            f32 unary: acosf acoshf asinf asinhf atanf atanhf cbrtf cosf coshf erff erfcf
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

        #[no_mangle]
        pub extern "C" fn expf(x: f32) -> f32 {
            $crate::libm_exports::glibc_expf(x)
        }

        // GCC and clang merge sin(x) and cos(x) of one argument into sincos(x, &s, &c)
        // (numpy's pocketfft twiddles do): the same pair as sin and cos above.
        #[no_mangle]
        pub unsafe extern "C" fn sincos(x: f64, s: *mut f64, c: *mut f64) {
            let (sv, cv) = $crate::libm_exports::__libm::sincos(x);
            // SAFETY: the C contract of sincos: both pointers are valid for a write.
            unsafe {
                *s = sv;
                *c = cv;
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn sincosf(x: f32, s: *mut f32, c: *mut f32) {
            let (sv, cv) = $crate::libm_exports::__libm::sincosf(x);
            // SAFETY: as for sincos.
            unsafe {
                *s = sv;
                *c = cv;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::glibc_expf;

    // Inputs across the whole f32 range: every 4099th bit pattern (both signs,
    // subnormals, the overflow and underflow edges), plus the special values.
    fn inputs() -> impl Iterator<Item = f32> {
        (0..=u32::MAX).step_by(4099).map(f32::from_bits).chain([
            0.0,
            -0.0,
            1.0,
            -1.0,
            88.72283,
            88.72284,
            -103.97208,
            -103.9721,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ])
    }

    #[test]
    fn glibc_expf_is_close_to_exp() {
        for x in inputs().filter(|x| x.is_finite() && x.abs() < 80.0) {
            let want = f64::from(x).exp();
            let got = f64::from(glibc_expf(x));
            assert!(
                ((got - want) / want).abs() < 1e-7,
                "expf({x}) = {got}, exp = {want}"
            );
        }
        assert_eq!(glibc_expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(glibc_expf(f32::INFINITY), f32::INFINITY);
        assert!(glibc_expf(f32::NAN).is_nan());
        assert_eq!(glibc_expf(100.0), f32::INFINITY);
        assert_eq!(glibc_expf(-120.0), 0.0);
    }

    // The native reference build of whisper.cpp uses glibc's expf: the port
    // must agree with it bit for bit.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_expf_matches_the_c_library() {
        extern "C" {
            fn expf(x: f32) -> f32;
        }
        let mut compared = 0u64;
        for x in inputs() {
            let libc = unsafe { expf(x) };
            let ours = glibc_expf(x);
            assert!(
                libc.to_bits() == ours.to_bits() || (libc.is_nan() && ours.is_nan()),
                "expf({x:e}): glibc {libc:e}, port {ours:e}"
            );
            compared += 1;
        }
        assert!(compared > 1_000_000);
    }
}
