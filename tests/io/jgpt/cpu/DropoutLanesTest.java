package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.ops.Dropout;
import org.junit.jupiter.api.Test;

/** The lane-wise hash against {@link Dropout#keep}, bit for bit, including a ragged tail and large indices. */
class DropoutLanesTest {

    @Test
    void factorsMatchScalarKeep() {
        var d = Dropout.of(0.3f, 42, 17);
        float[] f = new float[1000];
        for (long start : new long[] {0, 5, 1L << 40}) {
            DropoutLanes.factors(d, start, 2f, f, 3, 995);
            for (int i = 0; i < 995; i++) {
                assertEquals(d.keep(start + i) ? 2f : 0f, f[3 + i], "index " + (start + i));
            }
        }
    }
}
