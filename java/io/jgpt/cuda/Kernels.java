// GENERATED from kernels/*.cu by tests/io/jgpt/cuda/KernelBindingsGenerator.java; do not edit.
// After changing a kernel signature, from the repository root: java tests/io/jgpt/cuda/KernelBindingsGenerator.java
package io.jgpt.cuda;

import io.jgpt.tensor.Tensor.DType;
import jcuda.driver.CUdeviceptr;

/**
 * One typed launch method per {@code extern "C"} kernel in kernels/*.cu: a wrong argument count, order or
 * size does not compile. A pointer is a {@code CUdeviceptr} (null passes a null pointer); C {@code int} is
 * {@code int}; {@code size_t} and {@code unsigned long long} are {@code long}; {@code float} is {@code float}.
 * A kernel templated on its storage type has one method taking the {@link DType} of the instantiation.
 */
final class Kernels {

    private final KernelLauncher launcher;

    Kernels(KernelLauncher launcher) {
        this.launcher = launcher;
    }

    /**
     * kernels/argmax.cu: {@code argmax_rows(int* out, const float* logits, int N, int V)}
     */
    void argmaxRows(Launch launch, CUdeviceptr out, CUdeviceptr logits, int N, int V) {
        launcher.launch("argmax_rows", launch, new KernelArgs(4).ptr(out).ptr(logits).i32(N).i32(V));
    }

    /**
     * kernels/attention_cached.cu: {@code kv_cache_write(float* kCache, float* vCache, const float* qkv, const int*
     * positions, int B, int Tn, int NH, int hs, int L, int maxKeys)}
     */
    void kvCacheWrite(Launch launch, CUdeviceptr kCache, CUdeviceptr vCache, CUdeviceptr qkv, CUdeviceptr positions,
                int B, int Tn, int NH, int hs, int L, int maxKeys) {
        launcher.launch("kv_cache_write", launch, new KernelArgs(10).ptr(kCache).ptr(vCache).ptr(qkv).ptr(positions)
                .i32(B).i32(Tn).i32(NH).i32(hs).i32(L).i32(maxKeys));
    }

    /**
     * kernels/attention_cached.cu: {@code attention_cached(float* out, const float* qkv, const float* kCache, const
     * float* vCache, const void* mask, int maskIsInt, int maskT, const int* positions, int B, int Tn, int NH, int hs,
     * int L, float scale)}
     */
    void attentionCached(Launch launch, CUdeviceptr out, CUdeviceptr qkv, CUdeviceptr kCache, CUdeviceptr vCache,
                CUdeviceptr mask, int maskIsInt, int maskT, CUdeviceptr positions, int B, int Tn, int NH, int hs, int L,
                float scale) {
        launcher.launch("attention_cached", launch, new KernelArgs(14).ptr(out).ptr(qkv).ptr(kCache).ptr(vCache)
                .ptr(mask).i32(maskIsInt).i32(maskT).ptr(positions).i32(B).i32(Tn).i32(NH).i32(hs).i32(L).f32(scale));
    }

    /**
     * kernels/bf16.cu: {@code bf16_narrow(__nv_bfloat16* out, const float* in, size_t n)}
     */
    void bf16Narrow(Launch launch, CUdeviceptr out, CUdeviceptr in, long n) {
        launcher.launch("bf16_narrow", launch, new KernelArgs(3).ptr(out).ptr(in).i64(n));
    }

    /**
     * kernels/bias.cu: {@code bias_add_<storage>(float* out, const float* bias, int N, int OC)}
     */
    void biasAdd(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr bias, int N, int OC) {
        String kernel = switch (storage) {
            case F32 -> "bias_add_f32";
            case BF16 -> "bias_add_bf16";
            default -> throw noInstantiation("bias_add", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(4).ptr(out).ptr(bias).i32(N).i32(OC));
    }

    /**
     * kernels/bias.cu: {@code column_sum_accumulate_<storage>(float* sums, const float* in, int N, int C)}
     */
    void columnSumAccumulate(DType storage, Launch launch, CUdeviceptr sums, CUdeviceptr in, int N, int C) {
        String kernel = switch (storage) {
            case F32 -> "column_sum_accumulate_f32";
            case BF16 -> "column_sum_accumulate_bf16";
            default -> throw noInstantiation("column_sum_accumulate", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(4).ptr(sums).ptr(in).i32(N).i32(C));
    }

    /**
     * kernels/classifier.cu: {@code cross_entropy_forward_backward_<storage>(float* losses, float* dlogits, const
     * float* logits, const int* targets, int N, int V, float dlossScale, int* err)}
     */
    void crossEntropyForwardBackward(DType storage, Launch launch, CUdeviceptr losses, CUdeviceptr dlogits,
                CUdeviceptr logits, CUdeviceptr targets, int N, int V, float dlossScale, CUdeviceptr err) {
        String kernel = switch (storage) {
            case F32 -> "cross_entropy_forward_backward_f32";
            case BF16 -> "cross_entropy_forward_backward_bf16";
            default -> throw noInstantiation("cross_entropy_forward_backward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(8).ptr(losses).ptr(dlogits).ptr(logits).ptr(targets).i32(N)
                .i32(V).f32(dlossScale).ptr(err));
    }

    /**
     * kernels/dropout.cu: {@code dropout_forward_<storage>(float* out, const float* in, size_t n, const unsigned long
     * long* dropKey, int threshold, float scale)}
     */
    void dropoutForward(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr in, long n, CUdeviceptr dropKey,
                int threshold, float scale) {
        String kernel = switch (storage) {
            case F32 -> "dropout_forward_f32";
            case BF16 -> "dropout_forward_bf16";
            default -> throw noInstantiation("dropout_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(6).ptr(out).ptr(in).i64(n).ptr(dropKey).i32(threshold)
                .f32(scale));
    }

    /**
     * kernels/dropout.cu: {@code dropout_backward_<storage>(float* din, const float* dout, size_t n, const unsigned
     * long long* dropKey, int threshold, float scale)}
     */
    void dropoutBackward(DType storage, Launch launch, CUdeviceptr din, CUdeviceptr dout, long n, CUdeviceptr dropKey,
                int threshold, float scale) {
        String kernel = switch (storage) {
            case F32 -> "dropout_backward_f32";
            case BF16 -> "dropout_backward_bf16";
            default -> throw noInstantiation("dropout_backward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(6).ptr(din).ptr(dout).i64(n).ptr(dropKey).i32(threshold)
                .f32(scale));
    }

    /**
     * kernels/encoder.cu: {@code embedding_forward_<storage>(float* out, const int* tokens, const float* wte, const
     * float* wpe, int BT, int T, int C, int V, int* err)}
     */
    void embeddingForward(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr tokens, CUdeviceptr wte,
                CUdeviceptr wpe, int BT, int T, int C, int V, CUdeviceptr err) {
        String kernel = switch (storage) {
            case F32 -> "embedding_forward_f32";
            case BF16 -> "embedding_forward_bf16";
            default -> throw noInstantiation("embedding_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(9).ptr(out).ptr(tokens).ptr(wte).ptr(wpe).i32(BT).i32(T).i32(C)
                .i32(V).ptr(err));
    }

    /**
     * kernels/encoder.cu: {@code embedding_backward_wte_<storage>(float* dwte, const float* dout, const int* tokens,
     * int BT, int C, int V)}
     */
    void embeddingBackwardWte(DType storage, Launch launch, CUdeviceptr dwte, CUdeviceptr dout, CUdeviceptr tokens,
                int BT, int C, int V) {
        String kernel = switch (storage) {
            case F32 -> "embedding_backward_wte_f32";
            case BF16 -> "embedding_backward_wte_bf16";
            default -> throw noInstantiation("embedding_backward_wte", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(6).ptr(dwte).ptr(dout).ptr(tokens).i32(BT).i32(C).i32(V));
    }

    /**
     * kernels/encoder.cu: {@code embedding_backward_wpe_<storage>(float* dwpe, const float* dout, int B, int T, int C)}
     */
    void embeddingBackwardWpe(DType storage, Launch launch, CUdeviceptr dwpe, CUdeviceptr dout, int B, int T, int C) {
        String kernel = switch (storage) {
            case F32 -> "embedding_backward_wpe_f32";
            case BF16 -> "embedding_backward_wpe_bf16";
            default -> throw noInstantiation("embedding_backward_wpe", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(5).ptr(dwpe).ptr(dout).i32(B).i32(T).i32(C));
    }

    /**
     * kernels/flash_attention_backward.cu: {@code flash_attention_backward_delta_<storage>(float* delta, const float*
     * dout, const float* out, int B, int T, int NH, int hs)}
     */
    void flashAttentionBackwardDelta(DType storage, Launch launch, CUdeviceptr delta, CUdeviceptr dout, CUdeviceptr out,
                int B, int T, int NH, int hs) {
        String kernel = switch (storage) {
            case F32 -> "flash_attention_backward_delta_f32";
            case BF16 -> "flash_attention_backward_delta_bf16";
            default -> throw noInstantiation("flash_attention_backward_delta", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(7).ptr(delta).ptr(dout).ptr(out).i32(B).i32(T).i32(NH).i32(hs));
    }

    /**
     * kernels/flash_attention_backward.cu: {@code flash_attention_backward_dkdv_<storage>(float* dqkv, const float*
     * dout, const float* qkv, const float* lse, const float* delta, int B, int T, int NH, int hs, float scale, const
     * unsigned long long* dropKey, int threshold, float dropScale)}
     */
    void flashAttentionBackwardDkdv(DType storage, Launch launch, CUdeviceptr dqkv, CUdeviceptr dout, CUdeviceptr qkv,
                CUdeviceptr lse, CUdeviceptr delta, int B, int T, int NH, int hs, float scale, CUdeviceptr dropKey,
                int threshold, float dropScale) {
        String kernel = switch (storage) {
            case F32 -> "flash_attention_backward_dkdv_f32";
            case BF16 -> "flash_attention_backward_dkdv_bf16";
            default -> throw noInstantiation("flash_attention_backward_dkdv", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(13).ptr(dqkv).ptr(dout).ptr(qkv).ptr(lse).ptr(delta).i32(B)
                .i32(T).i32(NH).i32(hs).f32(scale).ptr(dropKey).i32(threshold).f32(dropScale));
    }

    /**
     * kernels/flash_attention_backward.cu: {@code flash_attention_backward_dq_<storage>(float* dqkv, const float* dout,
     * const float* qkv, const float* lse, const float* delta, int B, int T, int NH, int hs, float scale, const unsigned
     * long long* dropKey, int threshold, float dropScale)}
     */
    void flashAttentionBackwardDq(DType storage, Launch launch, CUdeviceptr dqkv, CUdeviceptr dout, CUdeviceptr qkv,
                CUdeviceptr lse, CUdeviceptr delta, int B, int T, int NH, int hs, float scale, CUdeviceptr dropKey,
                int threshold, float dropScale) {
        String kernel = switch (storage) {
            case F32 -> "flash_attention_backward_dq_f32";
            case BF16 -> "flash_attention_backward_dq_bf16";
            default -> throw noInstantiation("flash_attention_backward_dq", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(13).ptr(dqkv).ptr(dout).ptr(qkv).ptr(lse).ptr(delta).i32(B)
                .i32(T).i32(NH).i32(hs).f32(scale).ptr(dropKey).i32(threshold).f32(dropScale));
    }

    /**
     * kernels/flash_attention_forward.cu: {@code flash_attention_forward_<storage>(float* out, float* lse, const float*
     * qkv, int B, int T, int NH, int hs, float scale, const unsigned long long* dropKey, int threshold, float
     * dropScale)}
     */
    void flashAttentionForward(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr lse, CUdeviceptr qkv, int B,
                int T, int NH, int hs, float scale, CUdeviceptr dropKey, int threshold, float dropScale) {
        String kernel = switch (storage) {
            case F32 -> "flash_attention_forward_f32";
            case BF16 -> "flash_attention_forward_bf16";
            default -> throw noInstantiation("flash_attention_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(11).ptr(out).ptr(lse).ptr(qkv).i32(B).i32(T).i32(NH).i32(hs)
                .f32(scale).ptr(dropKey).i32(threshold).f32(dropScale));
    }

    /**
     * kernels/gelu.cu: {@code gelu_forward_<storage>(float* out, const float* in, size_t n)}
     */
    void geluForward(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr in, long n) {
        String kernel = switch (storage) {
            case F32 -> "gelu_forward_f32";
            case BF16 -> "gelu_forward_bf16";
            default -> throw noInstantiation("gelu_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(3).ptr(out).ptr(in).i64(n));
    }

    /**
     * kernels/gelu.cu: {@code gelu_backward_<storage>(float* din, const float* dout, const float* in, size_t n)}
     */
    void geluBackward(DType storage, Launch launch, CUdeviceptr din, CUdeviceptr dout, CUdeviceptr in, long n) {
        String kernel = switch (storage) {
            case F32 -> "gelu_backward_f32";
            case BF16 -> "gelu_backward_bf16";
            default -> throw noInstantiation("gelu_backward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(4).ptr(din).ptr(dout).ptr(in).i64(n));
    }

    /**
     * kernels/gelu.cu: {@code gelu_grad_scale_<storage>(float* d, const float* pre, size_t n)}
     */
    void geluGradScale(DType storage, Launch launch, CUdeviceptr d, CUdeviceptr pre, long n) {
        String kernel = switch (storage) {
            case F32 -> "gelu_grad_scale_f32";
            case BF16 -> "gelu_grad_scale_bf16";
            default -> throw noInstantiation("gelu_grad_scale", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(3).ptr(d).ptr(pre).i64(n));
    }

    /**
     * kernels/layernorm.cu: {@code layernorm_params_reduce(float* dweight, float* dbias, const float* partials, int
     * groups, int C)}
     */
    void layernormParamsReduce(Launch launch, CUdeviceptr dweight, CUdeviceptr dbias, CUdeviceptr partials, int groups,
                int C) {
        launcher.launch("layernorm_params_reduce", launch, new KernelArgs(5).ptr(dweight).ptr(dbias).ptr(partials)
                .i32(groups).i32(C));
    }

    /**
     * kernels/layernorm.cu: {@code layernorm_forward_<storage>(float* out, float* mean, float* rstd, const float* in,
     * const float* weight, const float* bias, int N, int C)}
     */
    void layernormForward(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr mean, CUdeviceptr rstd,
                CUdeviceptr in, CUdeviceptr weight, CUdeviceptr bias, int N, int C) {
        String kernel = switch (storage) {
            case F32 -> "layernorm_forward_f32";
            case BF16 -> "layernorm_forward_bf16";
            default -> throw noInstantiation("layernorm_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(8).ptr(out).ptr(mean).ptr(rstd).ptr(in).ptr(weight).ptr(bias)
                .i32(N).i32(C));
    }

    /**
     * kernels/layernorm.cu: {@code layernorm_backward_input_<storage>(float* din, const float* dout, const float* in,
     * const float* weight, const float* mean, const float* rstd, int N, int C)}
     */
    void layernormBackwardInput(DType storage, Launch launch, CUdeviceptr din, CUdeviceptr dout, CUdeviceptr in,
                CUdeviceptr weight, CUdeviceptr mean, CUdeviceptr rstd, int N, int C) {
        String kernel = switch (storage) {
            case F32 -> "layernorm_backward_input_f32";
            case BF16 -> "layernorm_backward_input_bf16";
            default -> throw noInstantiation("layernorm_backward_input", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(8).ptr(din).ptr(dout).ptr(in).ptr(weight).ptr(mean).ptr(rstd)
                .i32(N).i32(C));
    }

    /**
     * kernels/layernorm.cu: {@code layernorm_backward_params_<storage>(float* partials, const float* dout, const float*
     * in, const float* mean, const float* rstd, int N, int C, int rows)}
     */
    void layernormBackwardParams(DType storage, Launch launch, CUdeviceptr partials, CUdeviceptr dout, CUdeviceptr in,
                CUdeviceptr mean, CUdeviceptr rstd, int N, int C, int rows) {
        String kernel = switch (storage) {
            case F32 -> "layernorm_backward_params_f32";
            case BF16 -> "layernorm_backward_params_bf16";
            default -> throw noInstantiation("layernorm_backward_params", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(8).ptr(partials).ptr(dout).ptr(in).ptr(mean).ptr(rstd).i32(N)
                .i32(C).i32(rows));
    }

    /**
     * kernels/layernorm.cu: {@code residual_layernorm_forward_<storage>(float* sum, float* out, float* mean, float*
     * rstd, const float* x, const float* branch, const float* weight, const float* bias, int N, int C)}
     */
    void residualLayernormForward(DType storage, Launch launch, CUdeviceptr sum, CUdeviceptr out, CUdeviceptr mean,
                CUdeviceptr rstd, CUdeviceptr x, CUdeviceptr branch, CUdeviceptr weight, CUdeviceptr bias, int N,
                int C) {
        String kernel = switch (storage) {
            case F32 -> "residual_layernorm_forward_f32";
            case BF16 -> "residual_layernorm_forward_bf16";
            default -> throw noInstantiation("residual_layernorm_forward", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(10).ptr(sum).ptr(out).ptr(mean).ptr(rstd).ptr(x).ptr(branch)
                .ptr(weight).ptr(bias).i32(N).i32(C));
    }

    /**
     * kernels/norm.cu: {@code sum_partials(double* out, const double* partials, int n)}
     */
    void sumPartials(Launch launch, CUdeviceptr out, CUdeviceptr partials, int n) {
        launcher.launch("sum_partials", launch, new KernelArgs(3).ptr(out).ptr(partials).i32(n));
    }

    /**
     * kernels/norm.cu: {@code sum_squares_partial_<storage>(double* partials, const float* x, size_t n)}
     */
    void sumSquaresPartial(DType storage, Launch launch, CUdeviceptr partials, CUdeviceptr x, long n) {
        String kernel = switch (storage) {
            case F32 -> "sum_squares_partial_f32";
            case BF16 -> "sum_squares_partial_bf16";
            default -> throw noInstantiation("sum_squares_partial", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(3).ptr(partials).ptr(x).i64(n));
    }

    /**
     * kernels/optimizer.cu: {@code loss_accumulate(float* state, const float* losses, int n, float scale)}
     */
    void lossAccumulate(Launch launch, CUdeviceptr state, CUdeviceptr losses, int n, float scale) {
        launcher.launch("loss_accumulate", launch, new KernelArgs(4).ptr(state).ptr(losses).i32(n).f32(scale));
    }

    /**
     * kernels/optimizer.cu: {@code chunk_sum_squares(double* partials, const float* x, const int* chunks)}
     */
    void chunkSumSquares(Launch launch, CUdeviceptr partials, CUdeviceptr x, CUdeviceptr chunks) {
        launcher.launch("chunk_sum_squares", launch, new KernelArgs(3).ptr(partials).ptr(x).ptr(chunks));
    }

    /**
     * kernels/optimizer.cu: {@code step_decision(float* state, const double* partials, int chunks, float maxNorm)}
     */
    void stepDecision(Launch launch, CUdeviceptr state, CUdeviceptr partials, int chunks, float maxNorm) {
        launcher.launch("step_decision", launch, new KernelArgs(4).ptr(state).ptr(partials).i32(chunks).f32(maxNorm));
    }

    /**
     * kernels/optimizer.cu: {@code adamw_arena(float* param, __nv_bfloat16* copy, float* grad, float* m, float* v,
     * const int* chunks, const float* state, float beta1, float beta2, float eps, float weightDecay, int zeroGrad)}
     */
    void adamwArena(Launch launch, CUdeviceptr param, CUdeviceptr copy, CUdeviceptr grad, CUdeviceptr m, CUdeviceptr v,
                CUdeviceptr chunks, CUdeviceptr state, float beta1, float beta2, float eps, float weightDecay,
                int zeroGrad) {
        launcher.launch("adamw_arena", launch, new KernelArgs(12).ptr(param).ptr(copy).ptr(grad).ptr(m).ptr(v)
                .ptr(chunks).ptr(state).f32(beta1).f32(beta2).f32(eps).f32(weightDecay).i32(zeroGrad));
    }

    /**
     * kernels/residual.cu: {@code residual_add_<storage>(float* out, const float* a, const float* b, size_t n)}
     */
    void residualAdd(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr a, CUdeviceptr b, long n) {
        String kernel = switch (storage) {
            case F32 -> "residual_add_f32";
            case BF16 -> "residual_add_bf16";
            default -> throw noInstantiation("residual_add", storage);
        };
        launcher.launch(kernel, launch, new KernelArgs(4).ptr(out).ptr(a).ptr(b).i64(n));
    }

    private static IllegalArgumentException noInstantiation(String kernel, DType storage) {
        return new IllegalArgumentException("kernel " + kernel + " has no " + storage + " instantiation");
    }
}
