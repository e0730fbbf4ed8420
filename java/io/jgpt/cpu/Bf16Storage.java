package io.jgpt.cpu;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.OpShapes;
import io.jgpt.ops.Ops;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The CPU backend rounding exactly where the GPU's bf16 mixed-precision path stores bf16, so that it predicts
 * that path: what a bf16 GPU run computes differs from this only by summation order and fused epilogues.
 * Values stay in float arrays; a "bf16" tensor is one whose every element is a bf16 value ({@link Bf16},
 * round to nearest even, as {@code __float2bfloat16_rn}).
 *
 * <ul>
 *   <li><b>Weights</b>: fp32 master copies (what AdamW updates and checkpoints keep); every forward and
 *       input-gradient product reads bf16 copies, made once per optimizer step (the GPU's AdamW writes them).</li>
 *   <li><b>Activations</b> (embedding, LayerNorm, linear, attention, GELU, residual and dropout outputs, the
 *       logits) are stored bf16; so are <b>activation gradients</b>, which feed bf16 GEMMs: each op reads
 *       bf16, computes and accumulates in fp32 (LayerNorm statistics, softmax, GEMM sums, the loss) and
 *       rounds once when it stores. Accumulating backwards (+=) round once after the sum, like a GEMM
 *       with beta = 1 into a bf16 buffer.</li>
 *   <li><b>fp32</b>: LayerNorm mean and 1/std, attention's per-row log-sum-exp (its probabilities stay on
 *       chip), per-row losses, parameter gradients (accumulated over --accum micro-steps without rounding),
 *       AdamW moments, the gradient norm and the step state.</li>
 * </ul>
 */
public final class Bf16Storage implements Ops {

    private final CpuOps fp32;
    /** bf16 copies of the weights read since the last write to any float tensor (an optimizer step, a load). */
    private final Map<Tensor, CpuTensor> weightCopies = new IdentityHashMap<>();

    public Bf16Storage(CpuOps fp32) {
        this.fp32 = fp32;
    }

    public int threads() {
        return fp32.threads();
    }

    @Override
    public String name() {
        return fp32.name();
    }

    // ---- memory: plain fp32; anything that may change a weight retires its bf16 copies ---------------

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return fp32.zeros(dtype, shape);
    }

    @Override
    public Tensor upload(DType dtype, float[] data, int... shape) {
        return fp32.upload(dtype, data, shape);
    }

    @Override
    public Tensor upload(int[] data, int... shape) {
        return fp32.upload(data, shape);
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        return fp32.view(base, offset, shape);
    }

    @Override
    public void read(Tensor src, float[] dst) {
        fp32.read(src, dst);
    }

    @Override
    public void read(Tensor src, int[] dst) {
        fp32.read(src, dst);
    }

    @Override
    public void write(Tensor dst, float[] src) {
        weightCopies.clear();
        fp32.write(dst, src);
    }

    @Override
    public void write(Tensor dst, int[] src) {
        fp32.write(dst, src);
    }

    @Override
    public void zero(Tensor t) {
        weightCopies.clear();
        fp32.zero(t);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        weightCopies.clear();
        fp32.copy(dst, src);
    }

    // ---- forward ------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe) {
        fp32.embeddingForward(out, tokens, weight(wte), weight(wpe));
        store(out);
    }

    @Override
    public void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias) {
        fp32.layerNormForward(out, mean, rstd, in, weight(weight), weight(bias));
        store(out);
    }

    @Override
    public void residualLayerNormForward(Tensor sum, Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor branch,
                                         Tensor weight, Tensor bias) {
        // The GPU stores the rounded sum and normalises what it stored: the unfused pair, rounding as each does.
        add(sum, x, branch);
        layerNormForward(out, mean, rstd, sum, weight, bias);
    }

    @Override
    public void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        fp32.linearForward(out, in, weight(weight), bias == null ? null : weight(bias));
        store(out);
    }

    @Override
    public void linearGeluForward(Tensor out, Tensor preact, Tensor in, Tensor weight, Tensor bias) {
        // The GPU's epilogue takes GELU of the fp32 product and rounds out and the saved pre-activation once each.
        fp32.linearGeluForward(out, preact, in, weight(weight), weight(bias));
        store(out);
        store(preact);
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout) {
        fp32.attentionForward(out, lse, qkv, nHead, dropout);
        store(out);
    }

    @Override
    public void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask,
                                Tensor positions, int nHead) {
        // The new keys and values are copied from bf16 qkv, so the caches hold bf16 values already.
        fp32.attentionCached(out, qkv, kCache, vCache, mask, positions, nHead);
        store(out);
    }

    @Override
    public void argmaxRows(Tensor out, Tensor logits) {
        fp32.argmaxRows(out, logits);
    }

    @Override
    public void geluForward(Tensor out, Tensor in) {
        fp32.geluForward(out, in);
        store(out);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        fp32.add(out, a, b);
        store(out);
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, Dropout dropout) {
        fp32.dropoutForward(out, in, dropout);
        store(out);
    }

    @Override
    public void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale) {
        fp32.crossEntropy(losses, dlogits, logits, targets, dlossScale);
        if (dlogits != null) store(dlogits);
    }

    /** The default's chunks through this mode's ops (logits and dlogits rounded per chunk), targets checked first. */
    @Override
    public void classifier(Tensor losses, Tensor dx, Tensor dweight, Tensor x, Tensor weight, Tensor targets,
                           float dlossScale, Tensor logits) {
        CpuOps.checkTargets("classifier", targets, OpShapes.classifier("classifier", losses, dx, dweight, x, weight,
                targets, logits).v());
        Ops.super.classifier(losses, dx, dweight, x, weight, targets, dlossScale, logits);
    }

    // ---- backward: activation gradients bf16, parameter gradients fp32 --------------------------------

    @Override
    public void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
        fp32.embeddingBackward(dwte, dwpe, dout, tokens);
    }

    @Override
    public void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        fp32.layerNormBackward(din, dweight, dbias, dout, in, weight(weight), mean, rstd);
        store(din);
    }

    @Override
    public void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight) {
        fp32.linearBackward(din, dweight, dbias, dout, in, weight(weight));
        if (din != null) store(din);
    }

    @Override
    public void linearBackwardThroughGelu(Tensor dpreact, Tensor dbias, Tensor dout, Tensor weight, Tensor preact) {
        // The epilogue multiplies the fp32 product by GELU' and sums the bias gradient before rounding dpreact.
        fp32.linearBackwardThroughGelu(dpreact, dbias, dout, weight(weight), preact);
        store(dpreact);
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                                  Dropout dropout) {
        fp32.attentionBackward(dqkv, dout, qkv, out, lse, nHead, dropout);
        store(dqkv);
    }

    @Override
    public void geluBackward(Tensor din, Tensor dout, Tensor in) {
        fp32.geluBackward(din, dout, in);
        store(din);
    }

    @Override
    public void dropoutBackward(Tensor din, Tensor dout, Dropout dropout) {
        fp32.dropoutBackward(din, dout, dropout);
        store(din);
    }

    // ---- optimizer: fp32 ----------------------------------------------------------------------------

    @Override
    public void accumulateLoss(Tensor state, Tensor losses, float scale) {
        fp32.accumulateLoss(state, losses, scale);
    }

    @Override
    public void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm) {
        fp32.stepDecision(state, grads, chunks, maxNorm);
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state,
                      AdamWConfig config, boolean zeroGrad) {
        weightCopies.clear();
        fp32.adamw(params, grads, m, v, chunks, state, config, zeroGrad);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        return fp32.sumOfSquares(t);
    }

    @Override
    public Profiler.Clock clock() {
        return fp32.clock();
    }

    @Override
    public void setProfiler(Profiler profiler) {
        fp32.setProfiler(profiler);
    }

    @Override
    public void close() {
        weightCopies.clear();
        fp32.close();
    }

    // ---- rounding -----------------------------------------------------------------------------------

    /** The bf16 copy of a weight (made on first use after the weights last changed). */
    private Tensor weight(Tensor master) {
        return weightCopies.computeIfAbsent(master, w -> {
            CpuTensor t = (CpuTensor) w;
            float[] copy = new float[(int) t.numel()];
            System.arraycopy(t.array(), t.offset(), copy, 0, copy.length);
            Bf16.round(copy);
            return CpuTensor.ofFloats(copy, t.shape());
        });
    }

    /** Rounds a tensor the GPU stores in bf16. */
    private static void store(Tensor t) {
        CpuTensor c = (CpuTensor) t;
        Bf16.round(c.array(), c.offset(), c.offset() + (int) c.numel());
    }
}
