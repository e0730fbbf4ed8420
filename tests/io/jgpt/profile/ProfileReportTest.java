package io.jgpt.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProfileReportTest {

    /** matmul twice (100 µs + 300 µs), gelu once (100 µs); stamps are begin/end pairs. */
    private static Profiler profiled() {
        Profiler p = new Profiler(new ScriptedClock(0, 100, 100, 200, 200, 500));
        long t = p.begin();
        p.end(t, "matmul", 1_000_000, 2e9);
        t = p.begin();
        p.end(t, "gelu", 500_000, 0);
        t = p.begin();
        p.end(t, "matmul", 1_000_000, 2e9);
        p.flush();
        return p;
    }

    @Test
    void sumsCallsAndTimeAndSortsByTotal() {
        List<ProfileReport.Row> rows = new ProfileReport(profiled(), ProfileReport.Peaks.NONE).rows();
        assertEquals(List.of("matmul", "gelu"), rows.stream().map(ProfileReport.Row::name).toList());
        ProfileReport.Row mm = rows.getFirst();
        assertEquals(2, mm.calls());
        assertEquals(0.4, mm.totalMillis(), 1e-12);
        assertEquals(200, mm.meanMicros(), 1e-9);
        assertEquals(80, mm.percentOfTime(), 1e-9);
        assertEquals(20, rows.get(1).percentOfTime(), 1e-9);
    }

    @Test
    void ratesComeFromDeclaredBytesAndFlops() {
        var report = new ProfileReport(profiled(), new ProfileReport.Peaks(10, 20));
        ProfileReport.Row mm = report.rows().getFirst(), gelu = report.rows().get(1);
        // 2 MB in 400 µs = 5 GB/s; 4 GFLOP in 400 µs = 10 TFLOP/s.
        assertEquals(5, mm.gbPerSecond(), 1e-9);
        assertEquals(10, mm.tflopsPerSecond(), 1e-9);
        assertEquals(50, mm.percentOfPeakBandwidth(), 1e-9);
        assertEquals(50, mm.percentOfPeakFlops(), 1e-9);
        assertEquals(5, gelu.gbPerSecond(), 1e-9);
        assertTrue(Double.isNaN(gelu.tflopsPerSecond()), "no flops declared");
        assertEquals(0.5, report.totalMillis(), 1e-12);
    }

    @Test
    void textAndMarkdownShowEveryRowAndTheTotal() {
        var report = new ProfileReport(profiled(), ProfileReport.Peaks.H200_FP32);
        String text = report.toText();
        assertTrue(text.lines().anyMatch(l -> l.matches("matmul\\s+2\\s+0\\.400\\s+200\\.0\\s+80\\.0\\s+5\\.0\\s+10\\.00\\s+0\\.1\\s+14\\.9")),
                text);
        assertTrue(text.lines().anyMatch(l -> l.matches("gelu\\s+1\\s+0\\.100\\s+100\\.0\\s+20\\.0\\s+5\\.0\\s+-\\s+0\\.1\\s+-")), text);
        assertTrue(text.lines().anyMatch(l -> l.matches("total\\s+3\\s+0\\.500\\s+100\\.0\\s*")), text);
        String md = report.toMarkdown();
        assertEquals(5, md.lines().count(), md);
        assertTrue(md.startsWith("| span | calls | total ms |"), md);
        assertTrue(md.contains("| matmul | 2 | 0.400 | 200.0 | 80.0 | 5.0 | 10.00 | 0.1 | 14.9 |"), md);
        assertTrue(md.contains("| **total** | 3 | 0.500 |"), md);
    }

    @Test
    void emptyProfileGivesAnEmptyTable() {
        var report = new ProfileReport(List.of(), ProfileReport.Peaks.NONE);
        assertEquals(0, report.totalMillis());
        assertTrue(report.toText().contains("total"));
    }
}
