package io.jgpt.generate;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/** Text to token ids and back: what generation needs from a tokenizer. */
public interface TextCodec {

    int[] encode(String text);

    String decode(int[] ids);

    /**
     * GPT-2's byte-level BPE (the r50k_base encoding, 50257 ids). The one place the generate command gets
     * its tokenizer: swap in the project's own GPT-2 tokenizer here when it lands.
     */
    static TextCodec gpt2() {
        var encoding = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        return new TextCodec() {
            @Override
            public int[] encode(String text) {
                // Ordinary text: a literal "<|endoftext|>" in a prompt is not turned into the special token.
                return encoding.encodeOrdinary(text).toArray();
            }

            @Override
            public String decode(int[] ids) {
                IntArrayList list = new IntArrayList(ids.length);
                for (int id : ids) list.add(id);
                return encoding.decode(list);
            }
        };
    }
}
