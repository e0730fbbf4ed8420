package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Without a terminal, progress is a line per interval with position, rate-based time left and the detail. */
class ProgressTest {

    @Test
    void printsALineOncePerIntervalWithTheTimeLeft() {
        long[] now = {0};
        List<String> lines = new ArrayList<>();
        try (Progress p = new Progress("train", 0, 100, null, lines::add, () -> now[0], Duration.ofSeconds(10))) {
            for (int step = 1; step <= 100; step++) {
                now[0] += 1_000_000_000L; // one second per step
                p.update(step, "loss " + step);
            }
        }
        // Lines at 10, 20, ... 90 s; none at the end (the command prints its own last words).
        assertEquals(9, lines.size(), lines.toString());
        assertEquals("train: 10/100 (10%), loss 10, about 90 s left", lines.getFirst());
        assertEquals("train: 90/100 (90%), loss 90, about 10 s left", lines.getLast());
    }

    @Test
    void aResumedRunMeasuresItsRateFromWhereItStarted() {
        long[] now = {0};
        List<String> lines = new ArrayList<>();
        try (Progress p = new Progress("train", 500, 1000, null, lines::add, () -> now[0], Duration.ofSeconds(10))) {
            now[0] = 10_000_000_000L;
            p.update(600, "");
        }
        assertEquals(List.of("train: 600/1,000 (60%), about 40 s left"), lines);
    }

    @Test
    void longTimesReadAsMinutesAndHours() {
        assertEquals("90 s", Progress.human(90));
        assertEquals("5 min", Progress.human(300));
        assertEquals("2.5 h", Progress.human(9000));
    }
}
