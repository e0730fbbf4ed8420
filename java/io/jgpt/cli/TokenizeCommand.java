package io.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.data.Corpus;
import io.jgpt.data.ShardWriter;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** GPT-2 BPE: text to token ids (or a token shard), and ids back to text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Encode text to GPT-2 token ids (or an llm.c shard); --decode goes back.")
public final class TokenizeCommand implements Callable<Integer> {

    static final class Input {
        @Option(names = "--text", description = "The text (with --decode: ids, e.g. \"15496, 11\" or a JSON array).")
        String text;

        @Option(names = "--file", description = "A UTF-8 text file.")
        Path file;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--json", description = "Print the ids as one JSON array.")
    boolean json;

    @Option(names = "--decode", description = "Turn ids back into text.")
    boolean decode;

    @Option(names = "--shard", description = "Write the ids as an llm.c uint16 token shard to this file.")
    Path shard;

    @Override
    public Integer call() throws Exception {
        if (shard != null && json) throw new JgptException("--json and --shard cannot be combined: --shard writes the ids to a file, --json prints them");
        if (decode && (shard != null || json)) {
            throw new JgptException((json ? "--json" : "--shard") + " has no effect with --decode, which prints text");
        }
        String text = input.text != null ? input.text : Corpus.readText(input.file);
        Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();
        if (decode) {
            System.out.println(tokenizer.decode(parseIds(text)));
            return 0;
        }
        int[] ids = tokenizer.encode(text);
        if (shard != null) {
            ShardWriter.write(shard, ids);
            System.out.printf("wrote %,d tokens to %s%n", ids.length, shard);
        } else if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(ids));
        } else {
            System.out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        }
        return 0;
    }

    private static int[] parseIds(String s) {
        String[] parts = s.replaceAll("[\\[\\],]", " ").trim().split("\\s+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new JgptException("--decode expects token ids; '" + parts[i] + "' at position " + i + " is not one");
            }
        }
        return ids;
    }
}
