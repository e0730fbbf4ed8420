package io.jgpt.train;

import io.jgpt.io.AtomicWrite;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws the loss plot with JFreeChart. Kept apart from {@link LossPlot} so that a Java runtime without
 * java.desktop (the trimmed one the GPU check carries) never loads a class that refers to AWT.
 */
final class LossChart {
    /** Weight of the newest step in the smoothed curve (an exponential moving average, bias-corrected). */
    private static final double SMOOTHING = 0.1;

    private LossChart() {}

    static void draw(List<LossPlot.Point> points, List<LossPlot.StepLoss> steps, Path file) {
        BufferedImage image = chart(points, steps).createBufferedImage(800, 500);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            // No disk cache: ImageIO's cache is a temp file deleted by a shutdown hook, which fails (and stays
            // behind) when the plot is written while the JVM is already exiting.
            ImageIO.setUseCache(false);
            ImageIO.write(image, "png", png);
        } catch (IOException e) {
            throw new IllegalStateException("PNG encoding of an in-memory image failed", e);
        }
        AtomicWrite.write(file, ch -> ch.write(ByteBuffer.wrap(png.toByteArray())));
    }

    /** The chart: the y axis fits the losses (it does not start at 0), so a real decrease is visible. */
    static JFreeChart chart(List<LossPlot.Point> points, List<LossPlot.StepLoss> steps) {
        System.setProperty("java.awt.headless", "true");
        XYSeries raw = new XYSeries("train loss, each step");
        XYSeries smooth = new XYSeries("train loss, smoothed");
        double average = 0;
        double weight = 0;
        for (LossPlot.StepLoss s : steps) {
            raw.add(s.tokens(), s.loss());
            average = (1 - SMOOTHING) * average + SMOOTHING * s.loss();
            weight = (1 - SMOOTHING) * weight + SMOOTHING;
            smooth.add(s.tokens(), average / weight);
        }
        XYSeries train = new XYSeries("train loss, evaluated");
        XYSeries val = new XYSeries("validation loss");
        for (LossPlot.Point p : points) {
            train.add(p.tokens(), p.trainLoss());
            if (Double.isFinite(p.valLoss())) val.add(p.tokens(), p.valLoss());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        Color[] colors = {new Color(0xB0C4DE), new Color(0x1F5FBF), new Color(0x1F5FBF), new Color(0xE07020)};
        boolean[] lines = {true, true, false, true};
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        XYSeries[] all = {raw, smooth, train, val};
        for (int i = 0; i < all.length; i++) {
            if (all[i].getItemCount() == 0) continue;
            int k = data.getSeriesCount();
            data.addSeries(all[i]);
            renderer.setSeriesPaint(k, colors[i]);
            renderer.setSeriesLinesVisible(k, lines[i]);
            renderer.setSeriesShapesVisible(k, i >= 2);
            renderer.setSeriesStroke(k, new BasicStroke(i == 0 ? 1f : 2f));
        }
        JFreeChart chart = ChartFactory.createXYLineChart("jgpt training", "tokens seen", "loss", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        chart.setPadding(new RectangleInsets(8, 8, 8, 32)); // room for the last tick label on the x axis
        return chart;
    }
}
