package io.jgpt.cpu;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.StepState;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optimizer step over whole arenas, chunk by chunk of an {@link ArenaChunks} table: the step decision
 * (norm, clip factor, skip) and the AdamW update, reading the step's scalars from the {@link StepState}
 * array exactly as the CUDA kernels read them from device memory.
 */
final class ArenaOptimizer {

    private static final VectorSpecies<Float> S = Simd.S;
    private static final int C = ArenaChunks.COLUMNS;

    private final Parallel parallel;

    ArenaOptimizer(Parallel parallel) {
        this.parallel = parallel;
    }

    /** Sum of squares per chunk (one task per chunk), then the chunks in order: the same sum on every run. */
    double sumOfSquares(float[] x, int xo, int[] chunks) {
        int k = chunks.length / C;
        double[] partial = new double[k];
        parallel.forRange(k, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                int start = xo + chunks[c * C];
                partial[c] = Pointwise.sumOfSquaresRange(x, start, start + chunks[c * C + 1]);
            }
        });
        double total = 0;
        for (double s : partial) total += s;
        return total;
    }

    /** The decision of {@link io.jgpt.ops.Ops#stepDecision}, written into state. */
    static void decide(float[] state, int so, double sumOfSquares, float maxNorm) {
        double norm = Math.sqrt(sumOfSquares);
        double factor = maxNorm / (norm + 1e-6);
        boolean skip = !Float.isFinite(state[so + StepState.LOSS]) || !Double.isFinite(norm);
        state[so + StepState.NORM] = (float) norm;
        state[so + StepState.CLIP] = maxNorm > 0 && factor < 1.0 ? (float) factor : 1f;
        state[so + StepState.SKIP] = skip ? 1f : 0f;
        state[so + StepState.BAD] = skip ? state[so + StepState.BAD] + 1 : 0f;
        if (!skip) state[so + StepState.STEPS] += 1;
    }

    /** AdamW as {@link AdamWConfig} writes it over every chunk; p, g, m, v share the arena layout. */
    void adamw(float[] p, int po, float[] g, int go, float[] m, int mo, float[] v, int vo, int[] chunks, float[] state,
               int so, AdamWConfig cfg, boolean zeroGrad) {
        boolean skip = state[so + StepState.SKIP] != 0f;
        float lr = state[so + StepState.LR], clip = state[so + StepState.CLIP];
        int t = (int) state[so + StepState.STEPS];
        float b1 = cfg.beta1(), b2 = cfg.beta2(), eps = cfg.eps();
        float bc1 = AdamWConfig.biasCorrection(b1, t), bc2 = AdamWConfig.biasCorrection(b2, t);
        float decayed = 1f - lr * cfg.weightDecay();
        int k = chunks.length / C;
        parallel.forRange(k, 1, (fromChunk, toChunk) -> {
            for (int c = fromChunk; c < toChunk; c++) {
                int from = chunks[c * C], to = from + chunks[c * C + 1];
                float decay = chunks[c * C + 2] != 0 ? decayed : 1f;
                for (int i = from; i < to; i += S.length()) {
                    VectorMask<Float> in = S.indexInRange(i, to);
                    if (!skip) {
                        FloatVector gi = FloatVector.fromArray(S, g, go + i, in).mul(clip);
                        FloatVector mi = FloatVector.fromArray(S, m, mo + i, in).mul(b1).add(gi.mul(1f - b1));
                        FloatVector vi = FloatVector.fromArray(S, v, vo + i, in).mul(b2).add(gi.mul(gi).mul(1f - b2));
                        FloatVector denom = vi.div(bc2).sqrt().add(eps);
                        FloatVector step = mi.div(bc1).div(denom).mul(lr);
                        FloatVector.fromArray(S, p, po + i, in).mul(decay).sub(step).intoArray(p, po + i, in);
                        mi.intoArray(m, mo + i, in);
                        vi.intoArray(v, vo + i, in);
                    }
                    if (zeroGrad) FloatVector.zero(S).intoArray(g, go + i, in);
                }
            }
        });
    }
}
