package io.jgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class Gpt2TokenizerTest {
    private final Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();

    @Test
    void encodesTheBooksExamples() {
        assertArrayEquals(new int[] {15496, 11, 314, 716}, tokenizer.encode("Hello, I am"));
        assertArrayEquals(new int[] {6109, 3626, 6100, 345}, tokenizer.encode("Every effort moves you"));
    }

    @Test
    void endOfTextIsOneSpecialToken() {
        assertArrayEquals(new int[] {50256}, tokenizer.encode("<|endoftext|>"));
        // The book's chapter 2 example: text on both sides of the marker is encoded on its own.
        int[] ids = tokenizer.encode("Hello, do you like tea? <|endoftext|> In the sunlit terraces");
        assertArrayEquals(new int[] {15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812,
                2114}, ids);
        assertEquals("a<|endoftext|><|endoftext|>b", tokenizer.decode(tokenizer.encode("a<|endoftext|><|endoftext|>b")));
    }

    /** The shared copy is the book's file (one line per paragraph, 20,479 characters): the book's 5,145 tokens. */
    @Test
    void theVerdictHasTheBooks5145Tokens() throws IOException {
        String text = Files.readString(SharedData.file("the-verdict.txt"));
        assertEquals(20479, text.length());
        assertEquals(5145, tokenizer.encode(text).length);
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
    }

    @Test
    void roundTripsUnicode() {
        String text = "naïve café — 日本語 🎉 tabs\tand\nnewlines  ";
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        assertArrayEquals(new int[0], tokenizer.encode(""));
        assertEquals("", tokenizer.decode(new int[0]));
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertArrayEquals(tokenizer.encode("x\uFFFDy"), tokenizer.encode("x\uD800y"));
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        JgptException e = assertThrows(JgptException.class, () -> tokenizer.decode(new int[] {1, 50257}));
        assertTrue(e.getMessage().contains("50257") && e.getMessage().contains("position 1"), e.getMessage());
        e = assertThrows(JgptException.class, () -> tokenizer.decode(new int[] {-3}));
        assertTrue(e.getMessage().contains("-3") && e.getMessage().contains("position 0"), e.getMessage());
    }
}
