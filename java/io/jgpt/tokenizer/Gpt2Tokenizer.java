package io.jgpt.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import io.jgpt.JgptException;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-pair encoding, token for token the same as tiktoken's {@code gpt2} encoding (JTokkit's r50k_base
 * holds the same ranks). Unlike plain JTokkit, the literal {@code <|endoftext|>} in text becomes token 50256, as
 * the book's {@code tokenizer.encode(text, allowed_special={"<|endoftext|>"})} does.
 */
public final class Gpt2Tokenizer implements TextCodec {
    public static final int VOCAB_SIZE = 50257;
    public static final int END_OF_TEXT = 50256;
    public static final String END_OF_TEXT_TEXT = "<|endoftext|>";

    // The rank table is parsed once and shared. A lazy registry parses only r50k_base: the default one parses
    // every encoding JTokkit ships (cl100k, o200k, ...), which dominated generate's start-up.
    private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @Override
    public int[] encode(String text) {
        // JTokkit refuses special tokens in encode(), so the text is cut at each <|endoftext|> and the pieces
        // are encoded as ordinary text: BPE never merges across that marker in tiktoken either.
        String clean = replaceLoneSurrogates(text);
        IntArrayList ids = new IntArrayList();
        int from = 0;
        while (true) {
            int at = clean.indexOf(END_OF_TEXT_TEXT, from);
            String piece = clean.substring(from, at < 0 ? clean.length() : at);
            if (!piece.isEmpty()) {
                IntArrayList part = ENCODING.encodeOrdinary(piece);
                for (int i = 0; i < part.size(); i++) {
                    ids.add(part.get(i));
                }
            }
            if (at < 0) {
                return ids.toArray();
            }
            ids.add(END_OF_TEXT);
            from = at + END_OF_TEXT_TEXT.length();
        }
    }

    /** Invalid UTF-8 from a token sequence cut mid-character decodes to U+FFFD, as tiktoken's errors="replace". */
    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= VOCAB_SIZE) {
                throw new JgptException("token id " + ids[i] + " at position " + i
                        + " is outside the GPT-2 vocabulary [0, " + VOCAB_SIZE + ")");
            }
            list.add(ids[i]);
        }
        return new String(ENCODING.decodeBytes(list), StandardCharsets.UTF_8);
    }

    /**
     * Java strings may hold unpaired surrogates that have no UTF-8 form; tiktoken turns them into U+FFFD, while
     * JTokkit would encode them as '?'. Matching tiktoken keeps token ids identical for such input.
     */
    private static String replaceLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                if (out != null) {
                    out.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append('\uFFFD');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }
}
