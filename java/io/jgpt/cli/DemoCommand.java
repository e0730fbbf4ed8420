package io.jgpt.cli;

import io.jgpt.Backends;
import io.jgpt.Main;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.demo.DemoCorpus;
import io.jgpt.io.AtomicWrite;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The first thing to run: writes the project's generated corpus and trains a small GPT on it on the CPU
 * in a few minutes, showing the loss fall, a sample, the plot and a checkpoint to generate from.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Train a small GPT on a generated corpus (CPU, a few minutes, no downloads).")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--out", defaultValue = "runs/demo", description = "Run directory; default ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--steps", defaultValue = "300", description = "Training steps; default ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda; default ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--precision", description = "fp32, tf32 or bf16 (see train --help); default bf16 on CUDA devices "
            + "of compute capability 8.0 and newer, fp32 elsewhere.")
    String precision;

    @Option(names = "--overwrite", description = "Start over in an --out that holds an earlier demo run (its checkpoints, metrics and plot are deleted).")
    boolean overwrite;

    static final String PROMPT = "One morning the wind was cold, and";

    @Override
    public Integer call() {
        Checks.positive("--steps", steps);
        Backends.check(device); // before anything is written: no half-made run directory without a GPU
        RunDirectory.checkOutput(out, null, overwrite, false);
        boolean fresh = !Files.exists(out);
        Path corpus = out.resolve("corpus.txt");
        byte[] text = DemoCorpus.generate(600, 42).getBytes(StandardCharsets.UTF_8);
        AtomicWrite.write(corpus, ch -> ch.write(ByteBuffer.wrap(text)));
        System.out.printf("demo: wrote a generated corpus of %,d bytes to %s; training a 4-layer GPT (context 64) on it%n",
                text.length, corpus);
        // --overwrite: the check above passed, and the corpus just written is this demo's own file.
        List<String> args = new java.util.ArrayList<>(List.of("--data", corpus.toString(), "--model", "book-124m", "--n-layer", "4", "--n-head", "4",
                "--n-embd", "128", "--context", "64", "--dropout", "0.1", "--batch", "8", "--steps", Integer.toString(steps),
                "--lr", "2e-3", "--warmup", "20", "--min-lr", "2e-4", "--clip", "1.0", "--weight-decay", "0.1",
                "--eval-every", "50", "--eval-batches", "10", "--sample-prompt", PROMPT, "--out", out.toString(),
                "--device", device, "--overwrite"));
        if (precision != null) args.addAll(List.of("--precision", precision)); // else train's default for the device
        int rc = Main.execute(new TrainCommand(), args.toArray(String[]::new));
        if (rc == 0) {
            System.out.printf("%nloss plot: %s%ngenerate from the model with:%n  %s%n", out.resolve("loss.png"),
                    Shell.command(List.of("./jgpt", "generate", "--model", out.toString(), "--prompt", PROMPT, "--max-new-tokens", "40")));
        } else if (fresh && RunDirectory.checkpoints(out).isEmpty()) {
            deleteQuietly(corpus, out); // training never started: leave nothing behind
        }
        return rc;
    }

    private static void deleteQuietly(Path corpus, Path dir) {
        try {
            Files.deleteIfExists(corpus);
            try (var left = Files.list(dir)) {
                if (left.findAny().isEmpty()) Files.delete(dir);
            }
        } catch (IOException ignored) {
            // Training failed and said why; a leftover corpus file is the lesser problem.
        }
    }
}
