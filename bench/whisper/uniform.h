// The inputs of ggml's kernel programs: bench/whisper/mul_mat_bench.c (whisper_bench's
// "kernels" section) and tests/data/wasm_kernels_check.c (tests/test_whisper_simd.py).
// A fixed xorshift32 sequence, so every build and every run multiplies the same values.
#pragma once

#include <stdint.h>

static uint32_t rng_state = 2463534242u;

static float uniform(void) {  // [-1, 1)
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float) ((double) rng_state / 2147483648.0 - 1.0);
}
