package io.jgpt.generate;

import io.jgpt.tokenizer.TextCodec;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Turns a stream of token ids into a stream of text pieces. A byte-level BPE token can end in the middle of
 * a multi-byte UTF-8 character, which decodes to U+FFFD until the next token completes it; so this decodes
 * all ids so far and emits only the new suffix, holding back trailing U+FFFD characters until they resolve
 * (or until {@link #finish}).
 */
public final class TextStream implements IntConsumer {
    private static final char REPLACEMENT = '\uFFFD';

    private final TextCodec codec;
    private final Consumer<String> out;
    private int[] ids = new int[16];
    private int count;
    private int emitted; // chars of the decoded text already passed on

    public TextStream(TextCodec codec, Consumer<String> out) {
        this.codec = codec;
        this.out = out;
    }

    @Override
    public void accept(int id) {
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = id;
        String text = decoded();
        int end = text.length();
        while (end > emitted && text.charAt(end - 1) == REPLACEMENT) end--;
        emit(text, end);
    }

    /** Passes on whatever is still held back (a genuinely incomplete character stays U+FFFD). */
    public void finish() {
        String text = decoded();
        emit(text, text.length());
    }

    private String decoded() {
        return codec.decode(Arrays.copyOf(ids, count));
    }

    private void emit(String text, int end) {
        if (end > emitted) out.accept(text.substring(emitted, end));
        emitted = Math.max(emitted, end);
    }
}
