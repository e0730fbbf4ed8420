package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.Main;
import io.jgpt.demo.DemoCorpus;
import io.jgpt.train.MetricsLog;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line end to end: tokenize, train until the loss is low, convert, evaluate. */
class WorkflowTest {

    /** Runs jgpt in-process and returns what it printed on stdout (asserting exit status 0). */
    static String jgpt(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            assertEquals(0, Main.run(args), () -> "jgpt " + String.join(" ", args) + " failed");
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tokenizePrintsTheBookIds() {
        assertEquals("[15496,11,314,716]", jgpt("tokenize", "--text", "Hello, I am", "--json").strip());
        assertEquals("Every effort moves you", jgpt("tokenize", "--decode", "--text", "6109, 3626, 6100, 345").strip());
    }

    @Test
    void trainsUntilTheLossIsLowThenConvertsAndEvaluates(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("stories.txt");
        Files.writeString(text, DemoCorpus.generate(40, 7));
        Path run = tmp.resolve("run");
        jgpt("train", "--data", text.toString(), "--model", "gpt2-small", "--n-layer", "2", "--n-head", "2",
                "--n-embd", "32", "--context", "32", "--batch", "4", "--steps", "120", "--lr", "1e-2",
                "--dropout", "0", "--eval-every", "40", "--eval-batches", "4", "--no-progress", "--threads", "2",
                "--out", run.toString());
        List<JsonNode> evals = Files.readAllLines(run.resolve(MetricsLog.FILE)).stream().map(WorkflowTest::json)
                .filter(n -> n.get("type").asText().equals("eval")).toList();
        double first = evals.getFirst().get("train_loss").asDouble();
        double last = evals.getLast().get("val_loss").asDouble();
        assertTrue(first > 10, "a fresh model starts near ln(50257) = 10.8: " + first);
        // The generated stories use about 100 distinct tokens: below ln(100) = 4.6 means the model has learnt
        // more than which tokens occur (measured: 3.6 after 120 steps).
        assertTrue(last < 4.5, "validation loss after training: " + last);

        // llm.c files hold tied-head GPT-2 models, hence the gpt2-small preset above.
        Path bin = tmp.resolve("model.bin");
        Path back = tmp.resolve("back");
        jgpt("convert", "--from", run.toString(), "--to", bin.toString());
        jgpt("convert", "--from", bin.toString(), "--to", back.toString());
        JsonNode a = json(jgpt("eval", "--model", run.toString(), "--data", text.toString(), "--json").strip());
        JsonNode b = json(jgpt("eval", "--model", back.toString(), "--data", text.toString(), "--json").strip());
        assertEquals(a.get("loss").asDouble(), b.get("loss").asDouble(), 0.0, "llm.c round trip changes nothing");
        assertEquals(Math.exp(a.get("loss").asDouble()), a.get("perplexity").asDouble(), 1e-9);
    }

    private static JsonNode json(String s) {
        try {
            return new ObjectMapper().readTree(s);
        } catch (java.io.IOException e) {
            throw new AssertionError(s, e);
        }
    }
}
