package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellTest {

    @Test
    void quotesWhatAShellWouldSplitOrExpand() {
        assertEquals("./jgpt generate --model 'my runs/demo' --prompt 'It'\\''s cold, and'",
                Shell.command(List.of("./jgpt", "generate", "--model", "my runs/demo", "--prompt", "It's cold, and")));
        assertEquals("runs/demo-1 --lr=1e-3", Shell.command(List.of("runs/demo-1", "--lr=1e-3")));
        assertEquals("'' '$HOME' 'a*'", Shell.command(List.of("", "$HOME", "a*")));
    }

    @Test
    void theResumeCommandKeepsTheFlagsAndReplacesResumeAndOverwrite() {
        assertEquals(List.of("train", "--data", "a b.txt", "--steps", "9", "--resume", "r/checkpoints/step-00000004"),
                TrainCommand.resumeArgs(List.of("--data", "a b.txt", "--overwrite", "--resume", "old", "--steps", "9"),
                        Path.of("r/checkpoints/step-00000004")));
    }
}
