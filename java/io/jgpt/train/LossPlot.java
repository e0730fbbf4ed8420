package io.jgpt.train;

import io.jgpt.io.AtomicWrite;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Train and validation loss against tokens seen, drawn with JFreeChart into {@code loss.png} (like the book's plot). */
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

    /** Writes the PNG atomically; does nothing before the first evaluation. */
    public void write(Path dir) {
        if (points.isEmpty()) return;
        System.setProperty("java.awt.headless", "true");
        XYSeries train = new XYSeries("train loss");
        XYSeries val = new XYSeries("validation loss");
        for (Point p : points) {
            train.add(p.tokens(), p.trainLoss());
            if (Double.isFinite(p.valLoss())) val.add(p.tokens(), p.valLoss());
        }
        XYSeriesCollection data = new XYSeriesCollection(train);
        if (val.getItemCount() > 0) data.addSeries(val);
        JFreeChart chart = ChartFactory.createXYLineChart("jgpt training", "tokens seen", "loss", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.getXYPlot().setBackgroundPaint(java.awt.Color.WHITE);
        chart.getXYPlot().setRangeGridlinePaint(java.awt.Color.LIGHT_GRAY);
        chart.getXYPlot().setDomainGridlinePaint(java.awt.Color.LIGHT_GRAY);
        BufferedImage image = chart.createBufferedImage(800, 500);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicWrite.write(dir.resolve(FILE), ch -> ch.write(ByteBuffer.wrap(png.toByteArray())));
    }
}
