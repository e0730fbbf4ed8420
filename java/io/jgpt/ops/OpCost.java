package io.jgpt.ops;

import io.jgpt.tensor.Tensor.DType;

/**
 * The bytes and flops every op and kernel declares to the profiler, one formula each, used by both backends.
 * Bytes count each operand once at its storage size (the op's minimum memory traffic, so a span's GB/s says
 * how close it runs to the memory system); an accumulated output counts twice (read and written); statistics,
 * parameter gradients and AdamW state are F32, token ids and targets I32. Where the GPU splits an op into
 * several kernels, each part has its formula and the CPU's single span is their sum.
 */
public final class OpCost {

    private static final int F32 = 4, I32 = 4, BF16 = 2;

    private OpCost() {}

    // ---- element-wise ------------------------------------------------------------------------------

    /** n elements converted from one storage type to another (read once, written once). */
    public static Cost convert(long n, DType from, DType to) {
        return new Cost(n * (from.bytes() + to.bytes()), 0);
    }

    /** n elements overwritten with one value. */
    public static Cost fill(long n, DType s) {
        return new Cost(n * s.bytes(), 0);
    }

    public static Cost geluForward(long n, DType s) {
        return new Cost(2 * n * s.bytes(), 10.0 * n);
    }

    /** din += dout * gelu'(in). */
    public static Cost geluBackward(long n, DType s) {
        return new Cost(4 * n * s.bytes(), 20.0 * n);
    }

    /** d *= gelu'(pre), in place: d read and written, pre read. */
    public static Cost geluGradScale(long n, DType s) {
        return new Cost(3 * n * s.bytes(), 20.0 * n);
    }

    /** GELU applied while a GEMM writes its output (an epilogue): the pre-activation written beside it. */
    public static Cost fusedGelu(long n, DType s) {
        return new Cost(n * s.bytes(), 10.0 * n);
    }

    /** dGELU applied while a GEMM writes the gradient (an epilogue): the pre-activation read. */
    public static Cost fusedGeluGrad(long n, DType s) {
        return new Cost(n * s.bytes(), 20.0 * n);
    }

    public static Cost add(long n, DType s) {
        return new Cost(3 * n * s.bytes(), n);
    }

    public static Cost dropoutForward(long n, DType s) {
        return new Cost(2 * n * s.bytes(), n);
    }

    /** din += keep ? dout * scale : 0. */
    public static Cost dropoutBackward(long n, DType s) {
        return new Cost(3 * n * s.bytes(), 2.0 * n);
    }

    /** One AdamW update of n F32 parameters (param, grad, m, v read; param, m, v and optionally grad written). */
    public static Cost adamw(long n, boolean zeroGrad) {
        return adamw(n, zeroGrad, false);
    }

    /** AdamW over n F32 elements, also writing their bf16 copy when {@code bf16Copy}. */
    public static Cost adamw(long n, boolean zeroGrad, boolean bf16Copy) {
        return new Cost((zeroGrad ? 8L : 7L) * n * F32 + (bf16Copy ? n * BF16 : 0), 16.0 * n);
    }

    /** state[LOSS] += scale * the sum of n F32 losses. */
    public static Cost accumulateLoss(long n) {
        return new Cost(n * F32, n);
    }

    /** The squares of n elements summed in double. */
    public static Cost sumOfSquares(long n, DType s) {
        return new Cost(n * s.bytes(), 2.0 * n);
    }

    /** The fixed-order sum of {@code partials} double partial sums. */
    public static Cost sumPartials(long partials) {
        return new Cost(8 * partials, partials);
    }

    // ---- embeddings --------------------------------------------------------------------------------

    /** out (BT rows of C) = token rows + position rows. */
    public static Cost embeddingForward(long bt, int c, DType s) {
        long n = bt * c;
        return new Cost(3 * n * s.bytes() + bt * I32, n);
    }

    /** dwte[token] += dout, row by row (F32 table gradient). */
    public static Cost embeddingBackwardTokens(long bt, int c, DType s) {
        long n = bt * c;
        return new Cost(n * s.bytes() + 2 * n * F32 + bt * I32, n);
    }

    /** dwpe[t] += sum over the batch of dout[b, t] (F32 table gradient). */
    public static Cost embeddingBackwardPositions(long bt, int t, int c, DType s) {
        long n = bt * c;
        return new Cost(n * s.bytes() + 2L * t * c * F32, n);
    }

    // ---- layer norm --------------------------------------------------------------------------------

    /** n rows of c: in read, out written, weight and bias read, mean and rstd written. */
    public static Cost layerNormForward(int n, int c, DType s) {
        long nc = (long) n * c;
        return new Cost(2 * nc * s.bytes() + 2L * c * s.bytes() + 2L * n * F32, 8.0 * nc);
    }

    /** sum = x + branch written, then its LayerNorm: the layer norm's traffic less re-reading sum, plus x and branch. */
    public static Cost residualLayerNormForward(int n, int c, DType s) {
        long nc = (long) n * c;
        return layerNormForward(n, c, s).plus(new Cost(2 * nc * s.bytes(), nc));
    }

    /**
     * The layer norm backward's parameter sums as partial sums per group of rows (F32 partials written): dout and
     * in read once.
     */
    public static Cost layerNormParamPartials(int n, int c, int groups, DType s) {
        long nc = (long) n * c;
        return new Cost(2 * nc * s.bytes() + 2L * n * F32 + 2L * groups * c * F32, 6.0 * nc);
    }

    /** dweight, dbias (F32) += the sums of {@code groups} partial rows each, added in group order. */
    public static Cost layerNormParamReduce(int c, int groups) {
        return new Cost(2L * groups * c * F32 + 4L * c * F32, 2.0 * groups * c);
    }

    /** din += ...: dout, in and weight read, din read and written, mean and rstd read. */
    public static Cost layerNormBackwardInput(int n, int c, DType s) {
        long nc = (long) n * c;
        return new Cost(4 * nc * s.bytes() + (long) c * s.bytes() + 2L * n * F32, 14.0 * nc);
    }

    /** dweight, dbias += column sums: dout and in read, the F32 gradients read and written. */
    public static Cost layerNormBackwardParams(int n, int c, DType s) {
        long nc = (long) n * c;
        return new Cost(2 * nc * s.bytes() + 2L * n * F32 + 4L * c * F32, 6.0 * nc);
    }

    // ---- linear layers -----------------------------------------------------------------------------

    /** C(M,N) (+)= A(M,K) B(K,N): each matrix once, C twice when accumulated. */
    public static Cost gemm(int m, int n, int k, boolean accumulate, DType s) {
        long c = (long) m * n;
        return new Cost(s.bytes() * ((long) m * k + (long) k * n + (accumulate ? 2 : 1) * c), 2.0 * m * n * k);
    }

    /** A bias added while the GEMM's output is written (the CPU's fused epilogue): the bias read once. */
    public static Cost fusedBias(int n, int oc, DType s) {
        return new Cost((long) oc * s.bytes(), (double) n * oc);
    }

    /** out(N,OC) += bias as its own pass: out read and written, bias read. */
    public static Cost biasAdd(int n, int oc, DType s) {
        return new Cost((2L * n * oc + oc) * s.bytes(), (double) n * oc);
    }

    /** sums(C) += column sums of in(N,C) (the bias gradient; F32 sums). */
    public static Cost columnSum(int n, int c, DType s) {
        return new Cost((long) n * c * s.bytes() + 2L * c * F32, (double) n * c);
    }

    // ---- attention ---------------------------------------------------------------------------------

    /**
     * Causal attention forward (both backends fuse it): qkv read, out and the F32 log-sum-exp written; per visible
     * (t, t2) pair a q.k dot and a p*v update over the head size, and the softmax's exp, max and sum.
     */
    public static Cost attentionForward(OpShapes.AttentionDims d, DType s) {
        return new Cost(4 * d.btc() * s.bytes() + d.rows() * F32, 4.0 * d.pairs() * d.hs() + 4.0 * d.pairs());
    }

    /**
     * The CPU's one-pass attention backward: qkv, dout and out read, dqkv read and written, lse read; per visible
     * pair the recomputed q.k and the dout.v dots plus the dq, dk, dv updates, and per row the dout.out dot.
     */
    public static Cost attentionBackward(OpShapes.AttentionDims d, DType s) {
        return new Cost(11 * d.btc() * s.bytes() + d.rows() * F32,
                10.0 * d.pairs() * d.hs() + 6.0 * d.pairs() + 2.0 * d.btc());
    }

    /** The flash backward's first kernel: delta = rowsum(dout * out) per query row (F32). */
    public static Cost attentionBackwardDelta(OpShapes.AttentionDims d, DType s) {
        return new Cost(2 * d.btc() * s.bytes() + d.rows() * F32, 2.0 * d.btc());
    }

    /**
     * The flash backward's dk/dv kernel: q, k, v and dout read, dk and dv accumulated, lse and delta read; per
     * visible pair s and dp recomputed and dk, dv updated.
     */
    public static Cost attentionBackwardKeysValues(OpShapes.AttentionDims d, DType s) {
        return new Cost(4 * d.btc() * s.bytes() + 2 * d.rows() * F32, 8.0 * d.pairs() * d.hs() + 6.0 * d.pairs());
    }

    /** The flash backward's dq kernel: the same reads, dq accumulated; per visible pair both dots and dq. */
    public static Cost attentionBackwardQueries(OpShapes.AttentionDims d, DType s) {
        return new Cost(4 * d.btc() * s.bytes() + 2 * d.rows() * F32, 6.0 * d.pairs() * d.hs() + 6.0 * d.pairs());
    }

    /** The new positions' keys and values (n = B*Tn*C each) copied from qkv into the caches. */
    public static Cost kvCacheWrite(long n, DType s) {
        return new Cost(4 * n * s.bytes(), 0);
    }

    /**
     * Cached attention over {@code live} (query, key) pairs: q read, out written, cached k and v read per pair.
     * The CPU counts the pairs of the positions it was given; the GPU, which leaves the positions on the
     * device, charges the bound ({@link OpShapes.CachedAttentionDims#liveBound}).
     */
    public static Cost cachedAttention(OpShapes.CachedAttentionDims d, long live, DType s) {
        long n = (long) d.b() * d.tn() * d.c();
        return new Cost(s.bytes() * (2 * n + 2 * live * d.hs()), 4.0 * live * d.hs() + 5.0 * live);
    }

    /** Greedy choice over n rows of v logits: each logit read and compared once, one id written per row. */
    public static Cost argmaxRows(int n, int v) {
        return new Cost(4L * n * v + 4L * n, (double) n * v);
    }

    // ---- classifier --------------------------------------------------------------------------------

    /**
     * Softmax cross-entropy over n rows of v logits: logits read, dlogits written when asked for, targets and
     * losses; the max, exp-sum and log per element, and with the gradient an exp, a scale and a subtraction.
     */
    public static Cost crossEntropy(int n, int v, boolean gradient, DType s) {
        long nv = (long) n * v;
        return new Cost((gradient ? 2 : 1) * nv * s.bytes() + (long) n * (I32 + F32), nv * (gradient ? 7.0 : 4.0));
    }
}
