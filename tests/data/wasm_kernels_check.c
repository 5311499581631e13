// Checks the wasm matrix and attention kernels of whisper/patches (0002, 0005, 0007,
// 0008, 0010, 0011) through ggml's public API, in a wasm32-wasi module linked with
// the wasm build's libggml.a (tests/test_whisper_simd.py builds and runs it):
// * q8_0 and q5_1 mul_mat: every element bit for bit equal to the type's own
//   vec_dot on the same quantized rows (what the patches promise);
// * f16 mul_mat: within float rounding of a double-precision product of the same
//   f16 values (the patches sum in another order than ggml's vec_dot_f16);
// * flash attention with f16 K/V, with and without a mask that hides keys: within
//   f16 accumulation error of a double-precision softmax(QK^T)V.
// Shapes include row and column counts that are not multiples of the 4/16/64 blocks.
// Prints one line per case and exits with status 1 if any case fails.
#include "ggml.h"
#include "ggml-cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uniform.h"  // bench/whisper: the inputs both kernel programs use

static struct ggml_context * new_context(void) {
    struct ggml_init_params params = { .mem_size = (size_t) 256 << 20, .mem_buffer = NULL, .no_alloc = false };
    return ggml_init(params);
}

static int failures = 0;

static void report(const char * what, long bad, long total, double worst) {
    printf("%-44s %s (%ld/%ld off, worst %.3g)\n", what, bad ? "FAILED" : "ok", bad, total, worst);
    failures += bad != 0;
}

// src0 (rows x k, of `type`) times src1 (cols x k, f32): result (cols x rows)
static float * mul_mat(enum ggml_type type, const float * a, const float * b, int k, int rows, int cols,
                       void ** a_data, void ** b_quant) {
    struct ggml_context * ctx = new_context();
    struct ggml_tensor * A = ggml_new_tensor_2d(ctx, type, k, rows);
    struct ggml_tensor * B = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, cols);
    ggml_quantize_chunk(type, a, A->data, 0, rows, k, NULL);
    memcpy(B->data, b, sizeof(float) * (size_t) k * cols);
    struct ggml_tensor * C = ggml_mul_mat(ctx, A, B);
    struct ggml_cgraph * graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, C);
    if (ggml_graph_compute_with_ctx(ctx, graph, 1) != GGML_STATUS_SUCCESS) {
        printf("graph compute failed\n");
        exit(2);
    }
    float * out = malloc(sizeof(float) * (size_t) rows * cols);
    memcpy(out, C->data, sizeof(float) * (size_t) rows * cols);
    // the quantized src0 rows and src1 rows in vec_dot_type, for the reference
    *a_data = malloc(ggml_nbytes(A));
    memcpy(*a_data, A->data, ggml_nbytes(A));
    const enum ggml_type vec_dot_type = ggml_get_type_traits_cpu(type)->vec_dot_type;
    const size_t row = ggml_row_size(vec_dot_type, k);
    *b_quant = malloc(row * cols);
    for (int c = 0; c < cols; c++) {
        ggml_get_type_traits_cpu(vec_dot_type)->from_float(b + (size_t) c * k, (char *) *b_quant + row * c, k);
    }
    ggml_free(ctx);
    return out;
}

static void check_quantized(enum ggml_type type, int k, int rows, int cols) {
    float * a = malloc(sizeof(float) * (size_t) k * rows);
    float * b = malloc(sizeof(float) * (size_t) k * cols);
    for (long i = 0; i < (long) k * rows; i++) a[i] = uniform();
    for (long i = 0; i < (long) k * cols; i++) b[i] = uniform();
    void * aq;
    void * bq;
    float * got = mul_mat(type, a, b, k, rows, cols, &aq, &bq);
    const struct ggml_type_traits_cpu * traits = ggml_get_type_traits_cpu(type);
    const size_t arow = ggml_row_size(type, k);
    const size_t brow = ggml_row_size(traits->vec_dot_type, k);
    long bad = 0;
    double worst = 0;
    for (int c = 0; c < cols; c++) {
        for (int r = 0; r < rows; r++) {
            float want;
            traits->vec_dot(k, &want, 0, (char *) aq + arow * r, 0, (char *) bq + brow * c, 0, 1);
            const float have = got[(size_t) c * rows + r];
            if (memcmp(&want, &have, sizeof want) != 0) {
                bad++;
                worst = fmax(worst, fabs((double) want - have));
            }
        }
    }
    char what[96];
    snprintf(what, sizeof what, "mul_mat %s k=%d rows=%d cols=%d (bit-exact)", ggml_type_name(type), k, rows, cols);
    report(what, bad, (long) rows * cols, worst);
    free(a); free(b); free(aq); free(bq); free(got);
}

static void check_f16(int k, int rows, int cols) {
    float * a = malloc(sizeof(float) * (size_t) k * rows);
    float * b = malloc(sizeof(float) * (size_t) k * cols);
    for (long i = 0; i < (long) k * rows; i++) a[i] = uniform();
    for (long i = 0; i < (long) k * cols; i++) b[i] = uniform();
    void * aq;
    void * bq;  // src1 rounded to f16, as the kernel multiplies it
    float * got = mul_mat(GGML_TYPE_F16, a, b, k, rows, cols, &aq, &bq);
    long bad = 0;
    double worst = 0;
    for (int c = 0; c < cols; c++) {
        for (int r = 0; r < rows; r++) {
            double want = 0, scale = 0;
            for (int i = 0; i < k; i++) {
                const double x = ggml_fp16_to_fp32(((ggml_fp16_t *) aq)[(size_t) r * k + i]);
                const double y = ggml_fp16_to_fp32(((ggml_fp16_t *) bq)[(size_t) c * k + i]);
                want += x * y;
                scale += fabs(x * y);
            }
            const double err = fabs(got[(size_t) c * rows + r] - want) / (scale + 1e-30);
            worst = fmax(worst, err);
            bad += err > 1e-6;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "mul_mat f16 k=%d rows=%d cols=%d", k, rows, cols);
    report(what, bad, (long) rows * cols, worst);
    free(a); free(b); free(aq); free(bq); free(got);
}

// attention of n_q queries over n_kv keys, per head; every 3rd key masked if `masked`
static void check_flash_attn(int d, int n_kv, int n_q, int n_head, int masked) {
    struct ggml_context * ctx = new_context();
    struct ggml_tensor * q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, d, n_q, n_head);
    struct ggml_tensor * k = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, d, n_kv, n_head);
    struct ggml_tensor * v = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, d, n_kv, n_head);
    struct ggml_tensor * mask = NULL;
    float * qf = q->data;
    ggml_fp16_t * kh = k->data;
    ggml_fp16_t * vh = v->data;
    for (long i = 0; i < (long) d * n_q * n_head; i++) qf[i] = 2.0f * uniform();
    for (long i = 0; i < (long) d * n_kv * n_head; i++) kh[i] = ggml_fp32_to_fp16(uniform());
    for (long i = 0; i < (long) d * n_kv * n_head; i++) vh[i] = ggml_fp32_to_fp16(uniform());
    if (masked) {
        mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, n_kv, n_q);
        ggml_fp16_t * m = mask->data;
        for (int i = 0; i < n_q; i++) {
            for (int j = 0; j < n_kv; j++) {
                m[(size_t) i * n_kv + j] = ggml_fp32_to_fp16(j % 3 == 1 ? -INFINITY : 0.0f);
            }
        }
    }
    const float scale = 1.0f / sqrtf((float) d);
    struct ggml_tensor * out = ggml_flash_attn_ext(ctx, q, k, v, mask, scale, 0.0f, 0.0f);
    struct ggml_cgraph * graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, out);
    if (ggml_graph_compute_with_ctx(ctx, graph, 1) != GGML_STATUS_SUCCESS) {
        printf("graph compute failed\n");
        exit(2);
    }
    const float * res = out->data;  // [d, n_head, n_q]
    long bad = 0;
    double worst = 0;
    double * s = malloc(sizeof(double) * n_kv);
    for (int h = 0; h < n_head; h++) {
        for (int i = 0; i < n_q; i++) {
            double max = -INFINITY;
            for (int j = 0; j < n_kv; j++) {
                double dot = 0;
                for (int e = 0; e < d; e++) {
                    // the kernel rounds Q to f16 (the K type) before the dot product
                    const double qe = ggml_fp16_to_fp32(ggml_fp32_to_fp16(qf[((size_t) h * n_q + i) * d + e]));
                    dot += qe * ggml_fp16_to_fp32(kh[((size_t) h * n_kv + j) * d + e]);
                }
                s[j] = masked && j % 3 == 1 ? -INFINITY : dot * scale;
                max = fmax(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j < n_kv; j++) {
                s[j] = exp(s[j] - max);
                sum += s[j];
            }
            for (int e = 0; e < d; e++) {
                double want = 0;
                for (int j = 0; j < n_kv; j++) {
                    want += s[j] / sum * ggml_fp16_to_fp32(vh[((size_t) h * n_kv + j) * d + e]);
                }
                // V is accumulated in f16 (as natively): error grows with the key count
                const double err = fabs(res[((size_t) i * n_head + h) * d + e] - want);
                worst = fmax(worst, err);
                bad += err > 2e-3;
            }
        }
    }
    char what[96];
    snprintf(what, sizeof what, "flash_attn f16 d=%d kv=%d q=%d heads=%d%s", d, n_kv, n_q, n_head, masked ? " masked" : "");
    report(what, bad, (long) d * n_q * n_head, worst);
    free(s);
    ggml_free(ctx);
}

int main(void) {
    ggml_cpu_init();
    static const int shapes[][3] = {  // k, rows, cols
        { 384, 200, 5 }, { 384, 51, 70 }, { 96, 16, 130 }, { 384, 64, 1 }, { 1536, 37, 9 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check_quantized(GGML_TYPE_Q8_0, shapes[i][0], shapes[i][1], shapes[i][2]);
        check_quantized(GGML_TYPE_Q5_1, shapes[i][0], shapes[i][1], shapes[i][2]);
        check_f16(shapes[i][0], shapes[i][1], shapes[i][2]);
    }
    check_flash_attn(64, 1500, 5, 2, 0);
    check_flash_attn(64, 37, 5, 2, 1);
    check_flash_attn(64, 200, 3, 1, 1);
    check_flash_attn(64, 100, 70, 2, 0);  // many queries: the encoder's tiled path
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
