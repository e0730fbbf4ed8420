package io.jgpt.ops;

import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * The seam between the model and the hardware: every numeric operation GPT-2 training needs, forward and
 * backward. The model holds only {@link Tensor}s made by its backend and calls these methods; the CPU
 * backend is the reference, the CUDA backend must match it.
 *
 * <p>Conventions, shared by every backend:
 * <ul>
 *   <li>Row-major tensors. {@code B} batch, {@code T} time, {@code C} channels, {@code V} vocabulary,
 *       {@code NH} heads; {@code N} is a row count (often B*T). Shapes are taken from the tensors.</li>
 *   <li>Linear weights are (out, in) as in PyTorch's {@code nn.Linear}.</li>
 *   <li><b>Every backward accumulates</b> ({@code +=}) into its gradient outputs, input gradients
 *       included, so residual branches simply add up. Callers zero gradients before a backward pass. Two
 *       outputs are overwritten instead, as their methods say: crossEntropy's dlogits and
 *       linearBackwardThroughGelu's dpreact.</li>
 *   <li>Nullable arguments are marked; everything else must be non-null and shape-checked.</li>
 * </ul>
 */
public interface Ops extends AutoCloseable {

    /** "cpu" or "cuda:0" and so on. */
    String name();

    // ---- memory -------------------------------------------------------------------------------------
    // The element type is a property of the tensor (Tensor.DType). Host data is a float[] for the floating
    // types (F32; BF16 rounds to nearest even on the way in and widens exactly on the way out) and an int[]
    // for I32, so the dtype is an argument only where the host array does not already say it.

    /**
     * The element type a model on this backend stores its activations and activation gradients in: F32, or BF16
     * on a GPU running {@code --precision bf16} (the model then also keeps a bf16 copy of its weights for the
     * products to read). The CPU's bf16 mode answers F32: it stores floats and rounds them where the GPU would.
     */
    default DType activationType() {
        return DType.F32;
    }

    /** A new tensor of this element type, filled with zeros. */
    Tensor zeros(DType dtype, int... shape);

    /** A new tensor of a floating type (F32 or BF16) holding a copy of {@code data}. */
    Tensor upload(DType dtype, float[] data, int... shape);

    /** A new I32 tensor holding a copy of {@code data} (token ids, targets). */
    Tensor upload(int[] data, int... shape);

    /** Copies a floating tensor into {@code dst}, which has exactly its number of elements. */
    void read(Tensor src, float[] dst);

    /**
     * Elements [offset, offset + numel(shape)) of a tensor as a tensor of the given shape, sharing its
     * memory (a parameter inside its arena). Closing a view frees nothing; the view is valid while base is.
     */
    Tensor view(Tensor base, long offset, int... shape);

    /** Copies an I32 tensor into {@code dst}, which has exactly its number of elements. */
    void read(Tensor src, int[] dst);

    /** The element type and shape of a tensor to be allocated. */
    record TensorSpec(DType dtype, int[] shape) {
        public TensorSpec {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }
    }

    /** Tensors allocated together ({@link #zerosTogether}), freed together by {@link #close()}. */
    interface Allocation extends AutoCloseable {
        /** The tensors, in the order of their specs. */
        java.util.List<Tensor> tensors();

        @Override
        void close();
    }

    /**
     * New zero tensors of the given types and shapes that live and die together (a model's activations for one
     * batch shape). The default allocates each on its own (the CPU's kernels index whole arrays, and one Java
     * array holds at most 2^31 elements); a device backend places them in one allocation, every tensor at an
     * aligned offset, so their addresses stay fixed for as long as the allocation lives.
     */
    default Allocation zerosTogether(java.util.List<TensorSpec> specs) {
        java.util.List<Tensor> tensors = new java.util.ArrayList<>(specs.size());
        for (TensorSpec s : specs) tensors.add(zeros(s.dtype(), s.shape()));
        return new Allocation() {
            @Override
            public java.util.List<Tensor> tensors() {
                return java.util.List.copyOf(tensors);
            }

            @Override
            public void close() {
                tensors.forEach(Tensor::close);
            }
        };
    }

    /** The elements of a floating tensor as a new array. */
    default float[] download(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        read(t, out);
        return out;
    }

    /** Overwrites a floating tensor {@code dst} with host data of the same size. */
    void write(Tensor dst, float[] src);

    /** Overwrites an I32 tensor {@code dst} with host data of the same size (token batches). */
    void write(Tensor dst, int[] src);

    void zero(Tensor t);

    /**
     * dst = src, same element count. Same dtype, or narrowing an F32 src into a BF16 dst (round to nearest
     * even, {@link io.jgpt.tensor.Bf16}: how the bf16 copies of fp32 weights are made) where the backend
     * stores BF16.
     */
    void copy(Tensor dst, Tensor src);

    // ---- ops ----------------------------------------------------------------------------------------

    /** out(B,T,C) = wte[tokens[b,t]] + wpe[t]; tokens I32 (B,T), wte (V,C), wpe (maxT,C). */
    void embeddingForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe);

    /** dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += sum_b dout[b,t]. */
    void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens);

    /**
     * LayerNorm over the last dimension with eps 1e-5 and biased variance; saves mean and 1/std per row.
     * out, in (N..,C); mean, rstd (N); weight, bias (C).
     */
    void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias);

    void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight,
                           Tensor mean, Tensor rstd);

    /**
     * The residual connection and the LayerNorm after it, in one pass: sum = x + branch (stored in sum's type),
     * then out, mean, rstd as {@link #layerNormForward} of sum as stored, so the result equals {@link #add}
     * followed by layerNormForward. sum, x, branch, out (N..,C); sum may alias x or branch.
     *
     * <p>Its backward needs no op of its own: the gradient of sum is the residual stream's gradient plus the
     * LayerNorm's input gradient, which is {@link #layerNormBackward} with din = the residual stream's gradient
     * buffer (backwards accumulate), the input being this op's sum.
     */
    void residualLayerNormForward(Tensor sum, Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor branch,
                                  Tensor weight, Tensor bias);

    /** out(N,OC) = in(N,IC) @ weight(OC,IC)^T + bias(OC); bias nullable. */
    void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias);

    /** din += dout @ weight; dweight += dout^T @ in; dbias += column sums of dout. din, dbias nullable. */
    void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight);

    /**
     * A linear layer followed by GELU (the MLP's first projection): preact = in @ weight^T + bias, kept for the
     * backward pass, and out = gelu(preact). In fp32 this is linearForward then geluForward; where the GPU stores
     * bf16, out is the GELU of the product before rounding (cuBLASLt's GELU_AUX_BIAS epilogue), and out and preact
     * are each rounded once. in (N..,IC), weight (OC,IC), bias (OC), out and preact (N..,OC).
     */
    void linearGeluForward(Tensor out, Tensor preact, Tensor in, Tensor weight, Tensor bias);

    /**
     * The input gradient of a linear layer whose input was gelu(preact), carried back through the GELU (the
     * MLP's backward between its two projections): dpreact is <b>overwritten</b> with (dout @ weight) ∘
     * gelu'(preact), computed before any rounding (cuBLASLt's DGELU_BGRAD epilogue on the bf16 path); dbias, the
     * F32 bias gradient of the layer that made preact (nullable), += the column sums of dpreact. dout (N..,OC),
     * weight (OC,IC), preact and dpreact (N..,IC). The weight gradient of this layer is linearBackward's with a
     * null din.
     */
    void linearBackwardThroughGelu(Tensor dpreact, Tensor dbias, Tensor dout, Tensor weight, Tensor preact);

    /**
     * Causal multi-head self-attention core (everything between the QKV projection and the output
     * projection). qkv (B,T,3C) holds q, k, v side by side, each split into NH heads of hs = C/NH; out (B,T,C)
     * receives the heads re-joined. Scores are scaled by 1/sqrt(hs); query t sees keys t2 <= t (causal: the
     * rule the attention module's mask buffer holds), every later key gets probability exactly 0. lse
     * (B,NH,T) receives, for the backward pass, each query row's log-sum-exp of its scaled visible scores —
     * the probability matrix itself is never stored. Dropout on the attention weights uses element index
     * ((b*NH+h)*T+t)*T+t2.
     */
    void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout);

    /**
     * dqkv += gradient of {@link #attentionForward} with respect to qkv, given dout (B,T,C) and the forward's
     * out and lse. The probabilities are recomputed as exp(score - lse); rowsum(dout ∘ out) stands in for
     * rowsum(P ∘ dP).
     */
    void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                           Dropout dropout);

    /**
     * Causal attention for inference with a key/value cache (no dropout, nothing saved for a backward pass).
     * qkv (B,Tn,3C) holds new tokens, packed as in {@link #attentionForward}; positions (B,Tn) I32 gives each
     * one's absolute position p in its sequence b (sequences may be at different positions). Their keys and
     * values are first written into kCache and vCache (B,NH,L,hs), hs = C/NH, at row p of sequence b; then the
     * query at p attends to its sequence's cached positions j in [0, p] with {@code mask[p*M + j] == 0} (mask
     * (M,M), the module's causal-mask buffer): softmax of q.k/sqrt(hs) over those j, weighted sum of their
     * values, heads re-joined into out (B,Tn,C). Requires 0 <= p < min(L, M), and every position a query reads
     * written, by this call or an earlier one. With positions[b][t] = t and Tn = T this equals
     * attentionForward's out.
     *
     * <p>The positions are read on the device, so a recorded graph ({@link #capture}) replays with whatever
     * positions were written before the replay. The host checks them where it can read them (the CPU); a CUDA
     * kernel meeting a position out of range writes no cache row and a zero out row rather than stray memory.
     */
    void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask, Tensor positions, int nHead);

    /**
     * out[r] = the index of the largest logit of row r (logits (N..,V) F32, out I32 of N elements): the lowest
     * index among equals, NaN counting as negative infinity ({@link Argmax}, the rule greedy sampling uses).
     * Decoding picks greedy tokens on the device with it and reads back one id per sequence, not its logits.
     */
    void argmaxRows(Tensor out, Tensor logits);

    /** out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    void geluForward(Tensor out, Tensor in);

    void geluBackward(Tensor din, Tensor dout, Tensor in);

    /** out = a + b (out may alias a or b). */
    void add(Tensor out, Tensor a, Tensor b);

    /** out = in * keep / (1 - p), element index = flat index; a copy when dropout is inactive. */
    void dropoutForward(Tensor out, Tensor in, Dropout dropout);

    void dropoutBackward(Tensor din, Tensor dout, Dropout dropout);

    /**
     * Stages the key table of the dropout sites that follow: a site with {@link Dropout#slot} s uses keys[s],
     * which must equal its own key. On CUDA the table is a queued copy into device memory that the kernels read
     * when they run, so a recorded graph draws the masks of whatever table was staged before its replay; the
     * CPU reads each site's own key, and ignores this.
     */
    default void stageDropoutKeys(long[] keys) {}

    /**
     * Fused softmax + cross-entropy (+ its gradient). logits (N,V), targets I32 (N), losses (N).
     * losses[i] = -log softmax(logits[i])[targets[i]], or 0 where targets[i] == -100 (ignored).
     * When dlogits is non-null it is <b>overwritten</b> with (softmax - onehot) * dlossScale (zero rows for
     * ignored targets); it may be the same tensor as logits. A target outside [0, V) other than -100 is an
     * error.
     */
    void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale);

    /**
     * The output head and its loss over the rows of x in chunks, so that only one chunk's logits exist at a time
     * (GPT-2's full fp32 logits at batch 64 x 1024 would take 13 GB). For each chunk of R rows, R = logits' row
     * count (the last chunk may be shorter): logits = x_chunk @ weight^T ({@link #linearForward}), the chunk's
     * losses by {@link #crossEntropy} (targets -100 ignored) and, when dx is given, dlogits written over the logits,
     * then dx_chunk += dlogits @ weight and dweight += dlogits^T x_chunk ({@link #linearBackward}). With R >= N it
     * is exactly those three ops on the whole batch.
     *
     * <p>x (N..,C); weight (V,C); losses (F32) and targets (I32) of N elements; dx like x and dweight like weight,
     * both or neither (a loss alone, for evaluation); logits (R,V) the work buffer in x's storage type, left holding
     * the last chunk.
     */
    default void classifier(Tensor losses, Tensor dx, Tensor dweight, Tensor x, Tensor weight, Tensor targets,
                            float dlossScale, Tensor logits) {
        var d = OpShapes.classifier("classifier", losses, dx, dweight, x, weight, targets, logits);
        for (int row = 0; row < d.n(); row += d.chunk()) {
            int rows = Math.min(d.chunk(), d.n() - row);
            Tensor chunk = rows == d.chunk() ? logits : view(logits, 0, rows, d.v());
            Tensor in = view(x, (long) row * d.c(), rows, d.c());
            linearForward(chunk, in, weight, null);
            crossEntropy(view(losses, row, rows), dx == null ? null : chunk, chunk, view(targets, row, rows),
                    dlossScale);
            if (dx != null) linearBackward(view(dx, (long) row * d.c(), rows, d.c()), dweight, null, chunk, in, weight);
        }
    }

    // ---- the optimizer step, over whole parameter arenas -------------------------------------------
    // A chunk table (I32 (k, 3), see ArenaChunks) cuts an arena into rows (first element, count, decay):
    // the unit of parallel work and of the norm's partial sums, so every reduction has a fixed order.

    /** state[StepState.LOSS] += scale * (sum of losses), summed in a fixed order; losses stay where they are. */
    void accumulateLoss(Tensor state, Tensor losses, float scale);

    /**
     * Decides the optimizer step from the gradient arena, without the host: the global norm (sum of squares
     * in double per chunk, chunks added in order) goes to NORM; CLIP = maxNorm / (norm + 1e-6) when maxNorm >
     * 0 and that is below 1, else 1; SKIP = 1 when LOSS or the norm is not finite; BAD counts skips in a row;
     * STEPS grows by one unless skipped. State slots as in {@link StepState}.
     */
    void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm);

    /**
     * One AdamW update of a whole arena in one pass ({@link AdamWConfig}'s formulas), reading LR, STEPS, CLIP
     * and SKIP from state; weight decay only in chunks whose decay flag is 1. When SKIP is set, params and
     * moments are left as they are. With {@code zeroGrad} the gradients are set to zero in the same pass
     * either way (the next backward accumulates into them without a separate zeroing pass).
     */
    void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig config,
               boolean zeroGrad);

    /**
     * {@link #adamw(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, AdamWConfig, boolean) adamw} that, in the same
     * pass, also writes every updated weight rounded to bf16 into {@code bf16Copy} (BF16, params' size; null: no
     * copy): the weights a bf16 forward reads ({@link #activationType()} BF16). A skipped step leaves it as it
     * is, like the weights. A backend that stores no BF16 refuses a copy (the CPU's bf16 mode rounds weights as
     * it reads them instead).
     */
    default void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state,
                       AdamWConfig config, boolean zeroGrad, Tensor bf16Copy) {
        if (bf16Copy != null) throw new IllegalArgumentException("adamw: " + name() + " keeps no bf16 weight copies");
        adamw(params, grads, m, v, chunks, state, config, zeroGrad);
    }

    /** Sum of squares of every element, accumulated in double (finite exactly when every element is). */
    double sumOfSquares(Tensor t);

    /** Blocks until queued work is finished (a no-op on the CPU). */
    default void synchronize() {}

    /** Recorded work of one backend that replays without the host issuing it again (a CUDA graph). */
    interface Graph extends AutoCloseable {
        /** Queues the recorded work once more, with whatever the device memory it reads holds now. */
        void replay();

        @Override
        void close();
    }

    /**
     * Records the work {@code work} queues, without running it, as a {@link Graph}; null where the backend has
     * no graphs (the CPU runs every step as it is issued). Inside, nothing may wait for the backend, allocate
     * or copy from the host: every value the work reads must already be in device memory, so a replay reads
     * the values of its own step.
     */
    default Graph capture(Runnable work) {
        return null;
    }

    // ---- profiling ----------------------------------------------------------------------------------

    /** The clock this backend's profiler spans are measured with (host time or device events). */
    Profiler.Clock clock();

    /** Routes this backend's per-kernel spans into {@code profiler} ({@link Profiler#OFF} to stop). */
    void setProfiler(Profiler profiler);

    @Override
    default void close() {}
}
