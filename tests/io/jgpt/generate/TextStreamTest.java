package io.jgpt.generate;

import io.jgpt.tokenizer.TextCodec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamTest {

    /** One token per UTF-8 byte, so multi-byte characters always arrive split, as BPE tokens may split them. */
    private static final TextCodec BYTES = new TextCodec() {
        @Override
        public int[] encode(String text) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[b.length];
            for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
            return ids;
        }

        @Override
        public String decode(int[] ids) {
            byte[] b = new byte[ids.length];
            for (int i = 0; i < ids.length; i++) b[i] = (byte) ids[i];
            return new String(b, StandardCharsets.UTF_8);
        }
    };

    @Test
    void splitCharactersArriveWhole() {
        String text = "naïve € 🙂 done";
        List<String> pieces = new ArrayList<>();
        TextStream stream = new TextStream(BYTES, pieces::add);
        for (int id : BYTES.encode(text)) stream.accept(id);
        stream.finish();
        assertEquals(text, String.join("", pieces));
        pieces.forEach(p -> assertFalse(p.contains("\uFFFD"), "piece '" + p + "'"));
    }

    @Test
    void finishFlushesAnIncompleteCharacter() {
        StringBuilder out = new StringBuilder();
        TextStream stream = new TextStream(BYTES, out::append);
        stream.accept('a');
        stream.accept(0xe2); // first byte of a three-byte character, never completed
        assertEquals("a", out.toString());
        stream.finish();
        assertEquals("a\uFFFD", out.toString());
    }
}
