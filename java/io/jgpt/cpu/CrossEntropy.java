package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Fused log-softmax + negative log-likelihood (+ gradient), one row per vocabulary distribution. */
final class CrossEntropy {

    static final int IGNORE = -100;
    private static final VectorSpecies<Float> S = Simd.S;

    private final Parallel parallel;
    /** Per-thread row of exponentials when there is no dlogits to hold them. */
    private final Scratch scratch = new Scratch(1);

    CrossEntropy(Parallel parallel) {
        this.parallel = parallel;
    }

    /**
     * n rows of v logits, each array from its offset (a chunk of rows is a view): losses (n), dlogits (n, v; null,
     * or the logits themselves), logits (n, v), targets (n). Targets are validated by the caller.
     */
    record Rows(float[] losses, int lossOffset, float[] dlogits, int dlogitsOffset, float[] logits, int logitsOffset,
                int[] targets, int targetsOffset, int n, int v) {}

    /**
     * The exponentials exp(x - max) are computed once and kept (in dlogits, else in scratch): the gradient is then
     * only a rescaling, softmax * dlossScale = exp(x - max) * (dlossScale / sum).
     */
    void run(Rows r, float dlossScale) {
        int v = r.v();
        float[] logits = r.logits(), dlogits = r.dlogits();
        parallel.forEach(r.n(), row -> {
            int o = r.logitsOffset() + row * v, d = r.dlogitsOffset() + row * v;
            int target = r.targets()[r.targetsOffset() + row];
            boolean ignored = target == IGNORE;
            // Read the target logit before the exponentials (possibly aliasing the logits) overwrite it.
            float targetLogit = ignored ? 0f : logits[o + target];
            float max = Simd.max(logits, o, v);
            float[] e = dlogits == null ? scratch.get(0, v) : dlogits;
            float sum = exps(e, dlogits == null ? 0 : d, logits, o, v, max);
            r.losses()[r.lossOffset() + row] = ignored ? 0f : max + (float) StrictMath.log(sum) - targetLogit;
            if (dlogits == null) return;
            Simd.scale(dlogits, d, v, (ignored ? 0f : dlossScale) / sum);
            if (!ignored) dlogits[d + target] -= dlossScale;
        });
    }

    /**
     * out[oo+i] = exp(x[xo+i] - max) for i in [0, v); returns their sum. Called from one site only: a second
     * inlined copy of Exp.exp would exceed C2's node budget, and a vector-valued call that is not inlined
     * boxes every vector (about 10x slower). The tail is scalar (Exp.exp gives the same bits either way): a
     * masked load at the very end of the array takes a path the JIT compiles late, and the recompilation
     * cost about 100 ms in each short benchmark.
     */
    private static float exps(float[] out, int oo, float[] x, int xo, int v, float max) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(v); i < bound; i += S.length()) {
            FloatVector e = Exp.exp(FloatVector.fromArray(S, x, xo + i).sub(max));
            e.intoArray(out, oo + i);
            acc = acc.add(e);
        }
        float sum = Simd.sumLanes(acc);
        for (; i < v; i++) {
            out[oo + i] = Exp.exp(x[xo + i] - max);
            sum += out[oo + i];
        }
        return sum;
    }
}
