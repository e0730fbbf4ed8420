package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** One rank: every collective gives what the hand-computed values say for a world of one. */
class SingleProcessTest {
    @Test
    void everyCollectiveIsRightForOneRank() {
        try (SingleProcess c = new SingleProcess()) {
            assertEquals(List.of(), Collectives.check(c, Collectives.HOST));
        }
    }
}
