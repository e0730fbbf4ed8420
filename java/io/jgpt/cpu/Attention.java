package io.jgpt.cpu;

import io.jgpt.ops.Dropout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal multi-head self-attention core on a packed qkv tensor, one task per (batch, head): a task touches only its
 * own head's channels of out/dqkv and its own rows of lse, so tasks never share memory they write. The products
 * (scores, weighted values and their gradients) are {@link HeadGemm} products that read the left operand in place
 * and pack each right operand once per head.
 *
 * <p>Layout: qkv (B,T,3C) = [q | k | v]; head h of q at channels h*hs..(h+1)*hs (k and v likewise, offset by
 * C and 2C); lse (B,NH,T) holds each query row's log-sum-exp of its scaled visible scores, the only thing the
 * forward saves: the backward recomputes the probabilities as exp(score - lse). Dropout index
 * ((b*NH+h)*T+t)*T+t2.
 *
 * <p>Query rows go in blocks ({@link #ROWS} by default) of scores held in a per-thread (rows, T) buffer, so memory
 * grows with T, not T². A block [i0, i1) only computes keys below i1 (the causal horizon of its last row), which
 * skips most of the upper triangle; within the horizon, scores of keys after a row's own position get probability
 * an exact 0 and add exactly nothing to any product.
 */
final class Attention {

    /** Shape of one call: batch, time, channels, heads. */
    record Dims(int b, int t, int c, int nh) {
        int hs() {
            return c / nh;
        }
    }

    /** Query rows per block: a multiple of {@link Gemm#MR}, small enough that the horizons hug the diagonal. */
    static final int ROWS = 6 * Gemm.MR;
    /** Row blocks whose dS and P∘Z the backward gathers before its key-side products (memory: that many rows by T). */
    static final int KEY_SIDE_BLOCKS = 4;
    private static final VectorSpecies<Float> S = Simd.S;

    private final Parallel parallel;
    private final int rows;
    private final Scratch scratch = new Scratch(9);

    Attention(Parallel parallel) {
        this(parallel, ROWS);
    }

    /** Smaller blocks let tests cross block boundaries with a short sequence. */
    Attention(Parallel parallel, int rows) {
        this.parallel = parallel;
        this.rows = rows;
    }

    /** out = softmax(q k^T / sqrt(hs), causal) ∘ dropout · v per head; lse as in the class comment. */
    void forward(float[] out, float[] lse, float[] qkv, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh(), qo = b * T * 3 * C + h * hs;
            // k^T and v packed once per head; every row block reads them.
            float[] kT = scratch.get(2, HeadGemm.packedSize(hs, T)), v = scratch.get(3, HeadGemm.packedSize(T, hs));
            HeadGemm.packColumns(qkv, qo + C, 3 * C, hs, T, kT);
            HeadGemm.packRows(qkv, qo + 2 * C, 3 * C, T, hs, v);
            float[] edge = scratch.get(4, HeadGemm.MR * (HeadGemm.NR + Math.max(T, hs)));
            float[] p = scratch.get(0, rows * T), keep = scratch.get(1, T);
            for (int i0 = 0; i0 < T; i0 += rows) {
                int i1 = Math.min(T, i0 + rows), n = i1, o = (b * T + i0) * C + h * hs;
                for (int t = i0; t < i1; t++) {
                    Arrays.fill(p, (t - i0) * T, (t - i0) * T + n, 0f);
                    Arrays.fill(out, o + (t - i0) * C, o + (t - i0) * C + hs, 0f);
                }
                HeadGemm.multiplyAdd(i1 - i0, n, hs, qkv, qo + i0 * 3 * C, 3 * C, 1, kT, hs, 0, p, 0, T, edge);
                for (int t = i0; t < i1; t++) {
                    int row = (t - i0) * T;
                    lse[bh * T + t] = softmax(p, row, t + 1, scale);
                    Arrays.fill(p, row + t + 1, row + n, 0f);
                    if (dropout.active()) {
                        DropoutLanes.factors(dropout, ((long) bh * T + t) * T, keepScale, keep, 0, t + 1);
                        multiply(p, row, keep, p, row, t + 1);
                    }
                }
                HeadGemm.multiplyAdd(i1 - i0, hs, n, p, 0, T, 1, v, T, 0, out, o, C, edge);
            }
        });
    }

    /**
     * With P = exp(s·scale - lse) recomputed from q and k, and Z the dropout factors (0 or 1/(1-p)), the forward
     * computed out = (P∘Z) v. Then dP = Z ∘ (dout v^T); with Δ = rowsum(dout ∘ out) = rowsum(P ∘ dP),
     * dS = P ∘ (dP - Δ) · scale; dq += dS k, dk += dS^T q, dv += (P∘Z)^T dout.
     */
    void backward(float[] dqkv, float[] dout, float[] qkv, float[] out, float[] lse, Dims d, Dropout dropout) {
        int T = d.t(), C = d.c(), hs = d.hs();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float keepScale = dropout.active() ? dropout.scale() : 1f;
        parallel.forEach(d.b() * d.nh(), bh -> {
            int b = bh / d.nh(), h = bh % d.nh(), qo = b * T * 3 * C + h * hs, oo = b * T * C + h * hs;
            int dq = qo, dk = dq + C, dv = dq + 2 * C;
            // The right-hand operands packed once per head: k^T for the scores, v^T for dout·v^T, k for dq,
            // q and dout for the key side.
            float[] kT = scratch.get(2, HeadGemm.packedSize(hs, T)), vT = scratch.get(3, HeadGemm.packedSize(hs, T));
            float[] k = scratch.get(5, HeadGemm.packedSize(T, hs)), q = scratch.get(6, HeadGemm.packedSize(T, hs));
            float[] dO = scratch.get(7, HeadGemm.packedSize(T, hs));
            HeadGemm.packColumns(qkv, qo + C, 3 * C, hs, T, kT);
            HeadGemm.packColumns(qkv, qo + 2 * C, 3 * C, hs, T, vT);
            HeadGemm.packRows(qkv, qo + C, 3 * C, T, hs, k);
            HeadGemm.packRows(qkv, qo, 3 * C, T, hs, q);
            HeadGemm.packRows(dout, oo, C, T, hs, dO);
            float[] edge = scratch.get(4, HeadGemm.MR * (HeadGemm.NR + Math.max(T, hs)));
            // P (then P∘Z) and dout·v^T (then dS) for a chunk of query rows, (chunk, T) each: the query side works
            // block by block, the key side once per chunk, so its products are deep enough to run at GEMM speed.
            int chunk = KEY_SIDE_BLOCKS * rows;
            float[] p = scratch.get(0, chunk * T), g = scratch.get(8, chunk * T), keep = scratch.get(1, T);
            if (!dropout.active()) Arrays.fill(keep, 0, T, 1f); // no dropout: every factor is 1
            for (int c0 = 0; c0 < T; c0 += chunk) {
                int c1 = Math.min(T, c0 + chunk);
                for (int i0 = c0; i0 < c1; i0 += rows) {
                    int i1 = Math.min(c1, i0 + rows), n = i1, m = i1 - i0, o = (i0 - c0) * T;
                    Arrays.fill(p, o, o + m * T, 0f);
                    Arrays.fill(g, o, o + m * T, 0f);
                    HeadGemm.multiplyAdd(m, n, hs, qkv, qo + i0 * 3 * C, 3 * C, 1, kT, hs, 0, p, o, T, edge);
                    HeadGemm.multiplyAdd(m, n, hs, dout, oo + i0 * C, C, 1, vT, hs, 0, g, o, T, edge);
                    for (int t = i0; t < i1; t++) {
                        int row = (t - c0) * T, seen = t + 1;
                        float delta = Simd.dot(dout, oo + t * C, out, oo + t * C, hs);
                        if (dropout.active()) DropoutLanes.factors(dropout, ((long) bh * T + t) * T, keepScale, keep, 0, seen);
                        gradientRow(p, g, row, seen, lse[bh * T + t], delta, keep, scale);
                        Arrays.fill(p, row + seen, row + n, 0f);
                        Arrays.fill(g, row + seen, row + n, 0f);
                    }
                    HeadGemm.multiplyAdd(m, hs, n, g, o, T, 1, k, T, 0, dqkv, dq + i0 * 3 * C, 3 * C, edge);
                }
                // Key side (columns of dS and P∘Z read as rows): keys before the chunk gather all its queries; keys
                // inside it, block by block, only the queries from the block's first key on (entries past a row's
                // own position are exact zeros, so skipping them changes nothing).
                keySide(c0, hs, c1 - c0, 0, g, p, q, dO, T, c0, dqkv, dk, dv, 3 * C, edge);
                for (int j0 = c0; j0 < c1; j0 += rows) {
                    int j1 = Math.min(c1, j0 + rows);
                    keySide(j1 - j0, hs, c1 - j0, (j0 - c0) * T + j0, g, p, q, dO, T, j0, dqkv, dk + j0 * 3 * C,
                            dv + j0 * 3 * C, 3 * C, edge);
                }
            }
        });
    }

    /** dk += dS^T q and dv += (P∘Z)^T dout for `keys` keys over `queries` queries, dS and P∘Z read transposed at ao. */
    private static void keySide(int keys, int hs, int queries, int ao, float[] ds, float[] pz, float[] q, float[] dO,
                                int T, int k0, float[] dqkv, int dk, int dv, int ldc, float[] edge) {
        HeadGemm.multiplyAdd(keys, hs, queries, ds, ao, 1, T, q, T, k0, dqkv, dk, ldc, edge);
        HeadGemm.multiplyAdd(keys, hs, queries, pz, ao, 1, T, dO, T, k0, dqkv, dv, ldc, edge);
    }

    /*
     * The row loops below run whole vectors unmasked and then one masked tail (whole vectors compile to tighter
     * code); every lane sees the same operations either way.
     */

    /**
     * Raw scores s[so, so+n) (the keys a row may see) to probabilities in place: scaled, then softmax. Returns
     * the row's log-sum-exp of the scaled scores.
     */
    private static float softmax(float[] s, int so, int n, float scale) {
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        {
            int i = 0;
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, s, so + i).mul(scale);
                x.intoArray(s, so + i);
                max = max.lanewise(VectorOperators.MAX, x);
            }
            if (i < n) {
                VectorMask<Float> m = S.indexInRange(i, n);
                FloatVector x = FloatVector.fromArray(S, s, so + i, m).mul(scale);
                x.intoArray(s, so + i, m);
                max = max.lanewise(VectorOperators.MAX, x, m);
            }
        }
        float mx = max.reduceLanes(VectorOperators.MAX);
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
        Simd.scale(s, so, n, 1f / total);
        // StrictMath: Math.log may change by an ulp once the JIT compiles it, and results must be reproducible.
        return mx + (float) StrictMath.log(total);
    }

    /** out[oo+i] = x[xo+i] * f[i] for i in [0, n) (out may be x). */
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
     * One query row over the n keys it sees. On entry p[o..o+n) holds raw scores and g[o..o+n) dout·v^T; on exit
     * p holds P∘Z and g holds dS, with P = exp(s·scale - lse), dP = Z∘g (z holds Z: the dropout factors, or ones)
     * and dS = P ∘ (dP - delta) · scale.
     */
    private static void gradientRow(float[] p, float[] g, int o, int n, float lse, float delta, float[] z,
                                    float scale) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector pi = Exp.exp(FloatVector.fromArray(S, p, o + i).mul(scale).sub(lse));
            FloatVector zi = FloatVector.fromArray(S, z, i);
            FloatVector dp = FloatVector.fromArray(S, g, o + i).mul(zi);
            pi.mul(dp.sub(delta)).mul(scale).intoArray(g, o + i);
            pi.mul(zi).intoArray(p, o + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector pi = Exp.exp(FloatVector.fromArray(S, p, o + i, m).mul(scale).sub(lse));
            FloatVector zi = FloatVector.fromArray(S, z, i, m);
            FloatVector dp = FloatVector.fromArray(S, g, o + i, m).mul(zi);
            pi.mul(dp.sub(delta)).mul(scale).intoArray(g, o + i, m);
            pi.mul(zi).intoArray(p, o + i, m);
        }
    }
}
