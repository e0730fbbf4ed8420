package io.jgpt.ops;

import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;

/**
 * The argument checks of every {@link Ops} method, shared by all backends: shapes, ranks and element types,
 * with messages that name the op, the tensor and both shapes. Each op's check returns the dimensions the op
 * works with. What a backend adds on top is its own (which storage types it implements, host-side id checks).
 */
public final class OpShapes {

    private OpShapes() {}

    // ---- single tensors -----------------------------------------------------------------------------

    public static void notNull(String op, String name, Object value) {
        if (value == null) throw new IllegalArgumentException(op + ": " + name + " must not be null");
    }

    /** Exactly this shape. */
    public static void expect(String op, String name, Tensor t, int... expected) {
        notNull(op, name, t);
        if (!Arrays.equals(t.shape(), expected)) fail(op, name, t, Tensor.describe(expected));
    }

    /** Any shape whose leading dimensions flatten to {@code rows} and whose last dimension is {@code cols}. */
    public static void expectRows(String op, String name, Tensor t, int rows, int cols) {
        notNull(op, name, t);
        if (t.lastDim() != cols || t.numel() != (long) rows * cols)
            fail(op, name, t, "[" + rows + ", " + cols + "] (leading dimensions flattened)");
    }

    /** Any shape holding exactly {@code n} elements (one per row of another tensor). */
    public static void expectNumel(String op, String name, Tensor t, long n) {
        notNull(op, name, t);
        if (t.numel() != n) fail(op, name, t, "[" + n + "] (any shape of " + n + " elements)");
    }

    /** The number of dimensions. */
    public static void expectRank(String op, String name, Tensor t, int rank) {
        notNull(op, name, t);
        if (t.shape().length != rank) fail(op, name, t, "rank " + rank);
    }

    public static void expectDType(String op, String name, Tensor t, DType dtype) {
        notNull(op, name, t);
        if (t.dtype() != dtype)
            throw new IllegalArgumentException(op + ": " + name + " " + Tensor.describe(t.shape()) + " is "
                    + t.dtype() + ", expected " + dtype);
    }

    /**
     * The floating storage type (F32 or BF16) that all these tensors share: an op's activations are stored
     * alike; parameters' gradients and statistics are F32 and checked with {@link #expectDType}.
     */
    public static DType storage(String op, Tensor first, Tensor... rest) {
        notNull(op, "tensor", first);
        DType d = first.dtype();
        if (!d.floating())
            throw new IllegalArgumentException(op + ": " + Tensor.describe(first.shape()) + " is " + d
                    + ", expected a floating type (F32 or BF16)");
        for (Tensor t : rest) {
            notNull(op, "tensor", t);
            if (t.dtype() != d)
                throw new IllegalArgumentException(op + ": operands mix " + d + " " + Tensor.describe(first.shape())
                        + " and " + t.dtype() + " " + Tensor.describe(t.shape()) + "; they must share one type");
        }
        return d;
    }

    private static void fail(String op, String name, Tensor t, String expected) {
        throw new IllegalArgumentException(op + ": " + name + " has shape " + Tensor.describe(t.shape())
                + ", expected " + expected);
    }

    // ---- ops ----------------------------------------------------------------------------------------

    /** out like in; returns the element count. */
    public static long geluForward(String op, Tensor out, Tensor in) {
        notNull(op, "in", in);
        expect(op, "out", out, in.shape());
        return in.numel();
    }

    /** din and dout like in; returns the element count. */
    public static long geluBackward(String op, Tensor din, Tensor dout, Tensor in) {
        notNull(op, "in", in);
        expect(op, "din", din, in.shape());
        expect(op, "dout", dout, in.shape());
        return in.numel();
    }

    /** b and out like a; returns the element count. */
    public static long add(String op, Tensor out, Tensor a, Tensor b) {
        notNull(op, "a", a);
        expect(op, "b", b, a.shape());
        expect(op, "out", out, a.shape());
        return a.numel();
    }

    /** out like in, a dropout given; returns the element count. */
    public static long dropoutForward(String op, Tensor out, Tensor in, Dropout dropout) {
        notNull(op, "dropout (use Dropout.NONE)", dropout);
        notNull(op, "in", in);
        expect(op, "out", out, in.shape());
        return in.numel();
    }

    /** din like dout, a dropout given; returns the element count. */
    public static long dropoutBackward(String op, Tensor din, Tensor dout, Dropout dropout) {
        notNull(op, "dropout (use Dropout.NONE)", dropout);
        notNull(op, "dout", dout);
        expect(op, "din", din, dout.shape());
        return dout.numel();
    }

    public record EmbeddingDims(int b, int t, int c, int v) {
        public long n() {
            return (long) b * t * c;
        }
    }

    /**
     * tokens I32 (B,T) against a table (V,C), a position table (maxT >= T, C) and the activations (B,T,C);
     * the same for the forward (out, wte, wpe) and the backward (dout, dwte, dwpe).
     */
    public static EmbeddingDims embedding(String op, Tensor rows, String rowsName, Tensor tokens, Tensor table,
                                          String tableName, Tensor positions, String positionsName) {
        expectRank(op, "tokens", tokens, 2);
        expectDType(op, "tokens", tokens, DType.I32);
        expectRank(op, tableName, table, 2);
        expectRank(op, positionsName, positions, 2);
        int b = tokens.shape()[0], t = tokens.shape()[1], v = table.shape()[0], c = table.shape()[1];
        // The position table may have more rows (maxT) than this batch's T, never fewer.
        expect(op, positionsName, positions, Math.max(t, positions.shape()[0]), c);
        expect(op, rowsName, rows, b, t, c);
        return new EmbeddingDims(b, t, c, v);
    }

    public record RowDims(int n, int c) {
        public long size() {
            return (long) n * c;
        }
    }

    /** in (N..,C) and out like it; mean, rstd F32 of N elements; weight, bias (C). */
    public static RowDims layerNormForward(String op, Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight,
                                           Tensor bias) {
        notNull(op, "in", in);
        RowDims d = new RowDims(in.rows(), in.lastDim());
        expect(op, "out", out, in.shape());
        statistics(op, d, mean, rstd);
        expect(op, "weight", weight, d.c);
        expect(op, "bias", bias, d.c);
        return d;
    }

    /** x (N..,C) with branch and sum like it, then {@link #layerNormForward} of sum into out. */
    public static RowDims residualLayerNormForward(String op, Tensor sum, Tensor out, Tensor mean, Tensor rstd,
                                                   Tensor x, Tensor branch, Tensor weight, Tensor bias) {
        notNull(op, "x", x);
        expect(op, "branch", branch, x.shape());
        expect(op, "sum", sum, x.shape());
        return layerNormForward(op, out, mean, rstd, sum, weight, bias);
    }

    /** din, dout like in (N..,C); weight, dweight, dbias (C); mean, rstd F32 of N elements. */
    public static RowDims layerNormBackward(String op, Tensor din, Tensor dweight, Tensor dbias, Tensor dout,
                                            Tensor in, Tensor weight, Tensor mean, Tensor rstd) {
        notNull(op, "in", in);
        RowDims d = new RowDims(in.rows(), in.lastDim());
        expect(op, "din", din, in.shape());
        expect(op, "dout", dout, in.shape());
        expect(op, "weight", weight, d.c);
        expect(op, "dweight", dweight, d.c);
        expect(op, "dbias", dbias, d.c);
        statistics(op, d, mean, rstd);
        return d;
    }

    private static void statistics(String op, RowDims d, Tensor mean, Tensor rstd) {
        expectNumel(op, "mean", mean, d.n);
        expectNumel(op, "rstd", rstd, d.n);
        expectDType(op, "mean", mean, DType.F32);
        expectDType(op, "rstd", rstd, DType.F32);
    }

    public record LinearDims(int n, int ic, int oc) {}

    /** in (N..,IC), weight (OC,IC), out (N..,OC), bias (OC) or null. */
    public static LinearDims linearForward(String op, Tensor out, Tensor in, Tensor weight, Tensor bias) {
        LinearDims d = linear(op, in, weight);
        expectRows(op, "out", out, d.n, d.oc);
        if (bias != null) expect(op, "bias", bias, d.oc);
        return d;
    }

    /** As {@link #linearForward} for dout, plus dweight like weight, din like in or null, dbias (OC) or null. */
    public static LinearDims linearBackward(String op, Tensor din, Tensor dweight, Tensor dbias, Tensor dout,
                                            Tensor in, Tensor weight) {
        LinearDims d = linear(op, in, weight);
        expect(op, "dweight", dweight, d.oc, d.ic);
        expectRows(op, "dout", dout, d.n, d.oc);
        if (din != null) expect(op, "din", din, in.shape());
        if (dbias != null) expect(op, "dbias", dbias, d.oc);
        return d;
    }

    /** As {@link #linearForward} with a bias, and preact like out. */
    public static LinearDims linearGeluForward(String op, Tensor out, Tensor preact, Tensor in, Tensor weight,
                                               Tensor bias) {
        notNull(op, "bias", bias);
        LinearDims d = linearForward(op, out, in, weight, bias);
        expect(op, "preact", preact, out.shape());
        return d;
    }

    /** dout (N..,OC) against weight (OC,IC); preact (N..,IC) with dpreact like it; dbias (IC) or null. */
    public static LinearDims linearBackwardThroughGelu(String op, Tensor dpreact, Tensor dbias, Tensor dout,
                                                       Tensor weight, Tensor preact) {
        notNull(op, "preact", preact);
        notNull(op, "dout", dout);
        expectRank(op, "weight", weight, 2);
        int oc = weight.shape()[0], ic = weight.shape()[1];
        expect(op, "weight", weight, dout.lastDim(), preact.lastDim());
        expectRows(op, "dout", dout, preact.rows(), oc);
        expect(op, "dpreact", dpreact, preact.shape());
        if (dbias != null) {
            expect(op, "dbias", dbias, ic);
            expectDType(op, "dbias", dbias, DType.F32);
        }
        return new LinearDims(preact.rows(), ic, oc);
    }

    private static LinearDims linear(String op, Tensor in, Tensor weight) {
        notNull(op, "in", in);
        expectRank(op, "weight", weight, 2);
        int oc = weight.shape()[0];
        expect(op, "weight", weight, oc, in.lastDim());
        return new LinearDims(in.rows(), in.lastDim(), oc);
    }

    public record AttentionDims(int b, int t, int c, int nh) {
        public int hs() {
            return c / nh;
        }

        /** Elements of each of q, k, v, out: B*T*C. */
        public long btc() {
            return (long) b * t * c;
        }

        /** Query rows over all heads: B*NH*T (the log-sum-exp's size). */
        public long rows() {
            return (long) b * nh * t;
        }

        /** Visible (t, t2 <= t) query-key pairs over all heads. */
        public long pairs() {
            return (long) b * nh * t * (t + 1L) / 2;
        }
    }

    /** qkv (B,T,3C) split into nHead heads; lse F32 (B,NH,T); dropout set. */
    public static AttentionDims attention(String op, Tensor qkv, Tensor lse, int nHead, Dropout dropout) {
        notNull(op, "dropout (use Dropout.NONE)", dropout);
        int[] s = heads(op, qkv, nHead);
        expect(op, "lse", lse, s[0], nHead, s[1]);
        expectDType(op, "lse", lse, DType.F32);
        return new AttentionDims(s[0], s[1], s[2] / 3, nHead);
    }

    /** batch, new tokens per sequence, channels, heads, cache rows per head, mask rows. */
    public record CachedAttentionDims(int b, int tn, int c, int nh, int cacheT, int maskT) {
        public int hs() {
            return c / nh;
        }

        /** Positions a query may have: those that fit both the cache and the mask. */
        public int maxKeys() {
            return Math.min(cacheT, maskT);
        }

        /** (query, key) pairs the causal mask lets through when the new tokens sit at {@code positions}. */
        public long live(int[] positions) {
            long keys = 0;
            for (int p : positions) keys += p + 1;
            return nh * keys;
        }

        /** The most (query, key) pairs any positions can give: every query seeing {@link #maxKeys}. */
        public long liveBound() {
            return (long) b * tn * nh * maxKeys();
        }
    }

    /** qkv (B,Tn,3C); out (B,Tn,C); kCache, vCache (B,NH,L,hs); mask square; positions I32 (B,Tn). */
    public static CachedAttentionDims attentionCached(String op, Tensor out, Tensor qkv, Tensor kCache,
                                                      Tensor vCache, Tensor mask, Tensor positions, int nHead) {
        int[] s = heads(op, qkv, nHead);
        int b = s[0], tn = s[1], c = s[2] / 3, hs = c / nHead;
        expect(op, "out", out, b, tn, c);
        expectRank(op, "kCache", kCache, 4);
        int cacheT = kCache.shape()[2];
        expect(op, "kCache", kCache, b, nHead, cacheT, hs);
        expect(op, "vCache", vCache, b, nHead, cacheT, hs);
        expectRank(op, "mask", mask, 2);
        int maskT = mask.shape()[0];
        expect(op, "mask", mask, maskT, maskT);
        expect(op, "positions", positions, b, tn);
        expectDType(op, "positions", positions, DType.I32);
        return new CachedAttentionDims(b, tn, c, nHead, cacheT, maskT);
    }

    /** Every position within the cache and the mask of {@code d}; where the host can read the positions. */
    public static void checkPositions(String op, int[] positions, CachedAttentionDims d) {
        for (int i = 0; i < positions.length; i++) {
            if (positions[i] < 0 || positions[i] >= d.maxKeys())
                throw new IllegalArgumentException(op + ": position " + positions[i] + " of new token " + i
                        + " does not fit a cache of " + d.cacheT() + " and a mask of " + d.maskT() + " positions");
        }
    }

    /** The shape of a (B, T, 3C) qkv tensor whose C splits into nHead heads. */
    private static int[] heads(String op, Tensor qkv, int nHead) {
        expectRank(op, "qkv", qkv, 3);
        int[] s = qkv.shape();
        if (nHead <= 0 || s[2] % (3 * nHead) != 0)
            throw new IllegalArgumentException(op + ": qkv " + Tensor.describe(s) + " cannot be split into q, k, v of "
                    + nHead + " heads each");
        return s;
    }

    /** logits (N..,V); targets I32 and losses of N elements; dlogits like logits or null. */
    public static RowDims crossEntropy(String op, Tensor losses, Tensor dlogits, Tensor logits, Tensor targets) {
        notNull(op, "logits", logits);
        RowDims d = new RowDims(logits.rows(), logits.lastDim());
        expectNumel(op, "targets", targets, d.n);
        expectDType(op, "targets", targets, DType.I32);
        expectNumel(op, "losses", losses, d.n);
        if (dlogits != null) expect(op, "dlogits", dlogits, logits.shape());
        return d;
    }

    /** logits (N..,V) F32; out I32 of N elements. */
    public static RowDims argmaxRows(String op, Tensor out, Tensor logits) {
        notNull(op, "logits", logits);
        expectDType(op, "logits", logits, DType.F32);
        RowDims d = new RowDims(logits.rows(), logits.lastDim());
        expectNumel(op, "out", out, d.n());
        expectDType(op, "out", out, DType.I32);
        return d;
    }

    /** The classifier's rows N, channels C, vocabulary V and chunk rows R. */
    public record ClassifierDims(int n, int c, int v, int chunk) {}

    /**
     * x (N..,C) and weight (V,C); losses F32 and targets I32 of N elements; dx like x and dweight like weight, both
     * or neither; the work buffer logits (R,V).
     */
    public static ClassifierDims classifier(String op, Tensor losses, Tensor dx, Tensor dweight, Tensor x,
                                            Tensor weight, Tensor targets, Tensor logits) {
        LinearDims d = linear(op, x, weight);
        expectNumel(op, "targets", targets, d.n);
        expectDType(op, "targets", targets, DType.I32);
        expectNumel(op, "losses", losses, d.n);
        expectDType(op, "losses", losses, DType.F32);
        if ((dx == null) != (dweight == null))
            throw new IllegalArgumentException(op + ": dx and dweight are given together (training) or not at all (a loss alone)");
        if (dx != null) {
            expect(op, "dx", dx, x.shape());
            expect(op, "dweight", dweight, weight.shape());
        }
        expectRank(op, "logits", logits, 2);
        expect(op, "logits", logits, logits.shape()[0], d.oc);
        return new ClassifierDims(d.n, d.ic, d.oc, logits.shape()[0]);
    }

    /** The backend's F32 StepState tensor. */
    public static void stepState(String op, Tensor state) {
        expectNumel(op, "state", state, StepState.SIZE);
        expectDType(op, "state", state, DType.F32);
    }

    /** An I32 chunk table (k, ArenaChunks.COLUMNS); returns k. Its rows' ranges are checked where they are read. */
    public static int chunks(String op, Tensor chunks) {
        expectRank(op, "chunks", chunks, 2);
        expect(op, "chunks", chunks, chunks.shape()[0], ArenaChunks.COLUMNS);
        expectDType(op, "chunks", chunks, DType.I32);
        return chunks.shape()[0];
    }

    /** state += scale * sum(losses): losses F32. Returns the loss count. */
    public static long accumulateLoss(String op, Tensor state, Tensor losses) {
        stepState(op, state);
        expectDType(op, "losses", losses, DType.F32);
        return losses.numel();
    }

    /** The F32 gradient arena, its chunk table and the step state; returns the chunk count. */
    public static int stepDecision(String op, Tensor state, Tensor grads, Tensor chunks) {
        stepState(op, state);
        expectDType(op, "grads", grads, DType.F32);
        return chunks(op, chunks);
    }

    /** params, grads, m, v: F32 arenas of one shape; the chunk table and the step state. Returns the size. */
    public static long adamw(String op, Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state) {
        expectDType(op, "params", params, DType.F32);
        expect(op, "grads", grads, params.shape());
        expect(op, "m", m, params.shape());
        expect(op, "v", v, params.shape());
        expectDType(op, "grads", grads, DType.F32);
        expectDType(op, "m", m, DType.F32);
        expectDType(op, "v", v, DType.F32);
        chunks(op, chunks);
        stepState(op, state);
        return params.numel();
    }
}
