package io.jgpt.cpu;

import io.jgpt.ops.Dropout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Dropout#keep} for a run of consecutive indices at once: the same 64-bit hash, evaluated lane-wise in
 * long vectors (integer arithmetic wraps identically in every lane, so the bits match the scalar hash exactly).
 * The decisions come out as a mask over {@link #F}, the float species with as many lanes as there are longs.
 */
final class DropoutLanes {

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;
    static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LONGS.vectorBitSize() / 2));
    /** Lane i holds i * GOLDEN, so key + (index + i) * GOLDEN = (key + index * GOLDEN) + lane i. */
    private static final LongVector STEPS = LongVector.zero(LONGS).addIndex(1).mul(Dropout.GOLDEN);

    private DropoutLanes() {}

    /** Lane i is set when element {@code index + i} is kept. */
    static VectorMask<Float> keep(Dropout d, long index) {
        LongVector k = STEPS.add(d.key() + index * Dropout.GOLDEN);
        k = k.lanewise(VectorOperators.XOR, k.lanewise(VectorOperators.LSHR, 33)).mul(0xff51afd7ed558ccdL);
        k = k.lanewise(VectorOperators.XOR, k.lanewise(VectorOperators.LSHR, 33)).mul(0xc4ceb9fe1a85ec53L);
        k = k.lanewise(VectorOperators.XOR, k.lanewise(VectorOperators.LSHR, 33));
        return k.lanewise(VectorOperators.LSHR, 40).compare(VectorOperators.GE, d.threshold()).cast(F);
    }

    /** f[fo+i] = keepScale if element index+i is kept, else 0, for i in [0, n). */
    static void factors(Dropout d, long index, float keepScale, float[] f, int fo, int n) {
        FloatVector kept = FloatVector.broadcast(F, keepScale), dropped = FloatVector.zero(F);
        for (int i = 0; i < n; i += F.length()) {
            dropped.blend(kept, keep(d, index + i)).intoArray(f, fo + i, F.indexInRange(i, n));
        }
    }
}
