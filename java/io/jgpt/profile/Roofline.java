package io.jgpt.profile;

import java.util.ArrayList;
import java.util.List;

/**
 * The roofline model of one profile: each span's achieved FLOP/s against its arithmetic intensity (FLOPs
 * per byte it declared), under the roof min(peak FLOP/s, bandwidth x intensity). Where the device's peaks are
 * unknown (the CPU), the roof is the best the profile itself measured: the highest achieved bandwidth and
 * FLOP rate of any span, labelled so.
 */
public record Roofline(List<Point> points, double peakTflops, double bandwidthGbs, boolean measuredRoof) {

    /** One span: FLOPs per byte, achieved TFLOP/s, and the fraction of the roof above it. */
    public record Point(String name, double intensity, double tflops, double share) {}

    public Roofline {
        points = List.copyOf(points);
    }

    /** The spans of {@code report} that declared both bytes and flops, under {@code peaks} (or measured roofs). */
    public static Roofline of(ProfileReport report, ProfileReport.Peaks peaks) {
        List<ProfileReport.Row> rows = report.rows().stream()
                .filter(r -> r.gbPerSecond() > 0 && r.tflopsPerSecond() > 0).toList();
        boolean measured = peaks.gbPerSecond() <= 0 || peaks.tflopsPerSecond() <= 0;
        double bw = measured ? rows.stream().mapToDouble(ProfileReport.Row::gbPerSecond).max().orElse(0) : peaks.gbPerSecond();
        double peak = measured ? rows.stream().mapToDouble(ProfileReport.Row::tflopsPerSecond).max().orElse(0)
                : peaks.tflopsPerSecond();
        List<Point> points = new ArrayList<>();
        for (ProfileReport.Row r : rows) {
            double intensity = r.tflopsPerSecond() * 1e3 / r.gbPerSecond(); // (TFLOP/s) / (GB/s) = 1e3 FLOP/B
            double roof = Math.min(peak, bw * intensity / 1e3);
            points.add(new Point(r.name(), intensity, r.tflopsPerSecond(), roof > 0 ? r.tflopsPerSecond() / roof : 0));
        }
        return new Roofline(points, peak, bw, measured);
    }

    /** Whether this runtime can draw it ({@link RooflineChart} needs java.desktop). */
    public static boolean drawable() {
        return ModuleLayer.boot().findModule("java.desktop").isPresent();
    }

    /** The roof at intensity x (FLOP/byte), in TFLOP/s. */
    public double roof(double intensity) {
        return Math.min(peakTflops, bandwidthGbs * intensity / 1e3);
    }

    /** The intensity where the bandwidth slope meets the compute peak. */
    public double ridge() {
        return peakTflops * 1e3 / bandwidthGbs;
    }
}
