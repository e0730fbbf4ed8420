package io.jgpt.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Train and validation loss against tokens seen, for {@code loss.png} (like the book's plot). */
public final class LossPlot {
    public static final String FILE = "loss.png";

    public record Point(long tokens, double trainLoss, double valLoss) {}

    private final List<Point> points = new ArrayList<>();

    public void add(long tokens, double trainLoss, double valLoss) {
        points.add(new Point(tokens, trainLoss, valLoss));
    }

    public List<Point> points() {
        return List.copyOf(points);
    }

    /**
     * Writes the PNG atomically; does nothing before the first evaluation, or (with a warning, once) on a
     * trimmed Java runtime without the java.desktop module that drawing needs.
     */
    public void write(Path dir) {
        if (points.isEmpty() || !canDraw()) return;
        LossChart.draw(points, dir.resolve(FILE));
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
