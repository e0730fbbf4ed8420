package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * y (rows, out) = x (rows, in) · W + bias for a handful of rows: the decoding product, which reads every
 * weight once per token and so runs at memory speed, not at arithmetic speed. The matrix is cut into
 * contiguous slices that the workers stream in parallel; up to four rows share each weight load, and the
 * remaining groups of rows re-read a slice while it is still in the core's L2.
 *
 * <ul>
 *   <li>{@link WeightMatrix.Layout#ROWS_ARE_OUTPUTS}: a slice is a run of outputs; each output is a dot
 *       product of its weight row with x, reduced in a fixed lane order.</li>
 *   <li>{@link WeightMatrix.Layout#ROWS_ARE_INPUTS}: a slice is a run of inputs; it adds x[i]·W[i,:] for
 *       its inputs into its own partial sums, which are then added in slice order. Groups of four rows take
 *       the panel kernel's loop over column blocks instead, the same sums kept in registers.</li>
 *   <li>{@link WeightMatrix.Layout#PANELS}: the (in, out) product's arithmetic, streamed panel by panel
 *       from a copy in {@link PanelPacking}'s order.</li>
 * </ul>
 * The slices depend only on the matrix's shape, so the result does not depend on the thread count.
 */
final class MatVec {
    private static final VectorSpecies<Float> S = WeightMatrix.S;
    private static final int L = S.length();
    /** A slice is about this many bytes of float32 weights: big enough to stream, small enough for L2. */
    private static final long SLICE_BYTES = 192 * 1024;
    /** Rows that share one pass over a slice. */
    private static final int GROUP = 4;
    /** Input slices of a ROWS_ARE_INPUTS product: each has its own partial sums, added at the end. */
    private static final int MAX_INPUT_SLICES = 16;
    private static final VectorShuffle<Float>[] HALVES = halves();

    private final Parallel parallel;
    private float[] partials = new float[0];

    MatVec(Parallel parallel) {
        this.parallel = parallel;
    }

    /** y[r*out + o] = bias[o] + sum_i x[r*in + i] · W(i, o) for r in [0, rows); bias may be null. */
    void multiply(WeightMatrix w, float[] bias, float[] x, float[] y, int rows) {
        if (x.length < rows * w.in() || y.length < rows * w.out()) {
            throw new IllegalArgumentException("matvec: " + rows + " rows of " + w.in() + " -> " + w.out()
                    + " do not fit x[" + x.length + "] and y[" + y.length + "]");
        }
        WeightMatrix m = w.streamed();
        switch (m.layout()) {
            case ROWS_ARE_OUTPUTS -> byOutputs(m, bias, x, y, rows);
            case ROWS_ARE_INPUTS -> byInputs(m, bias, x, y, rows);
            case PANELS -> byPanels(m, bias, x, y, rows);
        }
    }

    /**
     * Inputs per slice of an (in, out) product: the one rule both of its kernels follow, because the slices
     * fix the order of the additions and the panel kernel must reproduce the in-place kernel's bits.
     */
    private static int inputSliceLength(int in) {
        int slices = Math.min(MAX_INPUT_SLICES, Math.ceilDiv(in, GROUP));
        return Math.ceilDiv(in, slices);
    }

    // ---- (out, in): dot products -------------------------------------------------------------------

    private void byOutputs(WeightMatrix w, float[] bias, float[] x, float[] y, int rows) {
        int in = w.in(), out = w.out();
        int grain = (int) Math.max(1, SLICE_BYTES / (4L * in));
        parallel.forRange(out, grain, (o0, o1) -> {
            int r = 0;
            for (; r + GROUP <= rows; r += GROUP) dots4(w, x, r, y, o0, o1);
            for (; r < rows; r++) dots1(w, x, r, y, o0, o1);
            if (bias != null) {
                for (int q = 0; q < rows; q++) Simd.add(bias, o0, y, q * out + o0, o1 - o0);
            }
        });
    }

    private static void dots1(WeightMatrix w, float[] x, int r, float[] y, int o0, int o1) {
        int in = w.in(), bound = S.loopBound(in), xo = r * in;
        for (int o = o0; o < o1; o++) {
            long base = (long) o * in;
            FloatVector a = FloatVector.zero(S), b = FloatVector.zero(S);
            int i = 0;
            for (; i + 2 * L <= bound; i += 2 * L) {
                a = w.load(base + i).fma(FloatVector.fromArray(S, x, xo + i), a);
                b = w.load(base + i + L).fma(FloatVector.fromArray(S, x, xo + i + L), b);
            }
            for (; i < bound; i += L) a = w.load(base + i).fma(FloatVector.fromArray(S, x, xo + i), a);
            float s = sum(a.add(b));
            for (; i < in; i++) s += w.get(base + i) * x[xo + i];
            y[r * w.out() + o] = s;
        }
    }

    private static void dots4(WeightMatrix w, float[] x, int r, float[] y, int o0, int o1) {
        int in = w.in(), out = w.out(), bound = S.loopBound(in);
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int o = o0; o < o1; o++) {
            long base = (long) o * in;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector wv = w.load(base + i);
                a0 = wv.fma(FloatVector.fromArray(S, x, x0 + i), a0);
                a1 = wv.fma(FloatVector.fromArray(S, x, x1 + i), a1);
                a2 = wv.fma(FloatVector.fromArray(S, x, x2 + i), a2);
                a3 = wv.fma(FloatVector.fromArray(S, x, x3 + i), a3);
            }
            float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
            for (; i < in; i++) {
                float wi = w.get(base + i);
                s0 += wi * x[x0 + i];
                s1 += wi * x[x1 + i];
                s2 += wi * x[x2 + i];
                s3 += wi * x[x3 + i];
            }
            y[r * out + o] = s0;
            y[(r + 1) * out + o] = s1;
            y[(r + 2) * out + o] = s2;
            y[(r + 3) * out + o] = s3;
        }
    }

    // ---- (in, out): partial sums of scaled rows ----------------------------------------------------

    private void byInputs(WeightMatrix w, float[] bias, float[] x, float[] y, int rows) {
        int in = w.in(), out = w.out();
        int grain = inputSliceLength(in);
        // Groups of four rows (a prompt, a batch) over whole column blocks: the panel kernel's loop, reading
        // the blocks where they lie (a stride of one stored row per input), sums in registers; the rest below.
        int grouped = out % (2 * L) == 0 ? rows / GROUP * GROUP : 0;
        if (grouped > 0) {
            int blocks = (int) Math.max(1, SLICE_BYTES / (4L * in * 2 * L));
            parallel.forRange(out / (2 * L), blocks, (b0, b1) -> {
                for (int b = b0; b < b1; b++) {
                    for (int r = 0; r < grouped; r += GROUP) panel4(w, bias, x, r, y, b, grain, 2L * L * b, out);
                }
            });
            if (grouped == rows) return;
        }
        int pieces = Math.ceilDiv(in, grain);
        int perPiece = rows * out;
        if (partials.length < pieces * perPiece) partials = new float[pieces * perPiece];
        float[] part = partials;
        parallel.forRange(in, grain, (i0, i1) -> {
            int p = i0 / grain * perPiece;
            java.util.Arrays.fill(part, p, p + perPiece, 0f);
            int r = grouped;
            for (; r + GROUP <= rows; r += GROUP) scaledRows4(w, x, r, part, p + r * out, i0, i1);
            for (; r < rows; r++) scaledRows(w, x, r, part, p + r * out, i0, i1);
        });
        // Add the slices' partial sums in slice order, split by output columns.
        parallel.forRange(out, Math.max(L, 4096), (o0, o1) -> {
            for (int r = grouped; r < rows; r++) {
                int yo = r * out;
                if (bias != null) System.arraycopy(bias, o0, y, yo + o0, o1 - o0);
                else java.util.Arrays.fill(y, yo + o0, yo + o1, 0f);
                for (int q = 0; q < pieces; q++) Simd.add(part, q * perPiece + yo + o0, y, yo + o0, o1 - o0);
            }
        });
    }

    /** acc[ao, ao + out) += sum over i in [i0, i1) of x[r, i] · W[i, :], four weight rows per pass over acc. */
    private static void scaledRows(WeightMatrix w, float[] x, int r, float[] acc, int ao, int i0, int i1) {
        int in = w.in(), out = w.out(), bound = S.loopBound(out), xo = r * in;
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
            float s0 = x[xo + i], s1 = x[xo + i + 1], s2 = x[xo + i + 2], s3 = x[xo + i + 3];
            FloatVector c0 = FloatVector.broadcast(S, s0), c1 = FloatVector.broadcast(S, s1),
                    c2 = FloatVector.broadcast(S, s2), c3 = FloatVector.broadcast(S, s3);
            long b0 = (long) i * out, b1 = b0 + out, b2 = b1 + out, b3 = b2 + out;
            int o = 0;
            for (; o < bound; o += L) {
                FloatVector a = FloatVector.fromArray(S, acc, ao + o);
                a = w.load(b0 + o).fma(c0, a);
                a = w.load(b1 + o).fma(c1, a);
                a = w.load(b2 + o).fma(c2, a);
                a = w.load(b3 + o).fma(c3, a);
                a.intoArray(acc, ao + o);
            }
            for (; o < out; o++) {
                acc[ao + o] += w.get(b0 + o) * s0 + w.get(b1 + o) * s1 + w.get(b2 + o) * s2 + w.get(b3 + o) * s3;
            }
        }
        for (; i < i1; i++) {
            float c = x[xo + i];
            FloatVector cv = FloatVector.broadcast(S, c);
            long b = (long) i * out;
            int o = 0;
            for (; o < bound; o += L) {
                w.load(b + o).fma(cv, FloatVector.fromArray(S, acc, ao + o)).intoArray(acc, ao + o);
            }
            for (; o < out; o++) acc[ao + o] += w.get(b + o) * c;
        }
    }

    /**
     * Rows r..r+3 at once: acc[ao + q*out, +out) += sum over i in [i0, i1) of x[r+q, i] · W[i, :], one weight
     * load feeding all four rows.
     */
    private static void scaledRows4(WeightMatrix w, float[] x, int r, float[] acc, int ao, int i0, int i1) {
        int in = w.in(), out = w.out(), bound = S.loopBound(out);
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        int a0 = ao, a1 = a0 + out, a2 = a1 + out, a3 = a2 + out;
        for (int i = i0; i < i1; i++) {
            float s0 = x[x0 + i], s1 = x[x1 + i], s2 = x[x2 + i], s3 = x[x3 + i];
            FloatVector c0 = FloatVector.broadcast(S, s0), c1 = FloatVector.broadcast(S, s1),
                    c2 = FloatVector.broadcast(S, s2), c3 = FloatVector.broadcast(S, s3);
            long b = (long) i * out;
            int o = 0;
            for (; o < bound; o += L) {
                FloatVector wv = w.load(b + o);
                wv.fma(c0, FloatVector.fromArray(S, acc, a0 + o)).intoArray(acc, a0 + o);
                wv.fma(c1, FloatVector.fromArray(S, acc, a1 + o)).intoArray(acc, a1 + o);
                wv.fma(c2, FloatVector.fromArray(S, acc, a2 + o)).intoArray(acc, a2 + o);
                wv.fma(c3, FloatVector.fromArray(S, acc, a3 + o)).intoArray(acc, a3 + o);
            }
            for (; o < out; o++) {
                float wo = w.get(b + o);
                acc[a0 + o] += wo * s0;
                acc[a1 + o] += wo * s1;
                acc[a2 + o] += wo * s2;
                acc[a3 + o] += wo * s3;
            }
        }
    }

    // ---- panels: the (in, out) product's sums, one panel of outputs at a time -----------------------------

    /**
     * The {@link WeightMatrix.Layout#ROWS_ARE_INPUTS} product on a panel copy, to the same bits: each output
     * still sums its inputs' products per input slice, in input order, with one FMA each, and adds the slice
     * sums to its bias in slice order. Only the loop order differs (a panel's outputs over all inputs instead
     * of a slice's inputs over all outputs), so the weights stream once, contiguously, in one pass that needs
     * no partial sums in memory and no second pass to add them.
     */
    private void byPanels(WeightMatrix w, float[] bias, float[] x, float[] y, int rows) {
        int slice = inputSliceLength(w.in());
        long pairBytes = 2L * w.in() * WeightMatrix.panelWidth() * w.type().bytes();
        int grain = 2 * (int) Math.max(1, SLICE_BYTES / pairBytes); // whole pairs: out is a multiple of two panels
        parallel.forRange(w.out() / WeightMatrix.panelWidth(), grain, (p0, p1) -> {
            int groups = rows / GROUP * GROUP;
            for (int p = p0; p < p1; p++) {
                for (int r = 0; r < groups; r += GROUP) panel4(w, bias, x, r, y, p, slice, (long) p * w.in() * 2 * L, 2 * L);
            }
            for (int r = groups; r < rows; r++) {
                for (int p = p0; p < p1; p += 2) panelPair1(w, bias, x, r, y, p, slice);
            }
        });
    }

    /**
     * Outputs [p·2L, p·2L + 4L) of row r: two panels side by side, four chains of FMAs, which streamed one
     * row's weights 12-35 % faster than one panel (two chains) at a time on this project's 2-core VMs.
     */
    private static void panelPair1(WeightMatrix w, float[] bias, float[] x, int r, float[] y, int p, int slice) {
        int in = w.in(), o = p * 2 * L, xo = r * in;
        long first = (long) p * in * 2 * L, second = first + (long) in * 2 * L;
        FloatVector y0 = start(bias, o), y1 = start(bias, o + L), y2 = start(bias, o + 2 * L), y3 = start(bias, o + 3 * L);
        for (int i0 = 0; i0 < in; i0 += slice) {
            int i1 = Math.min(in, i0 + slice);
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int i = i0;
            // Two inputs per turn, all eight loads first (same sums, same order): GPT-2 small's block matrices
            // at 28-29 GB/s against 25-26 with one input per turn, alternating runs on 2 threads.
            for (; i + 2 <= i1; i += 2) {
                long k = 2L * L * i;
                FloatVector w0 = w.load(first + k), w1 = w.load(first + k + L), w2 = w.load(second + k), w3 = w.load(second + k + L);
                FloatVector v0 = w.load(first + k + 2 * L), v1 = w.load(first + k + 3 * L);
                FloatVector v2 = w.load(second + k + 2 * L), v3 = w.load(second + k + 3 * L);
                FloatVector c = FloatVector.broadcast(S, x[xo + i]), d = FloatVector.broadcast(S, x[xo + i + 1]);
                a0 = v0.fma(d, w0.fma(c, a0));
                a1 = v1.fma(d, w1.fma(c, a1));
                a2 = v2.fma(d, w2.fma(c, a2));
                a3 = v3.fma(d, w3.fma(c, a3));
            }
            for (; i < i1; i++) {
                long k = 2L * L * i;
                FloatVector c = FloatVector.broadcast(S, x[xo + i]);
                a0 = w.load(first + k).fma(c, a0);
                a1 = w.load(first + k + L).fma(c, a1);
                a2 = w.load(second + k).fma(c, a2);
                a3 = w.load(second + k + L).fma(c, a3);
            }
            y0 = y0.add(a0);
            y1 = y1.add(a1);
            y2 = y2.add(a2);
            y3 = y3.add(a3);
        }
        int yo = r * w.out() + o;
        y0.intoArray(y, yo);
        y1.intoArray(y, yo + L);
        y2.intoArray(y, yo + 2 * L);
        y3.intoArray(y, yo + 3 * L);
    }

    /**
     * Outputs [p·2L, p·2L + 2L) of rows r..r+3, one weight load feeding all four rows. The block's weights for
     * input i start at element {@code base + stride · i}: a panel (stride 2L) or a column block of an (in, out)
     * matrix used in place (stride out).
     */
    private static void panel4(WeightMatrix w, float[] bias, float[] x, int r, float[] y, int p, int slice, long base, long stride) {
        int in = w.in(), out = w.out(), o = p * 2 * L;
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector b0 = start(bias, o), b1 = start(bias, o + L);
        FloatVector y00 = b0, y01 = b1, y10 = b0, y11 = b1, y20 = b0, y21 = b1, y30 = b0, y31 = b1;
        for (int i0 = 0; i0 < in; i0 += slice) {
            int i1 = Math.min(in, i0 + slice);
            FloatVector z = FloatVector.zero(S);
            FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
            for (int i = i0; i < i1; i++) {
                long e = base + stride * i;
                FloatVector w0 = w.load(e), w1 = w.load(e + L);
                FloatVector c = FloatVector.broadcast(S, x[x0 + i]);
                a00 = w0.fma(c, a00);
                a01 = w1.fma(c, a01);
                c = FloatVector.broadcast(S, x[x1 + i]);
                a10 = w0.fma(c, a10);
                a11 = w1.fma(c, a11);
                c = FloatVector.broadcast(S, x[x2 + i]);
                a20 = w0.fma(c, a20);
                a21 = w1.fma(c, a21);
                c = FloatVector.broadcast(S, x[x3 + i]);
                a30 = w0.fma(c, a30);
                a31 = w1.fma(c, a31);
            }
            y00 = y00.add(a00);
            y01 = y01.add(a01);
            y10 = y10.add(a10);
            y11 = y11.add(a11);
            y20 = y20.add(a20);
            y21 = y21.add(a21);
            y30 = y30.add(a30);
            y31 = y31.add(a31);
        }
        int yo = r * out + o;
        y00.intoArray(y, yo);
        y01.intoArray(y, yo + L);
        y10.intoArray(y, yo + out);
        y11.intoArray(y, yo + out + L);
        y20.intoArray(y, yo + 2 * out);
        y21.intoArray(y, yo + 2 * out + L);
        y30.intoArray(y, yo + 3 * out);
        y31.intoArray(y, yo + 3 * out + L);
    }

    /** The bias at [o, o + L), or zeros: where an output's sum starts, as in the in-place kernel's last pass. */
    private static FloatVector start(float[] bias, int o) {
        return bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, o);
    }

    // ---- fixed-order lane sum ------------------------------------------------------------------------

    /**
     * The lanes of v summed as a fixed pairwise tree. {@code reduceLanes(ADD)} may change order once the JIT
     * compiles it; this gives the same bits interpreted and compiled, at a few shuffles per sum.
     */
    static float sum(FloatVector v) {
        for (VectorShuffle<Float> half : HALVES) v = v.add(v.rearrange(half));
        return v.lane(0);
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] halves() {
        int steps = Integer.numberOfTrailingZeros(L);
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int k = 0; k < steps; k++) out[k] = VectorShuffle.iota(S, L >> (k + 1), 1, true);
        return out;
    }
}
