package io.jgpt.profile;

import io.jgpt.io.AtomicWrite;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws a {@link Roofline} as a PNG with JFreeChart: log-log axes, the roof as a line, one labelled point per
 * span. Kept apart from {@link Roofline} so that a Java runtime without java.desktop (the trimmed one the GPU
 * check carries) never loads a class that refers to AWT.
 */
public final class RooflineChart {
    private RooflineChart() {}

    public static void write(Roofline r, String title, Path png) {
        System.setProperty("java.awt.headless", "true");
        double lo = r.points().stream().mapToDouble(Roofline.Point::intensity).min().orElse(0.1) / 4;
        double hi = Math.max(r.ridge(), r.points().stream().mapToDouble(Roofline.Point::intensity).max().orElse(10)) * 4;
        XYSeries roof = new XYSeries(String.format("roof: %.0f GB/s, %.3g TFLOP/s%s", r.bandwidthGbs(), r.peakTflops(),
                r.measuredRoof() ? " (best measured)" : ""), false);
        roof.add(lo, r.roof(lo));
        if (r.ridge() > lo && r.ridge() < hi) roof.add(r.ridge(), r.peakTflops());
        roof.add(hi, r.roof(hi));
        XYSeries spans = new XYSeries("spans (achieved)", false);
        for (Roofline.Point p : r.points()) spans.add(p.intensity(), p.tflops());
        XYSeriesCollection data = new XYSeriesCollection(roof);
        data.addSeries(spans);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "arithmetic intensity (FLOP/byte)", "TFLOP/s", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainAxis(new LogAxis("arithmetic intensity (FLOP/byte)"));
        double minY = r.points().stream().mapToDouble(Roofline.Point::tflops).min().orElse(1e-3);
        LogAxis y = new LogAxis("TFLOP/s");
        y.setRange(minY / 4, r.peakTflops() * 2);
        plot.setRangeAxis(y);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        renderer.setSeriesShapesVisible(0, false);
        renderer.setSeriesLinesVisible(1, false);
        renderer.setSeriesPaint(0, Color.DARK_GRAY);
        renderer.setSeriesPaint(1, new Color(0x1f77b4));
        plot.setRenderer(renderer);
        for (Roofline.Point p : r.points()) {
            XYTextAnnotation label = new XYTextAnnotation("  " + p.name(), p.intensity(), p.tflops());
            label.setTextAnchor(TextAnchor.HALF_ASCENT_LEFT);
            plot.addAnnotation(label);
        }
        BufferedImage image = chart.createBufferedImage(1000, 650);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicWrite.write(png, ch -> ch.write(ByteBuffer.wrap(out.toByteArray())));
    }
}
