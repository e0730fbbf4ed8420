package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** --help says what the flags really do, and mentions --debug, which every command accepts. */
class HelpTest {

    @Test
    void everyHelpMentionsDebug() {
        for (String command : List.of("demo", "train", "generate", "eval", "tokenize", "convert", "bench", "bench-generate", "info",
                "roofline")) {
            CliRun r = CliRun.of(command, "--help");
            assertEquals(0, r.code(), command);
            assertTrue(r.out().contains("Add --debug to any command"), command + " --help: " + r.out());
        }
    }

    @Test
    void generateOffersNoTrainingFlagsAndSaysWhatContextIs() {
        String help = CliRun.of("generate", "--help").out().replaceAll("\\s+", " ");
        assertFalse(help.contains("--dropout"), help);
        assertFalse(help.contains("trained on"), help);
        assertTrue(help.contains("generate requires it to match"), help);
        String train = CliRun.of("train", "--help").out();
        assertTrue(train.contains("--overwrite") && train.contains("--dropout"), train);
    }
}
