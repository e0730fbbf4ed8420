package io.jgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SlidingWindowDatasetTest {
    static TokenSource ids(int n) {
        return TokenSource.of("ids", IntStream.range(0, n).toArray());
    }

    @Test
    void windowsStartWhileIPlusTIsBelowTheLength() {
        // range(0, 10 - 4, 2) = 0, 2, 4
        SlidingWindowDataset d = new SlidingWindowDataset(ids(10), 4, 2);
        assertEquals(3, d.size());
        int[][] expectedInputs = {{0, 1, 2, 3}, {2, 3, 4, 5}, {4, 5, 6, 7}};
        int[][] expectedTargets = {{1, 2, 3, 4}, {3, 4, 5, 6}, {5, 6, 7, 8}};
        for (int w = 0; w < 3; w++) {
            int[] in = new int[4];
            int[] out = new int[4];
            d.fill(w, in, out, 0);
            assertArrayEquals(expectedInputs[w], in);
            assertArrayEquals(expectedTargets[w], out);
        }
    }

    @Test
    void strideDefaultsToTheContextLength() {
        SlidingWindowDataset d = new SlidingWindowDataset(ids(9), 4);
        assertEquals(2, d.size()); // range(0, 5, 4) = 0, 4; window 4 uses tokens 4..8
        assertEquals(4, d.start(1));
        assertEquals(1, new SlidingWindowDataset(ids(8), 4).size()); // range(0, 4, 4) = 0
        assertEquals(1, new SlidingWindowDataset(ids(5), 4).size());
    }

    @Test
    void tooShortCorpusSaysHowManyTokensItHasAndNeeds() {
        JgptException e = assertThrows(JgptException.class, () -> new SlidingWindowDataset(ids(4), 4));
        assertTrue(e.getMessage().contains("has 4 tokens") && e.getMessage().contains("at least 5"), e.getMessage());
    }
}
