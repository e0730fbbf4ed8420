package io.jgpt.data;

import io.jgpt.JgptException;
import io.jgpt.io.IoErrors;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Training data from the files {@code --data} names: UTF-8 text (tokenized here, documents joined by
 * {@code <|endoftext|>}, split into train/validation by characters as the book does) or llm.c token shards
 * ({@code .bin}, memory-mapped, split by tokens). Text and shards are not mixed in one run.
 */
public final class Corpus {
    /** Characters above which tokenizing takes long enough (seconds) to be announced. */
    private static final int LONG_TEXT = 16 << 20;

    private Corpus() {}

    public static TrainValSplit<TokenSource> load(List<Path> files, double valFraction, int vocabSize) {
        if (files.isEmpty()) throw new JgptException("--data needs at least one file");
        boolean shards = files.getFirst().toString().endsWith(".bin");
        for (Path f : files) {
            if (f.toString().endsWith(".bin") != shards) {
                throw new JgptException("--data mixes token shards (.bin) and text files: " + files);
            }
        }
        if (shards) {
            TokenSource tokens = files.size() == 1 ? TokenShard.open(files.getFirst()) : concatenate(files);
            tokens.validate(vocabSize);
            return TrainValSplit.ofTokens(tokens, valFraction);
        }
        List<String> texts = new ArrayList<>();
        for (Path f : files) texts.add(readText(f));
        String text = String.join(Gpt2Tokenizer.END_OF_TEXT_TEXT, texts);
        if (text.length() > LONG_TEXT) {
            // Tokenizing runs at a few MB/s: say what the pause is.
            LoggerFactory.getLogger(Corpus.class).info("tokenizing {} MB of text from {}", text.length() >> 20,
                    files.size() == 1 ? files.getFirst() : files.size() + " files");
        }
        TrainValSplit<String> split = TrainValSplit.ofText(text, valFraction);
        Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();
        String name = files.size() == 1 ? files.getFirst().toString() : files.size() + " files";
        TokenSource train = TokenSource.of(name + " (train part)", tokenizer.encode(split.train()));
        TokenSource val = TokenSource.of(name + " (validation part)", tokenizer.encode(split.val()));
        train.validate(vocabSize);
        val.validate(vocabSize);
        return new TrainValSplit<>(train, val);
    }

    private static TokenSource concatenate(List<Path> files) {
        List<int[]> parts = new ArrayList<>();
        long total = 0;
        for (Path f : files) {
            try (TokenShard shard = TokenShard.open(f)) {
                total += shard.length();
                if (total > Integer.MAX_VALUE - 8) throw new JgptException("--data shards hold more than 2^31 tokens together; pass fewer files");
                parts.add(shard.range(0, shard.length()));
            }
        }
        int[] all = new int[(int) total];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return TokenSource.of(files.size() + " shards", all);
    }

    /** Strict UTF-8: a malformed byte sequence is an error naming the file and its byte offset, not a silent replacement. */
    public static String readText(Path file) {
        if (Files.isDirectory(file)) throw new JgptException(file + ": is a directory, not a text file");
        if (!Files.isRegularFile(file)) throw new JgptException(file + ": no such file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new JgptException(file + ": cannot read: " + IoErrors.reason(e), e);
        }
        if (bytes.length == 0) throw new JgptException(file + ": the file is empty");
        return decodeUtf8(bytes, file.toString());
    }

    /** Decodes strict UTF-8; {@code source} names the bytes in the error, which gives the offset of the first bad byte. */
    public static String decodeUtf8(byte[] bytes, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 8, (long) bytes.length));
        CoderResult r = decoder.decode(in, out, true);
        if (r.isUnderflow()) r = decoder.flush(out);
        if (r.isError()) {
            int at = in.position();
            StringBuilder hex = new StringBuilder();
            for (int i = at; i < Math.min(bytes.length, at + r.length()); i++) hex.append(String.format(" %02x", bytes[i] & 0xff));
            throw new JgptException(source + ": not valid UTF-8 text: byte offset " + at + " (" + hex.toString().strip()
                    + ") does not start or continue a UTF-8 character");
        }
        return out.flip().toString();
    }
}
