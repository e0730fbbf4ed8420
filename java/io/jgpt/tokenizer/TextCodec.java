package io.jgpt.tokenizer;

/** Text to token ids and back: what generation needs from a tokenizer. */
public interface TextCodec {

    int[] encode(String text);

    String decode(int[] ids);
}
