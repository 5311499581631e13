// Checks the wasm SIMD f16 helpers of whisper/patches against ggml's scalar
// reference (ggml-impl.h), bit for bit:
// * f16 <-> f32 for 4 lanes (0001): every half; f32 edge cases plus a few million
//   pseudo-random bit patterns;
// * rows of halves to f32 (0009): every half, in rows with and without inf/nan;
// * rounding f32 to the nearest f16 value (0010): every f32 at the edges of f16's
//   normal range, every 3rd in its subnormal range, every 61st of the others.
// Built by tests/test_whisper_simd.py with the wasm build's flags; exit status 0
// when all agree.
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
    // rows: all 65536 halves as rows of 64, then as one row (which holds inf/nan)
    static ggml_fp16_t all[65536];
    static float row[65536];
    for (uint32_t h = 0; h < 65536; h++) all[h] = (ggml_fp16_t) h;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            for (uint32_t h = 0; h < 65536; h += 64) __wasm_f16_row_to_f32(all + h, row + h, 64);
        } else {
            __wasm_f16_row_to_f32(all, row, 65536);
        }
        for (uint32_t h = 0; h < 65536; h++) {
            const float ref = ggml_compute_fp16_to_fp32(all[h]);
            const int same = bits(row[h]) == bits(ref) || (row[h] != row[h] && ref != ref);
            if (!same && bad++ < 15) printf("row f16->f32 %04x: simd %08x, ref %08x\n", h, bits(row[h]), bits(ref));
            checked++;
        }
    }
    // rounding to f16 precision, one vector and eight at a time (one lane out of
    // range sends all eight to the full path: mix lanes from far-apart values)
    for (uint64_t u = 0; u < (1ull << 32); ) {
        // every value at f16's normal/subnormal and overflow boundaries, every 3rd
        // in its subnormal range, every 61st elsewhere
        const uint32_t e = (uint32_t) (u >> 23) & 0xff;
        const uint32_t stride = (e == 112 || e == 113 || e == 142 || e == 143) ? 1 : (e >= 101 && e <= 111) ? 3 : 61;
        v128_t x[8];
        uint32_t in[32];
        for (int i = 0; i < 32; i++) {
            uint32_t v = (uint32_t) (u + (uint64_t) i * stride);
            if (i % 8 == 7 && (u >> 5) % 5 == 0) v ^= 0x40000000u;  // a far-away exponent now and then
            if ((v & 0x7f800000u) == 0x7f800000u && (v & 0x007fffffu)) v &= ~0x007fffffu;  // no NaNs
            in[i] = v;
        }
        for (int k = 0; k < 8; k++) x[k] = wasm_v128_load(in + 4 * k);
        v128_t one = x[0];
        __wasm_f32x4_round_to_f16_n(x, 8);
        __wasm_f32x4_round_to_f16_n(&one, 1);
        float out[32], out1[4];
        for (int k = 0; k < 8; k++) wasm_v128_store(out + 4 * k, x[k]);
        wasm_v128_store(out1, one);
        for (int i = 0; i < 32; i++) {
            const float ref = ggml_compute_fp16_to_fp32(ggml_compute_fp32_to_fp16(from_bits(in[i])));
            if (bits(out[i]) != bits(ref) && bad++ < 20) printf("round %08x: simd %08x, ref %08x\n", in[i], bits(out[i]), bits(ref));
            if (i < 4 && bits(out1[i]) != bits(ref) && bad++ < 20) printf("round1 %08x: simd %08x, ref %08x\n", in[i], bits(out1[i]), bits(ref));
            checked++;
        }
        u += 32 * (uint64_t) stride;
    }
    printf("checked %ld conversions, %ld mismatches\n", checked, bad);
    return bad ? 1 : 0;
}
