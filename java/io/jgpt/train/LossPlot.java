package io.jgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.io.IoErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code loss.png} shows against tokens seen: every training step's loss (raw, and smoothed) and the
 * evaluations of train and validation loss over it (like the book's plot, which has only the latter).
 */
public final class LossPlot {
    public static final String FILE = "loss.png";

    /** An evaluation: train and validation loss (NaN where there is no validation part). */
    public record Point(long tokens, double trainLoss, double valLoss) {}

    /** One training step's loss. */
    public record StepLoss(long tokens, double loss) {}

    private final List<Point> points = new ArrayList<>();
    private final List<StepLoss> steps = new ArrayList<>();

    public void add(long tokens, double trainLoss, double valLoss) {
        points.add(new Point(tokens, trainLoss, valLoss));
    }

    /** A training step's loss; a skipped step's non-finite loss is not drawn. */
    public void addStep(long tokens, double loss) {
        if (Double.isFinite(loss)) steps.add(new StepLoss(tokens, loss));
    }

    public List<Point> points() {
        return List.copyOf(points);
    }

    public List<StepLoss> steps() {
        return List.copyOf(steps);
    }

    /** Adds what a metrics.jsonl already holds (a resumed run's plot shows the whole run). */
    public void replay(Path metrics) {
        if (!Files.exists(metrics)) return;
        ObjectMapper json = new ObjectMapper();
        try {
            for (String line : Files.readAllLines(metrics)) {
                JsonNode n = json.readTree(line);
                long tokens = n.path("tokens_seen").asLong();
                switch (n.path("type").asText()) {
                    case "train" -> { if (n.has("loss")) addStep(tokens, n.get("loss").asDouble()); }
                    case "eval" -> add(tokens, n.path("train_loss").asDouble(Double.NaN), n.path("val_loss").asDouble(Double.NaN));
                    default -> { }
                }
            }
        } catch (IOException e) {
            throw new JgptException("cannot read " + metrics + ": " + IoErrors.reason(e), e);
        }
    }

    /**
     * Writes the PNG atomically; does nothing before there is anything to draw, or (with a warning, once) on
     * a trimmed Java runtime without the java.desktop module that drawing needs.
     */
    public void write(Path dir) {
        if ((points.isEmpty() && steps.isEmpty()) || !canDraw()) return;
        LossChart.draw(points, steps, dir.resolve(FILE));
    }

    private static Boolean drawable;

    private static synchronized boolean canDraw() {
        if (drawable == null) {
            drawable = ModuleLayer.boot().findModule("java.desktop").isPresent();
            if (!drawable) {
                org.slf4j.LoggerFactory.getLogger(LossPlot.class)
                        .warn("this Java runtime has no java.desktop module: {} is not drawn (metrics.jsonl has the data)", FILE);
            }
        }
        return drawable;
    }
}
