// Checks the wasm SIMD f16 <-> f32 conversions of whisper/patches/0001 against
// ggml's scalar reference (ggml-impl.h): every half, and f32 edge cases plus a
// few million pseudo-random bit patterns. Built by tests/test_whisper_simd.py
// with the wasm build's flags; exit status 0 when all agree.
#include "ggml-cpu/simd-mappings.h"

#include <stdio.h>
#include <string.h>

static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

int main(void) {
    long bad = 0, checked = 0;
    // every f16 value -> f32
    for (uint32_t h = 0; h < 65536; h += 4) {
        ggml_fp16_t in[4] = { (ggml_fp16_t) h, (ggml_fp16_t) (h + 1), (ggml_fp16_t) (h + 2), (ggml_fp16_t) (h + 3) };
        float out[4];
        wasm_v128_store(out, __wasm_f16x4_load(in));
        for (int i = 0; i < 4; i++) {
            const float ref = ggml_compute_fp16_to_fp32(in[i]);
            const int same = bits(out[i]) == bits(ref) || (out[i] != out[i] && ref != ref);
            if (!same && bad++ < 5) printf("f16->f32 %04x: simd %08x, ref %08x\n", in[i], bits(out[i]), bits(ref));
            checked++;
        }
    }
    // f32 -> f16: edge cases, then pseudo-random bit patterns (xorshift)
    static const uint32_t edges[] = {
        0x00000000u, 0x80000000u, 0x3f800000u, 0x477fe000u, 0x477ff000u, 0x477fefffu, 0x47800000u, 0x7f800000u,
        0xff800000u, 0x38800000u, 0x387fffffu, 0x33800000u, 0x33000000u, 0x33000001u, 0x337fffffu, 0x3f801000u,
        0x3f803000u, 0x3f802fffu, 0x3f801001u, 0x00000001u, 0x807fffffu, 0x7f7fffffu, 0xc77fe000u, 0x38000000u,
    };
    uint32_t state = 2463534242u;
    for (long n = 0; n < 4000000; n += 4) {
        float in[4];
        for (int i = 0; i < 4; i++) {
            const long k = n + i;
            uint32_t u;
            if (k < (long) (sizeof edges / sizeof edges[0])) {
                u = edges[k];
            } else {
                state ^= state << 13; state ^= state >> 17; state ^= state << 5;
                u = state;
            }
            if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) u &= ~0x007fffffu;  // no NaNs
            in[i] = from_bits(u);
        }
        ggml_fp16_t out[4];
        __wasm_f16x4_store(out, wasm_v128_load(in));
        for (int i = 0; i < 4; i++) {
            const ggml_fp16_t ref = ggml_compute_fp32_to_fp16(in[i]);
            if (out[i] != ref && bad++ < 10) printf("f32->f16 %08x: simd %04x, ref %04x\n", bits(in[i]), out[i], ref);
            checked++;
        }
    }
    printf("checked %ld conversions, %ld mismatches\n", checked, bad);
    return bad ? 1 : 0;
}
