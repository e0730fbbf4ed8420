package io.jgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.jgpt.Fuzz;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Random text and random ids: encode never fails, decode fails only with JgptException, text round-trips. */
class TokenizerFuzzTest {
    private static final long SEED = 50256;
    private static final String[] PIECES = {"<|endoftext|>", "<|endof", "text|>", " ", "\n", "'s", "🎉", "é",
            "\uD800", "\uDC00", "日本", "  \t", "123", "Hello"};
    private final Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();

    @Test
    void randomText() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < 2000; i++) {
                String text = randomText(random);
                // Unpaired surrogates have no UTF-8 form; like tiktoken they come back as U+FFFD.
                String expected = text.codePoints()
                        .map(c -> Character.isSurrogate((char) c) && c < 0x10000 ? 0xFFFD : c)
                        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
                        .toString();
                assertEquals(expected, tokenizer.decode(tokenizer.encode(text)), "case " + i);
            }
        });
    }

    @Test
    void randomIds() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < 2000; i++) {
                int[] ids = new int[random.nextInt(64)];
                for (int k = 0; k < ids.length; k++) {
                    ids[k] = random.nextInt(20) == 0 ? random.nextInt() : random.nextInt(50257);
                }
                Fuzz.check("ids seed " + SEED + " case " + i, 4L * ids.length, () -> tokenizer.decode(ids));
            }
        });
    }

    private static String randomText(SplittableRandom random) {
        StringBuilder text = new StringBuilder();
        int parts = random.nextInt(20);
        for (int p = 0; p < parts; p++) {
            switch (random.nextInt(3)) {
                case 0 -> text.append(PIECES[random.nextInt(PIECES.length)]);
                case 1 -> text.append((char) random.nextInt(0x10000));
                default -> {
                    byte[] bytes = new byte[random.nextInt(8)];
                    random.nextBytes(bytes);
                    text.append(new String(bytes, StandardCharsets.UTF_8));
                }
            }
        }
        return text.toString();
    }
}
