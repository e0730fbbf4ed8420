package io.jgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jgpt.JgptException;
import io.jgpt.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class TrainValSplitTest {
    @Test
    void splitsTextLikeTheBook() {
        TrainValSplit<String> s = TrainValSplit.ofText("abcdefghij", 0.1);
        assertEquals("abcdefghi", s.train());
        assertEquals("j", s.val());
        s = TrainValSplit.ofText("abcdefghijk", 0.1); // int(0.9 * 11) = 9
        assertEquals("abcdefghi", s.train());
        assertEquals("jk", s.val());
        s = TrainValSplit.ofText("abc", 0);
        assertEquals("abc", s.train());
        assertEquals("", s.val());
    }

    @Test
    void theVerdictSplitsAtCharacter18431() throws IOException {
        String text = Files.readString(SharedData.file("the-verdict.txt"));
        TrainValSplit<String> s = TrainValSplit.ofText(text, TrainValSplit.DEFAULT_VAL_FRACTION);
        assertEquals(18431, s.train().length()); // int(0.90 * 20479)
        assertEquals(text, s.train() + s.val());
    }

    @Test
    void countsCodePointsLikePython() {
        // Python: len("🎉🎉ab") = 4, int(0.5 * 4) = 2 → "🎉🎉" | "ab"
        TrainValSplit<String> s = TrainValSplit.ofText("🎉🎉ab", 0.5);
        assertEquals("🎉🎉", s.train());
        assertEquals("ab", s.val());
    }

    @Test
    void splitsTokens() {
        TrainValSplit<TokenSource> s = TrainValSplit.ofTokens(SlidingWindowDatasetTest.ids(10), 0.3);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, s.train().range(0, s.train().length()));
        assertArrayEquals(new int[] {7, 8, 9}, s.val().range(0, 3));
        assertEquals(8, s.val().get(1));
    }

    @Test
    void rejectsFractionsOutsideZeroToOne() {
        assertThrows(JgptException.class, () -> TrainValSplit.ofText("abc", 1));
        assertThrows(JgptException.class, () -> TrainValSplit.ofText("abc", -0.1));
        assertThrows(JgptException.class, () -> TrainValSplit.ofText("abc", Double.NaN));
    }
}
