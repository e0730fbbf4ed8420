package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.Main;
import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
import io.jgpt.data.ShardWriter;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The table of bad inputs: each one ends with exit status 2, one line on stderr that names the problem,
 * no stack trace, and no run directory written.
 */
class UserErrorsTest {

    @TempDir
    static Path dir;
    static Path text;
    static Path checkpoint;
    static Path untied;
    static Path resumable;
    static Path out;

    @BeforeAll
    static void files() throws IOException {
        text = dir.resolve("story.txt");
        Files.writeString(text, "Every effort moves you forward, one small step after another. ".repeat(20));
        out = dir.resolve("never-written");
        checkpoint = dir.resolve("ckpt");
        untied = dir.resolve("untied");
        try (CpuOps ops = new CpuOps(1)) {
            Gpt2Checkpoint.save(checkpoint, ModelStates.export(new GPTModel(new GPTConfig(50257, 16, 8, 2, 1, 0f, true, true), ops, 1)));
            Gpt2Checkpoint.save(untied, ModelStates.export(new GPTModel(new GPTConfig(50257, 16, 8, 2, 1, 0f, true, false), ops, 1)));
        }
        resumable = dir.resolve("resumable");
        assertEquals(0, Main.run("train", "--data", text.toString(), "--model", checkpoint.toString(), "--steps", "1",
                "--batch", "2", "--context", "16", "--eval-batches", "1", "--threads", "1", "--out", resumable.toString()));
    }

    static Path file(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** A copy of the valid checkpoint with one file replaced (or removed when bytes is null). */
    static Path brokenCheckpoint(String name, String fileName, byte[] bytes) throws IOException {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(checkpoint.resolve(f), d.resolve(f));
        if (bytes == null) Files.delete(d.resolve(fileName));
        else Files.write(d.resolve(fileName), bytes);
        return d;
    }

    static byte[] ints(int... values) {
        ByteBuffer b = ByteBuffer.allocate(1024 + 64).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) b.putInt(v);
        return b.array();
    }

    static byte[] safetensors(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    static String config(String replace, String with) throws IOException {
        return Files.readString(checkpoint.resolve("config.json")).replace(replace, with);
    }

    static List<String> train(String... more) {
        // A flag given again replaces the default value above.
        List<String> a = new ArrayList<>(List.of("train", "--data", text.toString(), "--model", "book-124m", "--n-layer", "1",
                "--n-head", "2", "--n-embd", "8", "--context", "8", "--steps", "1", "--out", out.toString()));
        for (int i = 0; i < more.length; i += 2) {
            int at = a.indexOf(more[i]);
            if (at >= 0) a.set(at + 1, more[i + 1]);
            else a.addAll(List.of(more[i], more[i + 1]));
        }
        return a;
    }

    static Arguments row(String expected, List<String> args) {
        return Arguments.of(expected, args);
    }

    static Stream<Arguments> table() throws IOException {
        String cp = checkpoint.toString();
        byte[] header = Files.readAllBytes(checkpoint.resolve("model.safetensors"));
        return Stream.of(
                // data
                row("no such file", List.of("train", "--data", dir.resolve("missing.txt").toString(), "--steps", "1", "--out", out.toString())),
                row("is empty", trainWithData(file("empty.txt", new byte[0]))),
                row("needs at least", trainWithData(file("short.txt", "Hello, I am".getBytes(StandardCharsets.UTF_8)))),
                row("not valid UTF-8 text: byte offset 3 (e9)", trainWithData(file("latin1.txt", new byte[] {'c', 'a', 'f', (byte) 0xe9, ' ', 'x'}))),
                row("not valid UTF-8 text: byte offset 2", List.of("tokenize", "--file", file("bad-utf8.txt", new byte[] {'o', 'k', (byte) 0xc3}).toString())),
                row("is a directory", trainWithData(dir)),
                row("is a directory", List.of("tokenize", "--text", "Hi", "--shard", Files.createDirectories(dir.resolve("shard-dir")).toString())),
                row("magic", trainWithData(file("bad-magic.bin", ints(1234, 1, 0)))),
                row("version", trainWithData(file("bad-version.bin", ints(20240520, 7, 0)))),
                row("token", trainWithData(file("bad-count.bin", ints(20240520, 1, 1_000_000)))),
                row("token id 60000 at position 3", trainWithData(shard("big-id.bin", 1, 2, 3, 60000, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19))),
                // checkpoints and weights
                row("config.json is missing", eval(brokenCheckpoint("no-config", "config.json", null))),
                row("model.safetensors is missing", eval(brokenCheckpoint("no-weights", "model.safetensors", null))),
                row("header", eval(brokenCheckpoint("huge-header", "model.safetensors",
                        ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array()))),
                row("JSON", eval(brokenCheckpoint("bad-json", "model.safetensors", safetensors("{not json", 0)))),
                row("dtype", eval(brokenCheckpoint("bad-dtype", "model.safetensors",
                        safetensors("{\"wte.weight\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)))),
                row("overlap", eval(brokenCheckpoint("overlap", "model.safetensors", safetensors(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)))),
                row("missing", eval(brokenCheckpoint("missing-tensor", "model.safetensors",
                        safetensors("{\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[50257,8],\"data_offsets\":[0,1608224]}}", 1608224)))),
                row("shape", eval(brokenCheckpoint("wrong-shape", "config.json", config("\"n_embd\" : 8", "\"n_embd\" : 16").getBytes(StandardCharsets.UTF_8)))),
                row("not divisible", eval(brokenCheckpoint("heads", "config.json", config("\"n_head\" : 2", "\"n_head\" : 3").getBytes(StandardCharsets.UTF_8)))),
                row("truncated", eval(brokenCheckpoint("truncated", "model.safetensors", java.util.Arrays.copyOf(header, header.length / 2)))),
                row("magic", List.of("eval", "--model", file("bad.bin", ints(42, 3)).toString(), "--data", text.toString())),
                row("version", List.of("eval", "--model", file("bad-version-llmc.bin", ints(20240326, 9)).toString(), "--data", text.toString())),
                // flags
                row("--context 99 exceeds", List.of("eval", "--model", cp, "--data", text.toString(), "--context", "99")),
                row("--precision must be fp32, tf32 or bf16, got 'fp8'", train("--precision", "fp8")),
                row("--precision tf32 is a GPU tensor-core mode", train("--precision", "tf32")),
                row("--tf32 contradicts --precision bf16", Stream.concat(train("--precision", "bf16").stream(), Stream.of("--tf32")).toList()),
                row("--batch must be positive", train("--batch", "0")),
                row("--steps must be positive", train("--steps", "0")),
                row("--epochs must be positive", trainEpochs("0")),
                row("--context must be positive", train("--context", "0")),
                row("--lr must be a finite number", train("--lr", "-1")),
                row("--lr must be a finite number", train("--lr", "NaN")),
                row("--weight-decay must be a finite number", train("--weight-decay", "-0.5")),
                row("dropout must be in [0, 1)", train("--dropout", "1.0")),
                row("--temperature", List.of("generate", "--model", cp, "--prompt", "Hi", "--temperature", "-1")),
                row("--top-k must be in [1, 50257]", List.of("generate", "--model", cp, "--prompt", "Hi", "--temperature", "1", "--top-k", "0")),
                row("--top-k must be in [1, 50257]", List.of("generate", "--model", cp, "--prompt", "Hi", "--temperature", "1", "--top-k", "60000")),
                row("--top-p must be in (0, 1]", List.of("generate", "--model", cp, "--prompt", "Hi", "--temperature", "1", "--top-p", "1.5")),
                row("--prompt must not be empty", List.of("generate", "--model", cp, "--prompt", "")),
                row("unknown device 'tpu'", train("--device", "tpu")),
                row("not a preset", List.of("generate", "--model", "gpt7", "--prompt", "Hi")),
                // GPU
                row("--device cuda is not usable", train("--device", "cuda")),
                row("--device cuda is not usable", List.of("demo", "--device", "cuda", "--out", out.toString())),
                // validated before the first step (issue 13, item 2)
                row("--sample-prompt: token 0 ('Every', id 6109) is outside the model's vocabulary of 300",
                        trainWithData(smallIdShard(), "--vocab", "300", "--sample-prompt", "Every effort")),
                // a loaded model keeps its shape; generate has one rule for --context (item 4)
                row("--n-layer 2 contradicts the model's 1", List.of("train", "--data", text.toString(), "--model", cp, "--n-layer", "2",
                        "--steps", "1", "--out", out.toString())),
                row("--vocab 300 contradicts the model's 50257", List.of("train", "--data", text.toString(), "--model", cp, "--vocab", "300",
                        "--steps", "1", "--out", out.toString())),
                row("--context 8 contradicts the model's 16", List.of("generate", "--model", cp, "--prompt", "Hi", "--context", "8")),
                row("--n-layer 2 contradicts the model's 1", List.of("bench-generate", "--model", cp, "--n-layer", "2", "--rounds", "1")),
                row("--prompt-tokens + --new-tokens + 1 (21) exceed the context length 16", List.of("bench-generate", "--model", cp,
                        "--prompt-tokens", "10", "--new-tokens", "10", "--rounds", "1")),
                row("Unknown options: '--dropout'", List.of("generate", "--model", cp, "--prompt", "Hi", "--dropout", "0")),
                // --resume refuses what contradicts the checkpoint (item 5)
                row("--batch 4 contradicts", resume("--batch", "4")),
                row("--context 8 contradicts", resume("--context", "8")),
                row("--seed 9 contradicts", resume("--seed", "9")),
                row("--stride 4 contradicts", resume("--stride", "4")),
                row("--n-embd 16 contradicts the model's 8", resume("--n-embd", "16")),
                row("--model book-124m (with the flags given) is not the model in", resume("--model", "book-124m")),
                row("training tokens", resumeWithData(file("other.txt", "A different story, told at a different length. ".repeat(30).getBytes(StandardCharsets.UTF_8)))),
                // the file named is the file loaded (item 6)
                row("other.safetensors", eval(checkpointWithSibling("other.safetensors", java.util.Arrays.copyOf(header, 20)).resolve("other.safetensors"))),
                row("holds AdamW's moments, not model weights", eval(resumable.resolve("checkpoints/step-00000001/optimizer.safetensors"))),
                row("is a JSON file, not weights", eval(checkpoint.resolve("config.json"))),
                // flags that cannot take effect (item 7)
                row("--min-lr 0.01 is above --lr 0.001", train("--lr", "1e-3", "--min-lr", "1e-2")),
                row("--initial-lr has no effect without --warmup", train("--initial-lr", "1e-5")),
                row("--eval-batches must not be negative", train("--eval-batches", "-1")),
                row("--top-k has no effect with --temperature 0", List.of("generate", "--model", cp, "--prompt", "Hi", "--top-k", "5")),
                row("--top-p has no effect with --temperature 0", List.of("generate", "--model", cp, "--prompt", "Hi", "--top-p", "0.9")),
                row("--json and --shard cannot be combined", List.of("tokenize", "--text", "Hi", "--json", "--shard", out.toString())),
                row("--shard has no effect with --decode", List.of("tokenize", "--text", "1 2", "--decode", "--shard", out.toString())),
                row("--tf32 is a GPU tensor-core mode", plus(train(), "--tf32")),
                row("--blas applies to --device cuda only", train("--blas", "ffm")),
                row("--no-graph applies to --device cuda only", plus(train(), "--no-graph")),
                row("--blas must be auto, jcublas or ffm, got 'cublas9'", train("--blas", "cublas9")),
                row("--trace names where --profile writes", List.of("bench", "--model", "gpt2-small", "--n-layer", "1", "--n-embd", "8",
                        "--n-head", "2", "--context", "8", "--steps", "1", "--trace", out.toString())),
                // convert never writes over a run or other work unasked (item 3), and blames the right side
                row("is a training run directory", List.of("convert", "--from", cp, "--to", resumable.toString())),
                row("is not empty; give --overwrite", List.of("convert", "--from", cp, "--to", nonEmpty().toString())),
                row("already exists; give --overwrite", List.of("convert", "--from", cp, "--to", file("exists.bin", new byte[] {1}).toString())),
                row("--dtype must be f32 or bf16, got 'f16'", List.of("convert", "--from", cp, "--to", out.resolve("h16").toString(), "--dtype", "f16")),
                row("--dtype bf16 is for a checkpoint directory", List.of("convert", "--from", cp, "--to", out.resolve("b.bin").toString(), "--dtype", "bf16")),
                row("has an untied output head", List.of("convert", "--from", untied.toString(), "--to", out.resolve("x.bin").toString())));
    }

    static List<String> plus(List<String> args, String... more) {
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of(more));
        return a;
    }

    static List<String> trainWithData(Path data, String... more) {
        List<String> a = train(more);
        a.set(2, data.toString());
        return a;
    }

    /** Ids below 300 only: a --vocab 300 model can train on it. */
    static Path smallIdShard() throws IOException {
        int[] ids = new int[200];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7) % 300;
        return shard("small-ids.bin", ids);
    }

    /** Continues {@link #resumable} into a new --out with the given flags (each refused before anything is written). */
    static List<String> resume(String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--data", text.toString(), "--steps", "3", "--resume",
                resumable.toString(), "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    static List<String> resumeWithData(Path data) {
        List<String> a = resume();
        a.set(2, data.toString());
        return a;
    }

    /** The valid checkpoint with one more safetensors file beside its model.safetensors. */
    static Path checkpointWithSibling(String name, byte[] bytes) throws IOException {
        Path d = brokenCheckpoint("with-" + name, "model.safetensors", Files.readAllBytes(checkpoint.resolve("model.safetensors")));
        Files.write(d.resolve(name), bytes);
        return d;
    }

    static Path nonEmpty() throws IOException {
        Path d = Files.createDirectories(dir.resolve("notes"));
        Files.writeString(d.resolve("todo.txt"), "mine");
        return d;
    }

    static List<String> trainEpochs(String epochs) {
        List<String> a = train();
        int i = a.indexOf("--steps");
        a.set(i, "--epochs");
        a.set(i + 1, epochs);
        return a;
    }

    static Path shard(String name, int... ids) throws IOException {
        // ShardWriter refuses ids that do not fit; write the header and uint16 body by hand.
        ByteBuffer b = ByteBuffer.allocate(1024 + 2 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(20240520).putInt(1).putInt(ids.length).position(1024);
        for (int id : ids) b.putShort((short) id);
        return file(name, b.array());
    }

    static List<String> eval(Path model) {
        return List.of("eval", "--model", model.toString(), "--data", text.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void badInputIsOneClearLine(String expected, List<String> args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        PrintStream oldOut = System.out;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            code = Main.run(args.toArray(String[]::new));
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
        String message = err.toString(StandardCharsets.UTF_8);
        List<String> lines = message.lines().filter(l -> l.startsWith("jgpt: ")).toList();
        assertEquals(JgptException.EXIT_CODE, code, "exit status for " + args + "; stderr: " + message);
        assertEquals(1, lines.size(), "one error line: " + message);
        assertTrue(lines.getFirst().contains(expected), "expected '" + expected + "' in: " + lines.getFirst());
        assertFalse(message.contains("\tat "), "no stack trace: " + message);
        assertFalse(lines.getFirst().matches(".*\\bjava[a-z]*\\.[a-z.]+\\.[A-Z]\\w*(Exception|Error).*"), "no Java exception names: " + lines.getFirst());
        assertFalse(lines.getFirst().contains("internal error"), lines.getFirst());
        assertFalse(Files.exists(out), "nothing may be written on bad input");
    }
}
