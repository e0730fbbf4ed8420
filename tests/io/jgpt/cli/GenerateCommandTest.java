package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {

    private static final String[] TINY = {"generate", "--model", "gpt2-small", "--n-layer", "1", "--n-head", "2",
            "--n-embd", "8", "--context", "16", "--threads", "1", "--prompt", "Hello, I am"};

    @Test
    void printsThePromptAndItsContinuation() {
        // 4 prompt tokens + 10 new stay within the context of 16, where both modes see the same tokens.
        CliRun cached = run(with("--max-new-tokens", "10"));
        CliRun uncached = run(with("--max-new-tokens", "10", "--no-cache"));
        assertEquals(0, cached.code(), cached.err());
        assertTrue(cached.out().startsWith("Hello, I am"), cached.out());
        assertTrue(cached.out().length() > "Hello, I am".length() + 1, cached.out());
        assertEquals(cached.out(), uncached.out());
        assertTrue(cached.err().contains("random weights: preset gpt2-small, untrained"), cached.err());
        CliRun sampled = run(with("--max-new-tokens", "5", "--temperature", "0.8", "--top-k", "40", "--top-p", "0.9"));
        assertEquals(0, sampled.code(), sampled.err());
    }

    /** Prompts decoded together print one JSON line each, with the continuation each gets alone. */
    @Test
    void promptsFileDecodesTogetherAndPrintsJsonLines(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prompts.jsonl");
        Files.writeString(file, "Hello, I am\n\n{\"prompt\": \"The cat\"}\n\"Once upon\"\n");
        String[] base = java.util.Arrays.copyOf(TINY, TINY.length - 2); // without --prompt
        CliRun batch = run(concat(base, "--prompts", file.toString(), "--max-new-tokens", "6"));
        assertEquals(0, batch.code(), batch.err());
        String[] lines = batch.out().strip().split("\n");
        assertEquals(3, lines.length, batch.out());
        String[] prompts = {"Hello, I am", "The cat", "Once upon"};
        for (int i = 0; i < 3; i++) {
            JsonNode line = new ObjectMapper().readTree(lines[i]);
            assertEquals(i, line.get("index").intValue());
            assertEquals(prompts[i], line.get("prompt").textValue());
            CliRun alone = run(concat(base, "--prompt", prompts[i], "--max-new-tokens", "6"));
            assertEquals(alone.out().strip(), (prompts[i] + line.get("completion").textValue()).strip(), "prompt " + i);
        }
        assertTrue(batch.err().contains("tokens/s over all prompts"), batch.err());
        Files.writeString(file, "{\"text\": 1}\n");
        CliRun bad = run(concat(base, "--prompts", file.toString()));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains(file + ":1") && bad.err().contains("\"prompt\""), bad.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badFlagsAreUserErrorsNamingTheFlag() {
        for (String[] bad : new String[][] {{"--temperature", "-1"}, {"--top-k", "0"}, {"--top-p", "1.5"},
                {"--max-new-tokens", "-2"}}) {
            CliRun r = run(with(bad));
            assertEquals(2, r.code(), String.join(" ", bad));
            assertTrue(r.err().contains(bad[0]), r.err());
        }
    }

    private static String[] with(String... more) {
        String[] args = java.util.Arrays.copyOf(TINY, TINY.length + more.length);
        System.arraycopy(more, 0, args, TINY.length, more.length);
        return args;
    }

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }
}
