package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.data.Range;
import org.jfree.data.xy.XYDataset;
import org.junit.jupiter.api.Test;

/** loss.png shows every step (raw and smoothed) under the evaluations, on axes fitted to the data. */
class LossChartTest {

    @Test
    void drawsEveryStepAndTheEvaluationsOnAFittedAxis() {
        List<LossPlot.StepLoss> steps = new ArrayList<>();
        for (int i = 1; i <= 40; i++) steps.add(new LossPlot.StepLoss(100L * i, 4.0 - i / 40.0 + (i % 2) * 0.1));
        List<LossPlot.Point> evals = List.of(new LossPlot.Point(0, 4.1, 4.2), new LossPlot.Point(4000, 3.1, 3.3));
        JFreeChart chart = LossChart.chart(evals, steps);
        XYDataset data = chart.getXYPlot().getDataset();
        assertEquals(4, data.getSeriesCount());
        assertEquals("train loss, each step", data.getSeriesKey(0));
        assertEquals(40, data.getItemCount(0));
        assertEquals("train loss, smoothed", data.getSeriesKey(1));
        assertEquals(40, data.getItemCount(1));
        assertEquals("validation loss", data.getSeriesKey(3));
        // The smoothed curve stays within the raw losses and starts at the first one (bias-corrected).
        assertEquals(steps.getFirst().loss(), data.getYValue(1, 0), 1e-12);
        Range y = chart.getXYPlot().getRangeAxis().getRange();
        assertTrue(y.getLowerBound() > 2.5 && y.getUpperBound() < 5, "the y axis fits losses in [3, 4.2]: " + y);
    }

    @Test
    void withoutValidationThereIsNoValidationSeries() {
        JFreeChart chart = LossChart.chart(List.of(new LossPlot.Point(0, 4, Double.NaN)), List.of(new LossPlot.StepLoss(10, 3.9)));
        XYDataset data = chart.getXYPlot().getDataset();
        assertEquals(3, data.getSeriesCount());
        for (int s = 0; s < data.getSeriesCount(); s++) assertTrue(!data.getSeriesKey(s).equals("validation loss"));
    }
}
