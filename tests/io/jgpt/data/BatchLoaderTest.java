package io.jgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.train.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {
    /** ids 0..20, T = 2, stride 2: windows at 0, 2, ..., 18 (10 windows), window w starts at 2w. */
    private static SlidingWindowDataset dataset() {
        return new SlidingWindowDataset(SlidingWindowDatasetTest.ids(21), 2, 2);
    }

    @Test
    void noShuffleServesWindowsInOrderAndDropsTheLastPartialBatch() {
        BatchLoader loader = new BatchLoader(dataset(), 3, false, true, 0);
        assertEquals(3, loader.batchesPerEpoch());
        Batch b0 = loader.next();
        assertEquals(3, b0.batch());
        assertEquals(2, b0.time());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, b0.inputs());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6}, b0.targets());
        Batch b1 = loader.next();
        assertArrayEquals(new int[] {6, 7, 8, 9, 10, 11}, b1.inputs());
        loader.next();
        assertEquals(new LoaderState(1, 0), loader.state());
        assertArrayEquals(b0.inputs(), loader.next().inputs());
    }

    @Test
    void evaluationKeepsTheLastPartialBatch() {
        BatchLoader loader = BatchLoader.evaluation(dataset(), 3);
        assertEquals(4, loader.batchesPerEpoch());
        Batch last = loader.batch(0, 3);
        assertEquals(1, last.batch());
        assertArrayEquals(new int[] {18, 19}, last.inputs());
        assertArrayEquals(new int[] {19, 20}, last.targets());
    }

    @Test
    void shuffleIsAPermutationFixedBySeedAndEpoch() {
        List<Integer> epoch0 = windowOrder(BatchLoader.training(dataset(), 2, 42), 0);
        assertEquals(epoch0, windowOrder(BatchLoader.training(dataset(), 2, 42), 0));
        List<Integer> sorted = new ArrayList<>(epoch0);
        sorted.sort(null);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), sorted);
        assertFalse(epoch0.equals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)));
        assertFalse(epoch0.equals(windowOrder(BatchLoader.training(dataset(), 2, 42), 1)));
        assertFalse(epoch0.equals(windowOrder(BatchLoader.training(dataset(), 2, 43), 0)));
    }

    @Test
    void neighbouringSeedsAndEpochsDoNotReplayEachOther() {
        assertFalse(BatchLoader.epochSeed(0, 1) == BatchLoader.epochSeed(1, 0));
    }

    @Test
    void resumingFromASavedStateReplaysTheSameBatches() {
        BatchLoader straight = BatchLoader.training(dataset(), 3, 7);
        List<Batch> expected = new ArrayList<>();
        LoaderState saved = null;
        for (int step = 0; step < 10; step++) {
            if (step == 4) {
                saved = straight.state();
            }
            expected.add(straight.next());
        }
        assertEquals(new LoaderState(1, 1), saved);
        BatchLoader resumed = BatchLoader.training(dataset(), 3, 7);
        resumed.restore(saved);
        for (int step = 4; step < 10; step++) {
            Batch b = resumed.next();
            assertArrayEquals(expected.get(step).inputs(), b.inputs(), "step " + step);
            assertArrayEquals(expected.get(step).targets(), b.targets(), "step " + step);
        }
    }

    @Test
    void restoreRejectsPositionsOutsideAnEpoch() {
        BatchLoader loader = BatchLoader.training(dataset(), 3, 7);
        JgptException e = assertThrows(JgptException.class, () -> loader.restore(new LoaderState(0, 3)));
        assertTrue(e.getMessage().contains("3 batches"), e.getMessage());
    }

    @Test
    void tooFewWindowsForOneBatchIsAnError() {
        JgptException e = assertThrows(JgptException.class, () -> BatchLoader.training(dataset(), 11, 0));
        assertTrue(e.getMessage().contains("21 tokens") && e.getMessage().contains("at least 23"), e.getMessage());
    }

    private static List<Integer> windowOrder(BatchLoader loader, int epoch) {
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < loader.batchesPerEpoch(); b++) {
            int[] inputs = loader.batch(epoch, b).inputs();
            for (int r = 0; r < inputs.length / 2; r++) {
                order.add(inputs[2 * r] / 2);
            }
        }
        return order;
    }

    @Test
    void batchesAreRowMajor() {
        Batch b = new BatchLoader(dataset(), 2, false, true, 0).batch(0, 1);
        // windows 2 and 3, starting at tokens 4 and 6
        assertEquals("[4, 5, 6, 7]", Arrays.toString(b.inputs()));
        assertEquals("[5, 6, 7, 8]", Arrays.toString(b.targets()));
        assertEquals(4, b.tokens());
    }
}
