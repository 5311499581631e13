// ggml's mul_mat alone, in tiny.en's shapes, timed in-process (whisper_bench's "kernels"
// section builds it natively against the native libggml and for wasm32-wasi against
// both wasm archives, SIMD128 and relaxed SIMD). Whole transcriptions on a shared VM
// vary by 10-20 % run to run; the fastest of many calls of one product varies far less.
// Prints one JSON object per line: type, k, rows, cols, best_ms, checksum.
#include "ggml.h"
#include "ggml-cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uniform.h"  // bench/whisper: the inputs both kernel programs use

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

// src0 (rows x k, of `type`) times src1 (cols x k, f32), the fastest of `calls`
static int bench(enum ggml_type type, int k, int rows, int cols, int calls) {
    struct ggml_init_params params = { .mem_size = (size_t) 512 << 20, .mem_buffer = NULL, .no_alloc = false };
    struct ggml_context * ctx = ggml_init(params);
    if (!ctx) {
        fprintf(stderr, "ggml_init failed\n");
        return 1;
    }
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, type, k, rows);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, cols);
    float * values = malloc(sizeof(float) * (size_t) k * rows);
    for (size_t i = 0; i < (size_t) k * rows; i++) {
        values[i] = uniform();
    }
    ggml_quantize_chunk(type, values, a->data, 0, rows, k, NULL);
    free(values);
    float * bv = (float *) b->data;
    for (size_t i = 0; i < (size_t) k * cols; i++) {
        bv[i] = uniform();
    }
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b);
    struct ggml_cgraph * graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, c);
    double best = 1e30;
    for (int i = 0; i < calls; i++) {
        const double t0 = seconds();
        if (ggml_graph_compute_with_ctx(ctx, graph, 1) != GGML_STATUS_SUCCESS) {
            fprintf(stderr, "graph compute failed\n");
            return 1;
        }
        const double t = seconds() - t0;
        best = t < best ? t : best;
    }
    double checksum = 0.0;
    for (size_t i = 0; i < (size_t) rows * cols; i++) {
        checksum += ((const float *) c->data)[i];
    }
    printf("{\"type\": \"%s\", \"k\": %d, \"rows\": %d, \"cols\": %d, \"best_ms\": %.4f, \"checksum\": %.9g}\n",
           ggml_type_name(type), k, rows, cols, best * 1e3, checksum);
    ggml_free(ctx);
    return 0;
}

int main(void) {
    // tiny.en: the encoder's MLP (384 -> 1536 -> 384) and projections over 1500 frames, and
    // the decoder's MLP and vocabulary (51864) projection for 5 beams
    static const int shapes[][4] = {  // k, rows, cols, calls
        { 384, 1536, 1500, 12 }, { 1536, 384, 1500, 12 }, { 384, 384, 1500, 20 },
        { 384, 1536, 5, 200 },   { 384, 51864, 5, 12 },
    };
    static const enum ggml_type types[] = { GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q5_1 };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            if (bench(types[t], shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]) != 0) {
                return 1;
            }
        }
    }
    return 0;
}
