package io.jgpt.generate;

import io.jgpt.ops.Argmax;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits, as the book's chapter 5 {@code generate} does, plus nucleus
 * sampling. In order: temperature scaling, top-k, top-p, then one draw from the renormalised distribution.
 * <ul>
 *   <li>temperature 0: greedy argmax (ties go to the lowest id, NaN never wins); top-k and top-p cannot change it.</li>
 *   <li>top-k: only the k largest logits (ties at the cut go to the lower ids, so exactly k stay).</li>
 *   <li>top-p: of those, the smallest most-probable prefix whose probability reaches p.</li>
 * </ul>
 * Draws come from one seeded {@link SplittableRandom}, one per sampled token, so a seed reproduces a run.
 */
public final class Sampler {

    private final int vocab;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom rng;

    /**
     * @param topK  in [1, vocab]; vocab keeps every token
     * @param topP  in (0, 1]; 1 keeps every token
     */
    public Sampler(int vocab, float temperature, int topK, float topP, long seed) {
        if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be positive, got " + vocab);
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 1 || topK > vocab) {
            throw new IllegalArgumentException("--top-k must be in [1, " + vocab + "], got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        this.vocab = vocab;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rng = new SplittableRandom(seed);
    }

    /** A sampler with no top-k or top-p truncation. */
    public static Sampler of(int vocab, float temperature, long seed) {
        return new Sampler(vocab, temperature, vocab, 1f, seed);
    }

    /** The next token id for one row of logits (length vocab). */
    public int sample(float[] logits) {
        if (logits.length != vocab) {
            throw new IllegalArgumentException("expected " + vocab + " logits, got " + logits.length);
        }
        if (temperature == 0f) return argmax(logits);
        // Candidates, most likely first when a truncation needs the order; otherwise in id order.
        int[] ids = topK < vocab || topP < 1f ? descending(logits, topK) : identity(vocab);
        double max = Double.NEGATIVE_INFINITY;
        for (int id : ids) max = Math.max(max, logits[id]);
        double[] weights = new double[ids.length];
        double total = 0;
        for (int i = 0; i < ids.length; i++) {
            weights[i] = Math.exp((logits[ids[i]] - max) / temperature);
            total += weights[i];
        }
        int kept = topP < 1f ? nucleus(weights, total, topP) : ids.length;
        double mass = 0;
        for (int i = 0; i < kept; i++) mass += weights[i];
        double u = rng.nextDouble() * mass;
        for (int i = 0; i < kept - 1; i++) {
            u -= weights[i];
            if (u < 0) return ids[i];
        }
        return ids[kept - 1]; // also where rounding leaves a sliver of u
    }

    /** The highest logit's id; the lowest id among equals ({@link Argmax}, what the backends' argmaxRows does). */
    static int argmax(float[] logits) {
        return Argmax.of(logits, 0, logits.length);
    }

    /** Whether this sampler picks the argmax (temperature 0), which a backend can do itself. */
    public boolean greedy() {
        return temperature == 0f;
    }

    /** How many of the (descending) weights form the smallest prefix holding at least p of the total. */
    private static int nucleus(double[] weights, double total, float p) {
        double target = p * total, cumulative = 0;
        for (int i = 0; i < weights.length; i++) {
            cumulative += weights[i];
            if (cumulative >= target) return i + 1;
        }
        return weights.length;
    }

    /** The ids of the k largest logits, largest first, ties by lower id. */
    static int[] descending(float[] logits, int k) {
        // One primitive sort of packed keys: order-preserving logit bits (inverted for descending) above the id.
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed-int order == float order
            keys[i] = ((long) ~ordered << 32) | i;
        }
        Arrays.sort(keys);
        int[] ids = new int[k];
        for (int i = 0; i < k; i++) ids[i] = (int) keys[i];
        return ids;
    }

    private static int[] identity(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        return ids;
    }
}
