package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/** Fused log-softmax + negative log-likelihood (+ gradient), one row per vocabulary distribution. */
final class CrossEntropy {

    static final int IGNORE = -100;
    private static final VectorSpecies<Float> S = Simd.S;

    private final Parallel parallel;

    CrossEntropy(Parallel parallel) {
        this.parallel = parallel;
    }

    /** Targets are validated by the caller; dlogits may be null or the logits array itself. */
    void run(float[] losses, float[] dlogits, float[] logits, int[] targets, int v, float dlossScale) {
        parallel.forEach(targets.length, row -> {
            int o = row * v, target = targets[row];
            float logZ = logSumExp(logits, o, v);
            boolean ignored = target == IGNORE;
            // Read the target logit before the gradient (possibly aliasing the logits) overwrites it.
            losses[row] = ignored ? 0f : logZ - logits[o + target];
            if (dlogits == null) return;
            softmax(dlogits, logits, o, v, logZ, ignored ? 0f : dlossScale);
            if (!ignored) dlogits[o + target] -= dlossScale;
        });
    }

    // The two passes are separate methods with one Exp.exp each: inlined together into the row loop they
    // exceed C2's node budget, and a vector-valued call that is not inlined boxes every vector (10x slower).

    /** log(sum_i exp(x[o+i])) over one row of v logits. */
    private static float logSumExp(float[] x, int o, int v) {
        float max = Simd.max(x, o, v);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < v; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, v);
            acc = acc.add(Exp.exp(FloatVector.fromArray(S, x, o + i, m).sub(max)), m);
        }
        return max + (float) StrictMath.log(Simd.sumLanes(acc));
    }

    /** out[o+i] = exp(x[o+i] - logZ) * scale: the softmax of one row, scaled. */
    private static void softmax(float[] out, float[] x, int o, int v, float logZ, float scale) {
        for (int i = 0; i < v; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, v);
            Exp.exp(FloatVector.fromArray(S, x, o + i, m).sub(logZ)).mul(scale).intoArray(out, o + i, m);
        }
    }
}
