package io.jgpt.train;

import io.jgpt.io.AtomicWrite;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws the loss plot with JFreeChart. Kept apart from {@link LossPlot} so that a Java runtime without
 * java.desktop (the trimmed one the GPU check carries) never loads a class that refers to AWT.
 */
final class LossChart {
    private LossChart() {}

    static void draw(List<LossPlot.Point> points, Path file) {
        System.setProperty("java.awt.headless", "true");
        XYSeries train = new XYSeries("train loss");
        XYSeries val = new XYSeries("validation loss");
        for (LossPlot.Point p : points) {
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
        AtomicWrite.write(file, ch -> ch.write(ByteBuffer.wrap(png.toByteArray())));
    }
}
