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
            float max = Simd.max(logits, o, v);
            FloatVector acc = FloatVector.zero(S);
            for (int i = 0; i < v; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, v);
                FloatVector e = FloatVector.fromArray(S, logits, o + i, m).sub(max);
                e = Exp.exp(e);
                acc = acc.add(e, m);
            }
            float logZ = max + (float) StrictMath.log(Simd.sumLanes(acc));
            boolean ignored = target == IGNORE;
            // Read the target logit before the gradient (possibly aliasing the logits) overwrites it.
            losses[row] = ignored ? 0f : logZ - logits[o + target];
            if (dlogits == null) return;
            float scale = ignored ? 0f : dlossScale;
            for (int i = 0; i < v; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, v);
                Exp.exp(FloatVector.fromArray(S, logits, o + i, m).sub(logZ)).mul(scale)
                        .intoArray(dlogits, o + i, m);
            }
            if (!ignored) dlogits[o + target] -= dlossScale;
        });
    }
}
