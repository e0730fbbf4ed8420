package io.jgpt.cpu;

import io.jgpt.ops.Dropout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head self-attention core on a packed qkv tensor, one task per (batch, head): a task touches only its
 * own head's channels of out/dqkv and its own (T,T) block of att, so tasks never share memory they write.
 * The products (scores, weighted values and their gradients) are {@link HeadGemm} products that read the
 * left operand in place and pack each right operand once per head.
 *
 * <p>Layout: qkv (B,T,3C) = [q | k | v]; head h of q at channels h*hs..(h+1)*hs (k and v likewise, offset by
 * C and 2C); att (B,NH,T,T) holds softmax probabilities before dropout; dropout index ((b*NH+h)*T+t)*T+t2.
 *
 * <p>Query rows go in blocks ({@link #ROWS} by default); a block only computes keys below its mask horizon (past
 * the last key any of its rows may see), which skips most of a causal mask's upper triangle. Within the horizon, masked
 * scores are -infinity and their probabilities an exact 0, so they add exactly nothing to any product: a row's
 * results never depend on the keys it may not see.
 */
final class Attention {

    /** Shape of one call: batch, time, channels, heads, and the mask's row length. */
    record Dims(int b, int t, int c, int nh, int maxT) {
        int hs() {
            return c / nh;
        }
    }

    /** Query rows per block: a multiple of {@link Gemm#MR}, small enough that the horizons hug the diagonal. */
    static final int ROWS = 6 * Gemm.MR;
    private static final VectorSpecies<Float> S = Simd.S;

    private final Parallel parallel;
    private final int rows;
    private final Scratch scratch = new Scratch(8);

    Attention(Parallel parallel) {
        this(parallel, ROWS);
    }

    /** Smaller blocks let tests cross block boundaries with a short sequence. */
    Attention(Parallel parallel, int rows) {
        this.parallel = parallel;
        this.rows = rows;
    }

    void forward(float[] out, float[] att, float[] qkv, float[] mask, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        int[] horizon = horizons(mask, d);
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh(), a0 = bh * T * T, qo = b * T * 3 * C + h * hs;
            // k^T and v packed once per head; every row block reads them.
            float[] kT = scratch.get(2, HeadGemm.packedSize(hs, T)), v = scratch.get(3, HeadGemm.packedSize(T, hs));
            HeadGemm.packColumns(qkv, qo + C, 3 * C, hs, T, kT);
            HeadGemm.packRows(qkv, qo + 2 * C, 3 * C, T, hs, v);
            float[] edge = scratch.get(4, HeadGemm.MR * (HeadGemm.NR + Math.max(T, hs)));
            // The value product reads the probabilities after dropout: att itself when there is none.
            float[] dropped = dropout.active() ? scratch.get(0, T * T) : att, keep = scratch.get(1, T);
            int d0 = dropout.active() ? 0 : a0;
            for (int i0 = 0; i0 < T; i0 += rows) {
                int i1 = Math.min(T, i0 + rows), n = rowHorizon(horizon, i0, i1), o = (b * T + i0) * C + h * hs;
                for (int t = i0; t < i1; t++) {
                    Arrays.fill(att, a0 + t * T, a0 + t * T + n, 0f);
                    Arrays.fill(out, o + (t - i0) * C, o + (t - i0) * C + hs, 0f);
                }
                HeadGemm.multiplyAdd(i1 - i0, n, hs, qkv, qo + i0 * 3 * C, 3 * C, 1, kT, hs, 0, att, a0 + i0 * T, T,
                        edge);
                for (int t = i0; t < i1; t++) {
                    int row = a0 + t * T;
                    softmax(att, row, n, mask, t * d.maxT(), scale);
                    Arrays.fill(att, row + n, row + T, 0f);
                    if (dropout.active()) {
                        DropoutLanes.factors(dropout, row, keepScale, keep, 0, n);
                        multiply(att, row, keep, dropped, t * T, n);
                    }
                }
                HeadGemm.multiplyAdd(i1 - i0, hs, n, dropped, d0 + i0 * T, T, 1, v, T, 0, out, o, C, edge);
            }
        });
    }

    /**
     * With P the saved probabilities and D the dropout factors (0 or 1/(1-p)), the forward computed
     * out = (P∘D) v. Then dP = D ∘ (dout v^T); dS = P ∘ (dP - rowsum(P ∘ dP)) * scale; dq += dS k,
     * dk += dS^T q, dv += (P∘D)^T dout. Entries with P = 0 (masked) contribute nothing.
     */
    void backward(float[] dqkv, float[] dout, float[] qkv, float[] att, float[] mask, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        int[] horizon = horizons(mask, d);
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh(), a0 = bh * T * T, qo = b * T * 3 * C + h * hs, oo = b * T * C + h * hs;
            int dq = qo, dk = dq + C, dv = dq + 2 * C;
            // The right-hand operands packed once per head: v^T and k for the query side, dout and q for the key side.
            float[] vT = scratch.get(3, HeadGemm.packedSize(hs, T)), k = scratch.get(5, HeadGemm.packedSize(T, hs));
            float[] dO = scratch.get(6, HeadGemm.packedSize(T, hs)), q = scratch.get(7, HeadGemm.packedSize(T, hs));
            HeadGemm.packColumns(qkv, qo + 2 * C, 3 * C, hs, T, vT);
            HeadGemm.packRows(qkv, qo + C, 3 * C, T, hs, k);
            HeadGemm.packRows(dout, oo, C, T, hs, dO);
            HeadGemm.packRows(qkv, qo, 3 * C, T, hs, q);
            float[] edge = scratch.get(4, HeadGemm.MR * (HeadGemm.NR + Math.max(T, hs)));
            // dS for the whole head (the key-side products read it by columns), and P∘D when there is dropout.
            float[] ds = scratch.get(0, T * T), keep = scratch.get(1, T);
            float[] dropped = dropout.active() ? scratch.get(2, T * T) : att;
            int d0 = dropout.active() ? 0 : a0;
            for (int i0 = 0; i0 < T; i0 += rows) {
                int i1 = Math.min(T, i0 + rows), n = rowHorizon(horizon, i0, i1);
                for (int t = i0; t < i1; t++) Arrays.fill(ds, t * T, t * T + n, 0f);
                HeadGemm.multiplyAdd(i1 - i0, n, hs, dout, oo + i0 * C, C, 1, vT, hs, 0, ds, i0 * T, T, edge);
                for (int t = i0; t < i1; t++) {
                    if (dropout.active()) {
                        DropoutLanes.factors(dropout, a0 + t * T, keepScale, keep, 0, n);
                        multiply(att, a0 + t * T, keep, dropped, t * T, n);
                        Arrays.fill(dropped, t * T + n, (t + 1) * T, 0f);
                    }
                    softmaxBackward(ds, t * T, att, a0 + t * T, dropout.active() ? keep : null, n, scale);
                    Arrays.fill(ds, t * T + n, (t + 1) * T, 0f);
                }
                HeadGemm.multiplyAdd(i1 - i0, hs, n, ds, i0 * T, T, 1, k, T, 0, dqkv, dq + i0 * 3 * C, 3 * C, edge);
            }
            // Key side, in blocks of keys: only queries from the first that sees the block contribute.
            for (int j0 = 0; j0 < T; j0 += rows) {
                int j1 = Math.min(T, j0 + rows), t0 = firstQuery(horizon, j0), queries = T - t0;
                HeadGemm.multiplyAdd(j1 - j0, hs, queries, dropped, d0 + t0 * T + j0, 1, T, dO, T, t0,
                        dqkv, dv + j0 * 3 * C, 3 * C, edge);
                HeadGemm.multiplyAdd(j1 - j0, hs, queries, ds, t0 * T + j0, 1, T, q, T, t0,
                        dqkv, dk + j0 * 3 * C, 3 * C, edge);
            }
        });
    }

    /** horizon[t] = 1 + the last key that query t may see (0 if none): every key from there on is masked. */
    private static int[] horizons(float[] mask, Dims d) {
        int[] horizon = new int[d.t()];
        for (int t = 0; t < d.t(); t++) {
            for (int t2 = d.t() - 1; t2 >= 0 && horizon[t] == 0; t2--) {
                if (mask[t * d.maxT() + t2] == 0f) horizon[t] = t2 + 1;
            }
        }
        return horizon;
    }

    /** Keys that query rows [i0, i1) may see lie below this. */
    private static int rowHorizon(int[] horizon, int i0, int i1) {
        int n = 0;
        for (int t = i0; t < i1; t++) n = Math.max(n, horizon[t]);
        return n;
    }

    /** The first query that may see a key at or after j0 (T if none). */
    private static int firstQuery(int[] horizon, int j0) {
        int t = 0;
        while (t < horizon.length && horizon[t] <= j0) t++;
        return t;
    }

    /*
     * The row loops below run whole vectors unmasked and then one masked tail (whole vectors compile to tighter
     * code); every lane sees the same operations either way.
     */

    /**
     * Raw scores s[so, so+n) to probabilities in place: scaled, masked (mask != 0) to -infinity, then softmax.
     * exp(-infinity) is an exact 0, and a fully masked row (max -infinity) gets all zeros.
     */
    private static void softmax(float[] s, int so, int n, float[] mask, int mo, float scale) {
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, s, so + i).mul(scale)
                        .blend(Float.NEGATIVE_INFINITY, FloatVector.fromArray(S, mask, mo + i).compare(VectorOperators.NE, 0f));
                x.intoArray(s, so + i);
                max = max.lanewise(VectorOperators.MAX, x);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector x = FloatVector.fromArray(S, s, so + i, m).mul(scale)
                        .blend(Float.NEGATIVE_INFINITY, FloatVector.fromArray(S, mask, mo + i, m).compare(VectorOperators.NE, 0f));
                x.intoArray(s, so + i, m);
                max = max.lanewise(VectorOperators.MAX, x, m);
            }
        }
        float mx = max.reduceLanes(VectorOperators.MAX);
        if (mx == Float.NEGATIVE_INFINITY) mx = 0f;
        FloatVector sum = FloatVector.zero(S);
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector e = Exp.exp(FloatVector.fromArray(S, s, so + i).sub(mx));
                e.intoArray(s, so + i);
                sum = sum.add(e);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector e = Exp.exp(FloatVector.fromArray(S, s, so + i, m).sub(mx));
                e.intoArray(s, so + i, m);
                sum = sum.add(e, m);
            }
        }
        float total = Simd.sumLanes(sum);
        Simd.scale(s, so, n, total == 0f ? 0f : 1f / total);
    }

    /** out[oo+i] = x[xo+i] * f[i] for i in [0, n). */
    private static void multiply(float[] x, int xo, float[] f, float[] out, int oo, int n) {
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector.fromArray(S, x, xo + i).mul(FloatVector.fromArray(S, f, i)).intoArray(out, oo + i);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector.fromArray(S, x, xo + i, m).mul(FloatVector.fromArray(S, f, i, m)).intoArray(out, oo + i, m);
            }
        }
    }

    /**
     * One query row, g[go, go+n) holding dout·v^T on entry and dS on exit: dP = D∘g (keep holds D, null without
     * dropout), dS = P ∘ (dP - sum(P ∘ dP)) * scale.
     */
    private static void softmaxBackward(float[] g, int go, float[] p, int po, float[] keep, int n, float scale) {
        FloatVector pdp = FloatVector.zero(S);
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector dp = FloatVector.fromArray(S, g, go + i);
                if (keep != null) {
                    dp = dp.mul(FloatVector.fromArray(S, keep, i));
                    dp.intoArray(g, go + i);
                }
                pdp = FloatVector.fromArray(S, p, po + i).fma(dp, pdp);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector dp = FloatVector.fromArray(S, g, go + i, m);
                if (keep != null) {
                    dp = dp.mul(FloatVector.fromArray(S, keep, i, m));
                    dp.intoArray(g, go + i, m);
                }
                pdp = FloatVector.fromArray(S, p, po + i, m).fma(dp, pdp);
            }
        }
        float dot = Simd.sumLanes(pdp);
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector pi = FloatVector.fromArray(S, p, po + i);
                pi.mul(FloatVector.fromArray(S, g, go + i).sub(dot)).mul(scale).intoArray(g, go + i);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector pi = FloatVector.fromArray(S, p, po + i, m);
                pi.mul(FloatVector.fromArray(S, g, go + i, m).sub(dot)).mul(scale).intoArray(g, go + i, m);
            }
        }
    }
}
