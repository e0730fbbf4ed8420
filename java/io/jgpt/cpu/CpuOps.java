package io.jgpt.cpu;

import static io.jgpt.cpu.Shapes.expect;
import static io.jgpt.cpu.Shapes.expectNumel;
import static io.jgpt.cpu.Shapes.expectRank;
import static io.jgpt.cpu.Shapes.expectRows;
import static io.jgpt.cpu.Shapes.f32;
import static io.jgpt.cpu.Shapes.i32;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Dropout;
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
        return f32("view", "base", base).view(offset, shape);
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
            timed("zero", 4L * n, 0, () -> pointwise.fill(x.array(), x.offset(), n, 0f));
        }
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        expect("copy", "dst", dst, src.shape());
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
        var dims = embeddingDims(op, tokens, wte, "wte", wpe, "wpe");
        expect(op, "out", out, dims.b, dims.t, dims.c);
        int[] tok = i32(op, "tokens", tokens).ints();
        float[] o = f32(op, "out", out).data();
        CpuTensor te = f32(op, "wte", wte), pe = f32(op, "wpe", wpe);
        long n = out.numel();
        timed("embedding_forward", 4 * (3 * n + tok.length), n,
                () -> embedding.forward(o, tok, te.array(), te.offset(), pe.array(), pe.offset(), dims.t, dims.c));
    }

    @Override
    public void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
        var op = "embeddingBackward";
        var dims = embeddingDims(op, tokens, dwte, "dwte", dwpe, "dwpe");
        expect(op, "dout", dout, dims.b, dims.t, dims.c);
        int[] tok = i32(op, "tokens", tokens).ints();
        CpuTensor dte = f32(op, "dwte", dwte), dpe = f32(op, "dwpe", dwpe);
        float[] d = f32(op, "dout", dout).data();
        long n = dout.numel();
        timed("embedding_backward", 4 * (5 * n + tok.length), 2 * n,
                () -> embedding.backward(dte.array(), dte.offset(), dpe.array(), dpe.offset(), d, tok, dims.t, dims.c));
    }

    private record EmbeddingDims(int b, int t, int c) {}

    /** Checks tokens (B,T) against wte (V,C) and wpe (maxT,C), including every token id. */
    private static EmbeddingDims embeddingDims(String op, Tensor tokens, Tensor wte, String wteName, Tensor wpe,
                                               String wpeName) {
        expectRank(op, "tokens", tokens, 2);
        expectRank(op, wteName, wte, 2);
        expectRank(op, wpeName, wpe, 2);
        int b = tokens.shape()[0], t = tokens.shape()[1], v = wte.shape()[0], c = wte.shape()[1];
        // wpe may have more rows (maxT) than this batch's T, never fewer.
        expect(op, wpeName, wpe, Math.max(t, wpe.shape()[0]), c);
        int[] tok = i32(op, "tokens", tokens).ints();
        for (int i = 0; i < tok.length; i++) {
            if (tok[i] < 0 || tok[i] >= v) {
                throw new IllegalArgumentException(op + ": token id " + tok[i] + " at position " + i
                        + " (batch " + i / t + ", time " + i % t + ") is outside [0, " + v + ")");
            }
        }
        return new EmbeddingDims(b, t, c);
    }

    @Override
    public void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias) {
        var op = "layerNormForward";
        int n = in.rows(), c = in.lastDim();
        expect(op, "out", out, in.shape());
        expectNumel(op, "mean", mean, n);
        expectNumel(op, "rstd", rstd, n);
        expect(op, "weight", weight, c);
        expect(op, "bias", bias, c);
        float[] o = f32(op, "out", out).data(), mu = f32(op, "mean", mean).data(), rs = f32(op, "rstd", rstd).data();
        float[] x = f32(op, "in", in).data();
        CpuTensor w = f32(op, "weight", weight), b = f32(op, "bias", bias);
        timed("layernorm_forward", 4L * (2L * n * c + 2 * c + 2 * n), 8.0 * n * c,
                () -> layerNorm.forward(o, mu, rs, x, w.array(), w.offset(), b.array(), b.offset(), n, c));
    }

    @Override
    public void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        var op = "layerNormBackward";
        int n = in.rows(), c = in.lastDim();
        expect(op, "din", din, in.shape());
        expect(op, "dout", dout, in.shape());
        expect(op, "dweight", dweight, c);
        expect(op, "dbias", dbias, c);
        expect(op, "weight", weight, c);
        expectNumel(op, "mean", mean, n);
        expectNumel(op, "rstd", rstd, n);
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "in", in).data();
        CpuTensor dw = f32(op, "dweight", dweight), db = f32(op, "dbias", dbias), w = f32(op, "weight", weight);
        float[] mu = f32(op, "mean", mean).data(), rs = f32(op, "rstd", rstd).data();
        // Two passes over dout and in (rows, then parameter columns), one read-modify-write of din.
        timed("layernorm_backward", 4L * (6L * n * c + 5 * c + 2 * n), 18.0 * n * c,
                () -> layerNorm.backward(dx, dw.array(), dw.offset(), db.array(), db.offset(), dy, x, w.array(),
                        w.offset(), mu, rs, n, c));
    }

    @Override
    public void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        var op = "linearForward";
        int n = in.rows(), ic = in.lastDim();
        expectRank(op, "weight", weight, 2);
        int oc = weight.shape()[0];
        expect(op, "weight", weight, oc, ic);
        expectRows(op, "out", out, n, oc);
        float[] o = f32(op, "out", out).data(), x = f32(op, "in", in).data();
        CpuTensor w = f32(op, "weight", weight), b = bias == null ? null : f32(op, "bias", bias);
        if (bias != null) expect(op, "bias", bias, oc);
        long bytes = 4L * ((long) n * ic + (long) oc * ic + (long) n * oc + (b == null ? 0 : oc));
        timed("linear_forward", bytes, 2.0 * n * ic * oc, () -> linear.forward(o, x, w.array(), w.offset(),
                b == null ? null : b.array(), b == null ? 0 : b.offset(), n, ic, oc));
    }

    @Override
    public void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight) {
        var op = "linearBackward";
        int n = in.rows(), ic = in.lastDim();
        expectRank(op, "weight", weight, 2);
        int oc = weight.shape()[0];
        expect(op, "weight", weight, oc, ic);
        expect(op, "dweight", dweight, oc, ic);
        expectRows(op, "dout", dout, n, oc);
        if (din != null) expect(op, "din", din, in.shape());
        if (dbias != null) expect(op, "dbias", dbias, oc);
        float[] dx = din == null ? null : f32(op, "din", din).data();
        CpuTensor db = dbias == null ? null : f32(op, "dbias", dbias);
        CpuTensor dw = f32(op, "dweight", dweight), w = f32(op, "weight", weight);
        float[] dy = f32(op, "dout", dout).data(), x = f32(op, "in", in).data();
        double gemmFlops = 2.0 * n * ic * oc;
        double flops = gemmFlops * (dx == null ? 1 : 2) + (db == null ? 0 : (double) n * oc);
        long weights = (long) oc * ic, activations = (long) n * ic, grads = (long) n * oc;
        long bytes = 4L * (grads + activations + 2 * weights
                + (dx == null ? 0 : grads + weights + 2 * activations) + (db == null ? 0 : grads + 2L * oc));
        timed("linear_backward", bytes, flops, () -> linear.backward(dx, dw.array(), dw.offset(),
                db == null ? null : db.array(), db == null ? 0 : db.offset(), dy, x, w.array(), w.offset(), n, ic, oc));
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout) {
        var op = "attentionForward";
        var d = attentionDims(op, qkv, lse, nHead, dropout);
        expect(op, "out", out, d.b(), d.t(), d.c());
        float[] o = f32(op, "out", out).data(), l = f32(op, "lse", lse).data(), x = f32(op, "qkv", qkv).data();
        long live = causalPairs(d), rows = (long) d.b() * d.nh() * d.t();
        // Per visible (t, t2): a q.k dot and a p*v update, plus exp, sum and normalise.
        timed("attention_forward", 4L * (qkv.numel() + out.numel() + rows + 2L * live * d.hs()),
                4.0 * live * d.hs() + 4.0 * live, () -> attention.forward(o, l, x, d, dropout));
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                                  Dropout dropout) {
        var op = "attentionBackward";
        var d = attentionDims(op, qkv, lse, nHead, dropout);
        expect(op, "dqkv", dqkv, qkv.shape());
        expect(op, "dout", dout, d.b(), d.t(), d.c());
        expect(op, "out", out, d.b(), d.t(), d.c());
        float[] dx = f32(op, "dqkv", dqkv).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "qkv", qkv).data();
        float[] o = f32(op, "out", out).data(), l = f32(op, "lse", lse).data();
        long live = causalPairs(d), rows = (long) d.b() * d.nh() * d.t();
        // Per visible (t, t2): the recomputed q.k and the dout.v dots plus dq, dk, dv updates (5 length-hs
        // passes, 10 hs flops), and per row the dout.out dot.
        timed("attention_backward", 4L * (2 * qkv.numel() + 2 * dout.numel() + rows + 7L * live * d.hs()),
                10.0 * live * d.hs() + 6.0 * live + 2.0 * rows * d.hs(),
                () -> attention.backward(dx, dy, x, o, l, d, dropout));
    }

    private static Attention.Dims attentionDims(String op, Tensor qkv, Tensor lse, int nHead, Dropout dropout) {
        Objects.requireNonNull(dropout, op + ": dropout must not be null (use Dropout.NONE)");
        expectRank(op, "qkv", qkv, 3);
        int b = qkv.shape()[0], t = qkv.shape()[1], c3 = qkv.shape()[2];
        if (nHead <= 0 || c3 % (3 * nHead) != 0) {
            throw new IllegalArgumentException(op + ": qkv " + Tensor.describe(qkv.shape())
                    + " cannot be split into q, k, v of " + nHead + " heads each");
        }
        expect(op, "lse", lse, b, nHead, t);
        return new Attention.Dims(b, t, c3 / 3, nHead);
    }

    /** Visible (t, t2 <= t) pairs of all heads, for honest flop counts. */
    private static long causalPairs(Attention.Dims d) {
        return (long) d.b() * d.nh() * d.t() * (d.t() + 1L) / 2;
    }

    @Override
    public void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask, int pos,
                                int nHead) {
        var op = "attentionCached";
        expectRank(op, "qkv", qkv, 3);
        int b = qkv.shape()[0], tn = qkv.shape()[1], c3 = qkv.shape()[2];
        if (nHead <= 0 || c3 % (3 * nHead) != 0) {
            throw new IllegalArgumentException(op + ": qkv " + Tensor.describe(qkv.shape())
                    + " cannot be split into q, k, v of " + nHead + " heads each");
        }
        int c = c3 / 3, hs = c / nHead;
        expect(op, "out", out, b, tn, c);
        expectRank(op, "kCache", kCache, 4);
        int cacheT = kCache.shape()[2];
        expect(op, "kCache", kCache, b, nHead, cacheT, hs);
        expect(op, "vCache", vCache, b, nHead, cacheT, hs);
        expectRank(op, "mask", mask, 2);
        int maskT = mask.shape()[0];
        expect(op, "mask", mask, maskT, maskT);
        if (pos < 0 || pos + tn > Math.min(cacheT, maskT)) {
            throw new IllegalArgumentException(op + ": positions [" + pos + ", " + (pos + tn) + ") do not fit a cache of "
                    + cacheT + " and a mask of " + maskT + " positions");
        }
        var d = new CachedAttention.Dims(b, tn, c, nHead, cacheT, maskT, pos);
        float[] o = f32(op, "out", out).data(), x = f32(op, "qkv", qkv).data(), m = f32(op, "mask", mask).data();
        float[] kc = f32(op, "kCache", kCache).data(), vc = f32(op, "vCache", vCache).data();
        // Causal mask: query p sees p+1 keys, so the new rows see sum_t (pos+t+1) keys per head.
        long live = (long) b * nHead * ((long) tn * pos + (long) tn * (tn + 1) / 2);
        timed("attention_cached", 4L * (qkv.numel() + out.numel() + 2L * b * tn * c + 2L * live * hs),
                4.0 * live * hs + 5.0 * live, () -> cachedAttention.forward(o, kc, vc, x, m, d));
    }

    @Override
    public void geluForward(Tensor out, Tensor in) {
        var op = "geluForward";
        expect(op, "out", out, in.shape());
        float[] o = f32(op, "out", out).data(), x = f32(op, "in", in).data();
        timed("gelu_forward", 8L * in.numel(), 10.0 * in.numel(), () -> pointwise.geluForward(o, x));
    }

    @Override
    public void geluBackward(Tensor din, Tensor dout, Tensor in) {
        var op = "geluBackward";
        expect(op, "din", din, in.shape());
        expect(op, "dout", dout, in.shape());
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data(), x = f32(op, "in", in).data();
        timed("gelu_backward", 16L * in.numel(), 20.0 * in.numel(), () -> pointwise.geluBackward(dx, dy, x));
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        var op = "add";
        expect(op, "b", b, a.shape());
        expect(op, "out", out, a.shape());
        float[] o = f32(op, "out", out).data(), x = f32(op, "a", a).data(), y = f32(op, "b", b).data();
        timed("add", 12L * a.numel(), a.numel(), () -> pointwise.add(o, x, y));
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, Dropout dropout) {
        var op = "dropoutForward";
        Objects.requireNonNull(dropout, op + ": dropout must not be null (use Dropout.NONE)");
        expect(op, "out", out, in.shape());
        float[] o = f32(op, "out", out).data(), x = f32(op, "in", in).data();
        timed("dropout_forward", 8L * in.numel(), in.numel(), () -> pointwise.dropoutForward(o, x, dropout));
    }

    @Override
    public void dropoutBackward(Tensor din, Tensor dout, Dropout dropout) {
        var op = "dropoutBackward";
        Objects.requireNonNull(dropout, op + ": dropout must not be null (use Dropout.NONE)");
        expect(op, "din", din, dout.shape());
        float[] dx = f32(op, "din", din).data(), dy = f32(op, "dout", dout).data();
        timed("dropout_backward", 12L * dout.numel(), 2.0 * dout.numel(),
                () -> pointwise.dropoutBackward(dx, dy, dropout));
    }

    @Override
    public void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale) {
        var op = "crossEntropy";
        int n = logits.rows(), v = logits.lastDim();
        expectNumel(op, "targets", targets, n);
        expectNumel(op, "losses", losses, n);
        if (dlogits != null) expect(op, "dlogits", dlogits, logits.shape());
        int[] tgt = i32(op, "targets", targets).ints();
        for (int i = 0; i < n; i++) {
            if (tgt[i] != CrossEntropy.IGNORE && (tgt[i] < 0 || tgt[i] >= v)) {
                throw new IllegalArgumentException(op + ": target token id " + tgt[i] + " at position " + i
                        + " is outside [0, " + v + ") and is not the ignore index " + CrossEntropy.IGNORE);
            }
        }
        float[] l = f32(op, "losses", losses).data(), x = f32(op, "logits", logits).data();
        float[] dx = dlogits == null ? null : f32(op, "dlogits", dlogits).data();
        long nv = (long) n * v;
        // Max pass and exp-sum pass; the gradient adds one more exp pass and a write.
        timed("cross_entropy", 4L * (nv * (dx == null ? 2 : 4) + 2L * n),
                nv * (dx == null ? 4.0 : 7.0), () -> crossEntropy.run(l, dx, x, tgt, v, dlossScale));
    }

    @Override
    public void accumulateLoss(Tensor state, Tensor losses, float scale) {
        CpuTensor st = stepState("accumulateLoss", state);
        float[] l = f32("accumulateLoss", "losses", losses).data();
        long h = profiler.begin();
        double sum = 0;
        for (float x : l) sum += x;
        st.array()[st.offset() + StepState.LOSS] += (float) (scale * sum);
        profiler.end(h, "accumulate_loss", 4L * l.length, l.length);
    }

    @Override
    public void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm) {
        var op = "stepDecision";
        CpuTensor st = stepState(op, state), g = f32(op, "grads", grads);
        int[] rows = chunkRows(op, chunks, g);
        long h = profiler.begin();
        double sumSq = arenaOptimizer.sumOfSquares(g.array(), g.offset(), rows);
        ArenaOptimizer.decide(st.array(), st.offset(), sumSq, maxNorm);
        profiler.end(h, "step_decision", 4 * g.numel(), 2.0 * g.numel());
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig config,
                      boolean zeroGrad) {
        var op = "adamw";
        expect(op, "grads", grads, params.shape());
        expect(op, "m", m, params.shape());
        expect(op, "v", v, params.shape());
        CpuTensor p = f32(op, "params", params), g = f32(op, "grads", grads), mm = f32(op, "m", m), vv = f32(op, "v", v);
        CpuTensor st = stepState(op, state);
        int[] rows = chunkRows(op, chunks, p);
        long n = params.numel();
        timed("adamw", (zeroGrad ? 32L : 28L) * n, 16.0 * n, () -> arenaOptimizer.adamw(p.array(), p.offset(), g.array(),
                g.offset(), mm.array(), mm.offset(), vv.array(), vv.offset(), rows, st.array(), st.offset(), config,
                zeroGrad));
    }

    private static CpuTensor stepState(String op, Tensor state) {
        expectNumel(op, "state", state, StepState.SIZE);
        return f32(op, "state", state);
    }

    /** The rows of a chunk table, checked to lie inside {@code arena}. */
    private static int[] chunkRows(String op, Tensor chunks, Tensor arena) {
        int[] rows = i32(op, "chunks", chunks).ints();
        expect(op, "chunks", chunks, rows.length / ArenaChunks.COLUMNS, ArenaChunks.COLUMNS);
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
        profiler.end(h, "sum_of_squares", 4 * x.numel(), 2.0 * x.numel());
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

    private void timed(String name, long bytes, double flops, Runnable work) {
        long h = profiler.begin();
        work.run();
        profiler.end(h, name, bytes, flops);
    }

    private static int count(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return Math.toIntExact(n);
    }
}
