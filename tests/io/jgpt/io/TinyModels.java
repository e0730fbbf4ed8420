package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small GPT-2 parameter sets with seeded values; multiples of 1/8 so that bfloat16 holds them exactly. */
final class TinyModels {
    private TinyModels() {}

    static GPTConfig shape(boolean qkvBias, boolean tiedHead) {
        return new GPTConfig(10, 4, 4, 2, 2, 0.1f, qkvBias, tiedHead);
    }

    static ModelWeights weights(GPTConfig shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (var e : Gpt2Parameters.shapes(shape).entrySet()) {
            HostTensor t = HostTensor.zeros(e.getValue());
            for (int i = 0; i < t.data().length; i++) {
                t.data()[i] = (random.nextInt(33) - 16) / 8f;
            }
            tensors.put(e.getKey(), t);
        }
        return new ModelWeights(shape, tensors);
    }

    static void assertSameTensors(Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            assertTrue(expected.get(name).sameAs(actual.get(name)), name);
        }
    }
}
