package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {

    private static final String[] TINY = {"generate", "--model", "gpt2-small", "--n-layer", "1", "--n-head", "2",
            "--n-embd", "8", "--context", "16", "--threads", "1", "--prompt", "Hello, I am"};

    @Test
    void printsThePromptAndItsContinuation() {
        // 4 prompt tokens + 10 new stay within the context of 16, where both modes see the same tokens.
        Run cached = run(with("--max-new-tokens", "10"));
        Run uncached = run(with("--max-new-tokens", "10", "--no-cache"));
        assertEquals(0, cached.code, cached.err);
        assertTrue(cached.out.startsWith("Hello, I am"), cached.out);
        assertTrue(cached.out.length() > "Hello, I am".length() + 1, cached.out);
        assertEquals(cached.out, uncached.out);
        Run sampled = run(with("--max-new-tokens", "5", "--temperature", "0.8", "--top-k", "40", "--top-p", "0.9"));
        assertEquals(0, sampled.code, sampled.err);
    }

    @Test
    void badFlagsAreUserErrorsNamingTheFlag() {
        for (String[] bad : new String[][] {{"--temperature", "-1"}, {"--top-k", "0"}, {"--top-p", "1.5"},
                {"--max-new-tokens", "-2"}}) {
            Run r = run(with(bad));
            assertEquals(2, r.code, String.join(" ", bad));
            assertTrue(r.err.contains(bad[0]), r.err);
        }
    }

    private record Run(int code, String out, String err) {}

    private static String[] with(String... more) {
        String[] args = java.util.Arrays.copyOf(TINY, TINY.length + more.length);
        System.arraycopy(more, 0, args, TINY.length, more.length);
        return args;
    }

    private static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
