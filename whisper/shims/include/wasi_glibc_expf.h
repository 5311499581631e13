// expf computed exactly as glibc (and musl) compute it: ARM optimized-routines, a
// 2^(k/32) table and a degree-3 polynomial in double precision. Bit for bit equal to
// glibc's expf (tests/test_whisper_simd.py). zig's compiler-rt expf for wasm32-wasi is several
// times slower (it calls ldexp) and can round differently from the native build's libm.
// Used by ggml's wasm attention loop (patch 0005) and by whisper.cpp's log-softmax in
// wasm (patch 0012). The pipeline runtime exports the same algorithm as the C `expf`
// of both its executables (glibc_expf in runtime/src/libm_exports.rs).
#ifndef WASI_GLIBC_EXPF_H
#define WASI_GLIBC_EXPF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static const uint64_t wasi_glibc_expf_tab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
static inline float wasi_glibc_expf(float x) {
    uint32_t ux; memcpy(&ux, &x, 4);
    const uint32_t abstop = (ux >> 20) & 0x7ff;
    if (abstop >= 0x42b) {  // top12(88.0f)
        if (ux == 0xff800000u) return 0.0f;          // -inf
        if (abstop >= 0x7f8) return x + x;           // inf, nan
        if (x > 0x1.62e42ep6f) return INFINITY;      // overflow
        if (x < -0x1.9fe368p6f) return 0.0f;         // underflow
    }
    const double xd = (double) x;
    const double z = (0x1.71547652b82fep+0 * 32) * xd;
    double kd = z + 0x1.8p+52;
    uint64_t ki; memcpy(&ki, &kd, 8);
    kd -= 0x1.8p+52;
    const double r = z - kd;
    uint64_t t = wasi_glibc_expf_tab[ki % 32];
    t += ki << (52 - 5);
    double s; memcpy(&s, &t, 8);
    const double c0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, c1 = 0x1.ebfce50fac4f3p-3 / 32 / 32, c2 = 0x1.62e42ff0c52d6p-1 / 32;
    double zz = c0 * r + c1;
    const double r2 = r * r;
    double y = c2 * r + 1;
    y = zz * r2 + y;
    y = y * s;
    return (float) y;
}

#endif  // WASI_GLIBC_EXPF_H
