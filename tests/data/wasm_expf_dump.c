// Writes wasi_glibc_expf (whisper/shims/include/wasi_glibc_expf.h) of every 4099th
// f32 bit pattern to stdout as little-endian f32s. tests/test_whisper_simd.py
// compares them with the C library's expf of the same inputs, natively.
#include "wasi_glibc_expf.h"

#include <stdio.h>

int main(void) {
    static float out[4096];
    size_t n = 0;
    for (uint64_t u = 0; u <= 0xffffffffu; u += 4099) {
        uint32_t bits = (uint32_t) u;
        float x;
        memcpy(&x, &bits, 4);
        out[n++] = wasi_glibc_expf(x);
        if (n == 4096) {
            fwrite(out, sizeof(float), n, stdout);
            n = 0;
        }
    }
    fwrite(out, sizeof(float), n, stdout);
    return 0;
}
