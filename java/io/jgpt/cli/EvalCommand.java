package io.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.Corpus;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.train.Evaluation;
import io.jgpt.train.Progress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Cross-entropy and perplexity of a model on a file, over every target of its non-overlapping full windows. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Mean cross-entropy and perplexity of a model on a text file or token shard.")
public final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Checkpoint directory, run directory, llm.c .bin, or preset.")
    String model;

    @Option(names = "--data", required = true, description = "UTF-8 text file or llm.c token shard (.bin).")
    Path data;

    @Option(names = "--context", description = "Window length, at most the model's positions (default: all of them).")
    Integer context;

    @Option(names = "--batch", defaultValue = "4", description = "Windows per forward pass; default ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
        Checks.positive("--batch", batch);
        if (context != null) Checks.positive("--context", context);
        Notes.randomWeights(model);
        try (Ops ops = device.open()) {
            GPTModel gpt = ModelSource.open(model, ops, 0, ModelSource.Flags.NONE);
            int time = context != null ? context : gpt.config().contextLength();
            if (time > gpt.config().contextLength()) {
                throw new JgptException("--context " + time + " exceeds the model's " + gpt.config().contextLength() + " positions");
            }
            var tokens = Corpus.load(List.of(data), 0, gpt.config().vocabSize()).train();
            BatchLoader loader = BatchLoader.evaluation(new SlidingWindowDataset(tokens, time, time), batch);
            Evaluation.Result r;
            try (Progress progress = Progress.start("eval", 0, loader.batchesPerEpoch(), true)) {
                r = Evaluation.run(gpt, loader, 0, (done, total) -> {
                    progress.update(done, "");
                    return true;
                });
            }
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("loss", r.loss());
                out.put("perplexity", r.perplexity());
                out.put("tokens", r.tokens());
                System.out.println(new ObjectMapper().writeValueAsString(out));
            } else {
                System.out.printf("loss %.4f, perplexity %.2f over %,d tokens%n", r.loss(), r.perplexity(), r.tokens());
            }
            return 0;
        }
    }
}
