package io.jgpt.cpu;

import static io.jgpt.cpu.Shapes.f32;
import static io.jgpt.cpu.Shapes.i32;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.Argmax;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Cost;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.OpCost;
import io.jgpt.ops.OpShapes;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.Objects;

/**
 * The reference backend: host arrays, a fixed worker pool and SIMD kernels. This class validates arguments,
 * records profiler spans and delegates the arithmetic to one small kernel class per concept.
 */
public final class CpuOps implements Ops {

    private static final Profiler.Clock CLOCK = new HostClock();

    private final Parallel parallel;
    private final Pointwise pointwise;
    private final Linear linear;
    private final LayerNorm layerNorm;
    private final Attention attention;
    private final CachedAttention cachedAttention;
    private final CrossEntropy crossEntropy;
    private final Embedding embedding;
    private final ArenaOptimizer arenaOptimizer;
    private Profiler profiler = Profiler.OFF;

    /** @param threads worker threads (1 runs everything on the calling thread) */
    public CpuOps(int threads) {
        parallel = new Parallel(threads);
        pointwise = new Pointwise(parallel);
        linear = new Linear(parallel);
        layerNorm = new LayerNorm(parallel);
        attention = new Attention(parallel);
        cachedAttention = new CachedAttention(parallel);
        crossEntropy = new CrossEntropy(parallel);
        embedding = new Embedding(parallel);
        arenaOptimizer = new ArenaOptimizer(parallel);
    }

    public int threads() {
        return parallel.threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    // ---- memory -------------------------------------------------------------------------------------

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return switch (dtype) {
            case F32 -> CpuTensor.ofFloats(new float[count(shape)], shape);
            case I32 -> CpuTensor.ofInts(new int[count(shape)], shape);
            case BF16 -> throw noBf16("zeros");
        };
    }

    @Override
    public Tensor upload(DType dtype, float[] data, int... shape) {
        return switch (dtype) {
            case F32 -> CpuTensor.ofFloats(data.clone(), shape);
            case BF16 -> throw noBf16("upload");
            case I32 -> throw new IllegalArgumentException("upload: an I32 tensor is made from an int[], not floats");
        };
    }

    @Override
    public Tensor upload(int[] data, int... shape) {
        return CpuTensor.ofInts(data.clone(), shape);
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        OpShapes.notNull("view", "base", base);
        return (base.dtype() == DType.I32 ? i32("view", "base", base) : f32("view", "base", base)).view(offset, shape);
    }

    @Override
    public void read(Tensor src, float[] dst) {
        CpuTensor s = f32("read", "src", src);
        checkLength("read", src, (int) s.numel(), dst.length);
        System.arraycopy(s.array(), s.offset(), dst, 0, dst.length);
    }

    @Override
    public void read(Tensor src, int[] dst) {
        int[] s = i32("read", "src", src).ints();
        checkLength("read", src, s.length, dst.length);
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void write(Tensor dst, int[] src) {
        int[] d = i32("write", "dst", dst).ints();
        checkLength("write", dst, d.length, src.length);
        System.arraycopy(src, 0, d, 0, d.length);
    }

    @Override
    public void write(Tensor dst, float[] src) {
        CpuTensor d = f32("write", "dst", dst);
        checkLength("write", dst, (int) d.numel(), src.length);
        System.arraycopy(src, 0, d.array(), d.offset(), src.length);
    }

    private static IllegalArgumentException noBf16(String op) {
        return new IllegalArgumentException(op + ": the CPU backend stores F32 and I32 tensors, not BF16");
    }

    private static void checkLength(String op, Tensor t, int elements, int hostLength) {
        if (hostLength != elements) {
            throw new IllegalArgumentException(op + ": tensor " + Tensor.describe(t.shape()) + " holds " + elements
                    + " elements, the host array has " + hostLength);
        }
    }

    @Override
    public void zero(Tensor t) {
        if (t.dtype() == DType.I32) Arrays.fill(i32("zero", "t", t).ints(), 0);
        else {
            CpuTensor x = f32("zero", "t", t);
            int n = (int) x.numel();
            timed("zero", OpCost.fill(n, DType.F32), () -> pointwise.fill(x.array(), x.offset(), n, 0f));
        }
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        OpShapes.expect("copy", "dst", dst, src.shape());
        if (src.dtype() == DType.I32) {
            System.arraycopy(i32("copy", "src", src).ints(), 0, i32("copy", "dst", dst).ints(), 0, (int) src.numel());
        } else {
            CpuTensor s = f32("copy", "src", src), d = f32("copy", "dst", dst);
            System.arraycopy(s.array(), s.offset(), d.array(), d.offset(), (int) src.numel());
        }
    }

    // ---- ops ----------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe) {
        var op = "embeddingForward";
        var d = OpShapes.embedding(op, out, "out", tokens, wte, "wte", wpe, "wpe");
        int[] tok = tokenIds(op, tokens, d);
        float[] o = f32(op, "out", out).data();
        CpuTensor te = f32(op, "wte", wte), pe = f32(op, "wpe", wpe);
        timed("embedding_forward", OpCost.embeddingForward(tok.length, d.c(), DType.F32),
                () -> embedding.forward(o, tok, te.array(), te.offset(), pe.array(), pe.offset(), d.t(), d.c()));
    }

    @Override
    public void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
        var op = "embeddingBackward";
        var d = OpShapes.embedding(op, dout, "dout", tokens, dwte, "dwte", dwpe, "dwpe");
        int[] tok = tokenIds(op, tokens, d);
        CpuTensor dte = f32(op, "dwte", dwte), dpe = f32(op, "dwpe", dwpe);
        float[] g = f32(op, "dout", dout).data();
        Cost cost = OpCost.embeddingBackwardTokens(tok.length, d.c(), DType.F32)
                .plus(OpCost.embeddingBackwardPositions(tok.length, d.t(), d.c(), DType.F32));
        timed("embedding_backward", cost,
                () -> embedding.backward(dte.array(), dte.offset(), dpe.array(), dpe.offset(), g, tok, d.t(), d.c()));
    }

    /** The token ids, each checked against the vocabulary before any table row is touched. */
    private static int[] tokenIds(String op, Tensor tokens, OpShapes.EmbeddingDims d) {
        int[] tok = i32(op, "tokens", tokens).ints();
        for (int i = 0; i < tok.length; i++) {
            if (tok[i] < 0 || tok[i] >= d.v()) {
                throw new IllegalArgumentException(op + ": token id " + tok[i] + " at position " + i
                        + " (batch " + i / d.t() + ", time " + i % d.t() + ") is outside [0, " + d.v() + ")");
            }
        }
        return tok;
    }

    @Override
    public void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias) {
        var op = "layerNormForward";
        var d = OpShapes.layerNormForward(op, out, mean, rstd, in, weight, bias);
        int n = d.n(), c = d.c();
        float[] o = f32(op, "out", out).data(), mu = f32(op, "mean", mean).data(), rs = f32(op, "rstd", rstd).data();
        float[] x = f32(op, "in", in).data();
        CpuTensor w = f32(op, "weight", weight), b = f32(op, "bias", bias);
        timed("layernorm_forward", OpCost.layerNormForward(n, c, DType.F32),
                () -> layerNorm.forward(o, mu, rs, x, w.array(), w.offset(), b.array(), b.offset(), n, c));
    }

    @Override
    public void residualLayerNormForward(Tensor sum, Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor branch,
                                         Tensor weight, Tensor bias) {
        var op = "residualLayerNormForward";
        var d = OpShapes.residualLayerNormForward(op, sum, out, mean, rstd, x, branch, weight, bias);
        int n = d.n(), c = d.c();
        float[] s = f32(op, "sum", sum).data(), o = f32(op, "out", out).data();
        float[] mu = f32(op, "mean", mean).data(), rs = f32(op, "rstd", rstd).data();
        float[] a = f32(op, "x", x).data(), b = f32(op, "branch", branch).data();
        CpuTensor w = f32(op, "weight", weight), bi = f32(op, "bias", bias);
        timed("residual_layernorm_forward", OpCost.residualLayerNormForward(n, c, DType.F32),
                () -> layerNorm.forwardResidual(s, o, mu, rs, a, b, w.array(), w.offset(), bi.array(), bi.offset(), n, c));
    }

    @Override
    public void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        var op = "layerNormBackward";
        var d = OpShapes.layerNormBackward(op, din, dweight, dbias, dout, in, weight, mean, rstd);
        int n = d.n(), c = d.c();
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "in", in).data();
        CpuTensor dw = f32(op, "dweight", dweight), db = f32(op, "dbias", dbias), w = f32(op, "weight", weight);
        float[] mu = f32(op, "mean", mean).data(), rs = f32(op, "rstd", rstd).data();
        Cost cost = OpCost.layerNormBackwardInput(n, c, DType.F32).plus(OpCost.layerNormBackwardParams(n, c, DType.F32));
        timed("layernorm_backward", cost,
                () -> layerNorm.backward(dx, dw.array(), dw.offset(), db.array(), db.offset(), dy, x, w.array(),
                        w.offset(), mu, rs, n, c));
    }

    @Override
    public void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        var op = "linearForward";
        var d = OpShapes.linearForward(op, out, in, weight, bias);
        int n = d.n(), ic = d.ic(), oc = d.oc();
        CpuTensor o = f32(op, "out", out), x = f32(op, "in", in);
        CpuTensor w = f32(op, "weight", weight), b = bias == null ? null : f32(op, "bias", bias);
        Cost cost = OpCost.gemm(n, oc, ic, false, DType.F32);
        if (b != null) cost = cost.plus(OpCost.fusedBias(n, oc, DType.F32));
        timed("linear_forward", cost, () -> linear.forward(o.array(), o.offset(), x.array(), x.offset(), w.array(),
                w.offset(), b == null ? null : b.array(), b == null ? 0 : b.offset(), n, ic, oc));
    }

    @Override
    public void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight) {
        var op = "linearBackward";
        var d = OpShapes.linearBackward(op, din, dweight, dbias, dout, in, weight);
        int n = d.n(), ic = d.ic(), oc = d.oc();
        CpuTensor dx = din == null ? null : f32(op, "din", din);
        CpuTensor db = dbias == null ? null : f32(op, "dbias", dbias);
        CpuTensor dw = f32(op, "dweight", dweight), w = f32(op, "weight", weight);
        CpuTensor dy = f32(op, "dout", dout), x = f32(op, "in", in);
        Cost cost = OpCost.gemm(oc, ic, n, true, DType.F32); // dweight += dout^T @ in
        if (dx != null) cost = cost.plus(OpCost.gemm(n, ic, oc, true, DType.F32)); // din += dout @ weight
        if (db != null) cost = cost.plus(OpCost.columnSum(n, oc, DType.F32));
        timed("linear_backward", cost, () -> linear.backward(dx == null ? null : dx.array(), dx == null ? 0 : dx.offset(),
                dw.array(), dw.offset(), db == null ? null : db.array(), db == null ? 0 : db.offset(), dy.array(),
                dy.offset(), x.array(), x.offset(), w.array(), w.offset(), n, ic, oc));
    }

    @Override
    public void linearGeluForward(Tensor out, Tensor preact, Tensor in, Tensor weight, Tensor bias) {
        var op = "linearGeluForward";
        var d = OpShapes.linearGeluForward(op, out, preact, in, weight, bias);
        int n = d.n(), ic = d.ic(), oc = d.oc();
        float[] o = f32(op, "out", out).data(), pre = f32(op, "preact", preact).data(), x = f32(op, "in", in).data();
        CpuTensor w = f32(op, "weight", weight), b = f32(op, "bias", bias);
        Cost cost = OpCost.gemm(n, oc, ic, false, DType.F32).plus(OpCost.fusedBias(n, oc, DType.F32))
                .plus(OpCost.geluForward((long) n * oc, DType.F32));
        timed("linear_gelu_forward", cost, () -> {
            linear.forward(pre, 0, x, 0, w.array(), w.offset(), b.array(), b.offset(), n, ic, oc);
            pointwise.geluForward(o, pre);
        });
    }

    @Override
    public void linearBackwardThroughGelu(Tensor dpreact, Tensor dbias, Tensor dout, Tensor weight, Tensor preact) {
        var op = "linearBackwardThroughGelu";
        var d = OpShapes.linearBackwardThroughGelu(op, dpreact, dbias, dout, weight, preact);
        int n = d.n(), ic = d.ic(), oc = d.oc();
        float[] dp = f32(op, "dpreact", dpreact).data(), dy = f32(op, "dout", dout).data();
        float[] pre = f32(op, "preact", preact).data();
        CpuTensor w = f32(op, "weight", weight), db = dbias == null ? null : f32(op, "dbias", dbias);
        Cost cost = OpCost.gemm(n, ic, oc, false, DType.F32).plus(OpCost.geluGradScale((long) n * ic, DType.F32));
        if (db != null) cost = cost.plus(OpCost.columnSum(n, ic, DType.F32));
        timed("linear_backward_through_gelu", cost, () -> {
            pointwise.fill(dp, 0, dp.length, 0f);
            linear.inputGradient(dp, 0, dy, 0, w.array(), w.offset(), n, ic, oc);
            pointwise.geluGradScale(dp, pre);
            if (db != null) linear.columnSums(db.array(), db.offset(), dp, 0, n, ic);
        });
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout) {
        var op = "attentionForward";
        var s = OpShapes.attention(op, qkv, lse, nHead, dropout);
        OpShapes.expect(op, "out", out, s.b(), s.t(), s.c());
        var d = new Attention.Dims(s.b(), s.t(), s.c(), s.nh());
        float[] o = f32(op, "out", out).data(), l = f32(op, "lse", lse).data(), x = f32(op, "qkv", qkv).data();
        timed("attention_forward", OpCost.attentionForward(s, DType.F32), () -> attention.forward(o, l, x, d, dropout));
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                                  Dropout dropout) {
        var op = "attentionBackward";
        var s = OpShapes.attention(op, qkv, lse, nHead, dropout);
        OpShapes.expect(op, "dqkv", dqkv, qkv.shape());
        OpShapes.expect(op, "dout", dout, s.b(), s.t(), s.c());
        OpShapes.expect(op, "out", out, s.b(), s.t(), s.c());
        var d = new Attention.Dims(s.b(), s.t(), s.c(), s.nh());
        float[] dx = f32(op, "dqkv", dqkv).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "qkv", qkv).data();
        float[] o = f32(op, "out", out).data(), l = f32(op, "lse", lse).data();
        timed("attention_backward", OpCost.attentionBackward(s, DType.F32),
                () -> attention.backward(dx, dy, x, o, l, d, dropout));
    }

    @Override
    public void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask, Tensor positions,
                                int nHead) {
        var op = "attentionCached";
        var s = OpShapes.attentionCached(op, out, qkv, kCache, vCache, mask, positions, nHead);
        int[] p = i32(op, "positions", positions).ints();
        OpShapes.checkPositions(op, p, s);
        // The caches may be views of some sequences of larger caches (a KVCache's one sequence): the kernel
        // indexes whole arrays by sequence, so the views must start at the same whole sequence.
        CpuTensor k = f32(op, "kCache", kCache), v = f32(op, "vCache", vCache);
        long sequenceSize = kCache.numel() / s.b();
        if (k.offset() != v.offset() || k.offset() % sequenceSize != 0)
            throw new IllegalArgumentException(op + ": kCache and vCache must be views starting at the same sequence");
        int first = (int) (k.offset() / sequenceSize);
        int[] seqs = new int[p.length];
        for (int r = 0; r < seqs.length; r++) seqs[r] = first + r / s.tn();
        var d = new CachedAttention.Dims(s.c(), s.nh(), s.cacheT(), s.maskT());
        float[] o = f32(op, "out", out).data(), x = f32(op, "qkv", qkv).data(), m = f32(op, "mask", mask).data();
        float[] kc = k.array(), vc = v.array();
        Cost cost = OpCost.kvCacheWrite((long) s.b() * s.tn() * s.c(), DType.F32)
                .plus(OpCost.cachedAttention(s, s.live(p), DType.F32));
        timed("attention_cached", cost, () -> cachedAttention.forward(o, kc, vc, x, seqs, p, m, d));
    }

    @Override
    public void argmaxRows(Tensor out, Tensor logits) {
        var op = "argmaxRows";
        var d = OpShapes.argmaxRows(op, out, logits);
        CpuTensor x = f32(op, "logits", logits), o = i32(op, "out", out);
        float[] a = x.array();
        int[] ids = o.intArray();
        timed("argmax_rows", OpCost.argmaxRows(d.n(), d.c()), () -> {
            for (int r = 0; r < d.n(); r++) ids[o.offset() + r] = Argmax.of(a, x.offset() + r * d.c(), d.c());
        });
    }

    @Override
    public void geluForward(Tensor out, Tensor in) {
        var op = "geluForward";
        long n = OpShapes.geluForward(op, out, in);
        float[] o = f32(op, "out", out).data(), x = f32(op, "in", in).data();
        timed("gelu_forward", OpCost.geluForward(n, DType.F32), () -> pointwise.geluForward(o, x));
    }

    @Override
    public void geluBackward(Tensor din, Tensor dout, Tensor in) {
        var op = "geluBackward";
        long n = OpShapes.geluBackward(op, din, dout, in);
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "in", in).data();
        timed("gelu_backward", OpCost.geluBackward(n, DType.F32), () -> pointwise.geluBackward(dx, dy, x));
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        var op = "add";
        long n = OpShapes.add(op, out, a, b);
        float[] o = f32(op, "out", out).data(), x = f32(op, "a", a).data(), y = f32(op, "b", b).data();
        timed("add", OpCost.add(n, DType.F32), () -> pointwise.add(o, x, y));
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, Dropout dropout) {
        var op = "dropoutForward";
        long n = OpShapes.dropoutForward(op, out, in, dropout);
        float[] o = f32(op, "out", out).data(), x = f32(op, "in", in).data();
        timed("dropout_forward", OpCost.dropoutForward(n, DType.F32), () -> pointwise.dropoutForward(o, x, dropout));
    }

    @Override
    public void dropoutBackward(Tensor din, Tensor dout, Dropout dropout) {
        var op = "dropoutBackward";
        long n = OpShapes.dropoutBackward(op, din, dout, dropout);
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data();
        timed("dropout_backward", OpCost.dropoutBackward(n, DType.F32),
                () -> pointwise.dropoutBackward(dx, dy, dropout));
    }

    @Override
    public void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale) {
        var op = "crossEntropy";
        var d = OpShapes.crossEntropy(op, losses, dlogits, logits, targets);
        int n = d.n(), v = d.c();
        CpuTensor t = checkTargets(op, targets, v);
        int[] tgt = t.intArray();
        CpuTensor l = f32(op, "losses", losses), x = f32(op, "logits", logits);
        CpuTensor dx = dlogits == null ? null : f32(op, "dlogits", dlogits);
        var rows = new CrossEntropy.Rows(l.array(), l.offset(), dx == null ? null : dx.array(), dx == null ? 0 : dx.offset(),
                x.array(), x.offset(), tgt, t.offset(), n, v);
        timed("cross_entropy", OpCost.crossEntropy(n, v, dx != null, DType.F32), () -> crossEntropy.run(rows, dlossScale));
    }

    /** Targets checked all at once first, so that a bad one is named by its position in the whole batch. */
    @Override
    public void classifier(Tensor losses, Tensor dx, Tensor dweight, Tensor x, Tensor weight, Tensor targets,
                           float dlossScale, Tensor logits) {
        checkTargets("classifier", targets, OpShapes.classifier("classifier", losses, dx, dweight, x, weight, targets,
                logits).v());
        Ops.super.classifier(losses, dx, dweight, x, weight, targets, dlossScale, logits);
    }

    /** Every target id in [0, v) or the ignore index; returns the targets. */
    static CpuTensor checkTargets(String op, Tensor targets, int v) {
        CpuTensor t = i32(op, "targets", targets);
        int[] tgt = t.intArray();
        for (int i = 0; i < t.numel(); i++) {
            int id = tgt[t.offset() + i];
            if (id != CrossEntropy.IGNORE && (id < 0 || id >= v)) {
                throw new IllegalArgumentException(op + ": target token id " + id + " at position " + i
                        + " is outside [0, " + v + ") and is not the ignore index " + CrossEntropy.IGNORE);
            }
        }
        return t;
    }

    @Override
    public void accumulateLoss(Tensor state, Tensor losses, float scale) {
        OpShapes.accumulateLoss("accumulateLoss", state, losses);
        CpuTensor st = stepState("accumulateLoss", state);
        float[] l = f32("accumulateLoss", "losses", losses).data();
        long h = profiler.begin();
        double sum = 0;
        for (float x : l) sum += x;
        st.array()[st.offset() + StepState.LOSS] += (float) (scale * sum);
        Cost cost = OpCost.accumulateLoss(l.length);
        profiler.end(h, "accumulate_loss", cost.bytes(), cost.flops());
    }

    @Override
    public void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm) {
        var op = "stepDecision";
        OpShapes.stepDecision(op, state, grads, chunks);
        CpuTensor st = stepState(op, state), g = f32(op, "grads", grads);
        int[] rows = chunkRows(op, chunks, g);
        long h = profiler.begin();
        double sumSq = arenaOptimizer.sumOfSquares(g.array(), g.offset(), rows);
        ArenaOptimizer.decide(st.array(), st.offset(), sumSq, maxNorm);
        Cost cost = OpCost.sumOfSquares(g.numel(), DType.F32);
        profiler.end(h, "step_decision", cost.bytes(), cost.flops());
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig config,
                      boolean zeroGrad) {
        var op = "adamw";
        long n = OpShapes.adamw(op, params, grads, m, v, chunks, state);
        CpuTensor p = f32(op, "params", params), g = f32(op, "grads", grads), mm = f32(op, "m", m), vv = f32(op, "v", v);
        CpuTensor st = stepState(op, state);
        int[] rows = chunkRows(op, chunks, p);
        timed("adamw", OpCost.adamw(n, zeroGrad), () -> arenaOptimizer.adamw(p.array(), p.offset(), g.array(),
                g.offset(), mm.array(), mm.offset(), vv.array(), vv.offset(), rows, st.array(), st.offset(), config,
                zeroGrad));
    }

    private static CpuTensor stepState(String op, Tensor state) {
        OpShapes.stepState(op, state);
        return f32(op, "state", state);
    }

    /** The rows of a chunk table, checked to lie inside {@code arena}. */
    private static int[] chunkRows(String op, Tensor chunks, Tensor arena) {
        OpShapes.chunks(op, chunks);
        int[] rows = i32(op, "chunks", chunks).ints();
        for (int r = 0; r < rows.length; r += ArenaChunks.COLUMNS) {
            if (rows[r] < 0 || rows[r + 1] < 0 || (long) rows[r] + rows[r + 1] > arena.numel()) {
                throw new IllegalArgumentException(op + ": chunk " + r / ArenaChunks.COLUMNS + " [" + rows[r] + ", +"
                        + rows[r + 1] + ") is outside the arena of " + arena.numel() + " elements");
            }
        }
        return rows;
    }

    @Override
    public double sumOfSquares(Tensor t) {
        CpuTensor x = f32("sumOfSquares", "t", t);
        long h = profiler.begin();
        double total = pointwise.sumOfSquares(x.array(), x.offset(), (int) x.numel());
        Cost cost = OpCost.sumOfSquares(x.numel(), DType.F32);
        profiler.end(h, "sum_of_squares", cost.bytes(), cost.flops());
        return total;
    }

    // ---- profiling ----------------------------------------------------------------------------------

    @Override
    public Profiler.Clock clock() {
        return CLOCK;
    }

    @Override
    public void setProfiler(Profiler profiler) {
        this.profiler = Objects.requireNonNull(profiler, "profiler (use Profiler.OFF)");
    }

    @Override
    public void close() {
        parallel.close();
    }

    private void timed(String name, Cost cost, Runnable work) {
        long h = profiler.begin();
        work.run();
        profiler.end(h, name, cost.bytes(), cost.flops());
    }

    private static int count(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return Math.toIntExact(n);
    }
}
