package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.DataParallel;
import io.jgpt.train.TrainingStep;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Data parallelism over a device communicator on the recording fake of the driver (no GPU): the gradient
 * buckets' copies and collectives go to the second stream, each after an event the compute stream recorded
 * once the bucket's backward kernels were queued, while later backward kernels are still queued on the
 * compute stream after it (the overlap); the optimizer waits for an event recorded on the second stream after
 * the last collective (the loss sum); and the step never waits for the device on the host.
 */
class DeviceReductionOrderTest {

    private static final GPTConfig CFG = new GPTConfig(17, 16, 16, 2, 3, 0f, true, true);

    /** Rank 0 of 2 ranks over device memory; its collectives only log themselves into the driver's timeline. */
    private static final class LoggingComm implements Communicator {
        final List<String> timeline;
        int awaits;

        LoggingComm(List<String> timeline) {
            this.timeline = timeline;
        }

        public int rank() {
            return 0;
        }

        public int size() {
            return 2;
        }

        public Memory memory() {
            return Memory.DEVICE;
        }

        public String describe() {
            return "logging fake";
        }

        public void allReduceSum(MemorySegment buffer, long count, Element type) {
            timeline.add("comm allReduce " + count);
        }

        public void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
            assertTrue(send.address() != 0 && recv.address() != 0 && send.address() != recv.address());
            timeline.add("comm reduceScatter " + recvCount);
        }

        public void allGather(MemorySegment buffer, long chunkCount, Element type) {
            timeline.add("comm allGather " + chunkCount);
        }

        public void broadcast(MemorySegment buffer, long count, Element type, int root) {
            timeline.add("comm broadcast " + count);
        }

        public void barrier() {}

        @Override
        public void await() {
            awaits++;
        }

        public void close() {}
    }

    private static Batch batch() {
        int[] in = new int[2 * 8], out = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = (i * 5) % 17;
            out[i] = ((i + 1) * 5) % 17;
        }
        return new Batch(in, out, 2, 8);
    }

    /** The event the entry at {@code i} ("side1 wait e3") waits for, and whether {@code stream} recorded it before i. */
    private static boolean waitsFor(List<String> t, int i, String stream) {
        String event = t.get(i).substring(t.get(i).indexOf("wait ") + 5);
        for (int j = i - 1; j >= 0; j--) {
            if (t.get(j).equals(stream + " record " + event)) return true;
        }
        return false;
    }

    @Test
    void bucketsReduceOnTheSecondStreamBehindTheirBackwardAndBeforeTheOptimizer() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            LoggingComm comm = new LoggingComm(driver.streamLog);
            // Small buckets: one per top-level module or so, so that several are reduced during the backward pass.
            try (DataParallel dp = new DataParallel(comm, m.parameterArena(), 4096, ops.communicationStream())) {
                TrainingStep step = new TrainingStep(m, opt, 1.0, true, dp);
                step.run(List.of(batch()), 1e-3f, 0, 1); // allocates the activations
                driver.resetCounts();
                driver.streamLog.clear();
                int awaitsBefore = comm.awaits;
                step.run(List.of(batch()), 1e-3f, 1, 1);
                List<String> t = new ArrayList<>(driver.streamLog);
                int buckets = dp.buckets().size();
                assertTrue(buckets >= 4, buckets + " buckets");

                assertEquals(0, driver.hostWaits, "a step queues its collectives without waiting for the device");
                assertEquals(0, driver.captures, "steps across ranks run eagerly");
                assertTrue(comm.awaits > awaitsBefore, "the previous step's collectives are settled (polled) first");
                List<String> comms = t.stream().filter(s -> s.startsWith("comm ")).toList();
                assertEquals(buckets, comms.stream().filter(s -> s.startsWith("comm reduceScatter")).count());
                assertEquals(buckets, comms.stream().filter(s -> s.startsWith("comm allGather")).count());
                assertEquals(List.of("comm allReduce 1"), comms.stream().filter(s -> s.startsWith("comm allReduce")).toList(),
                        "the loss is summed over ranks on the device, once");
                assertEquals(3 * buckets, t.stream().filter(s -> s.equals("side1 copy")).count(),
                        "each bucket's copies (in, own chunk, out) run on the second stream: " + t);

                int firstReduce = t.indexOf(comms.getFirst());
                int waitBefore = -1;
                for (int i = firstReduce - 1; i >= 0 && waitBefore < 0; i--) if (t.get(i).startsWith("side1 wait ")) waitBefore = i;
                assertTrue(waitBefore >= 0 && waitsFor(t, waitBefore, "compute"), "the first bucket waits for a compute event: " + t);
                assertTrue(t.subList(0, waitBefore).stream().anyMatch(s -> s.startsWith("compute kernel") && s.contains("backward")),
                        "that event comes after backward kernels");
                assertTrue(t.subList(firstReduce, t.size()).stream().anyMatch(s -> s.startsWith("compute kernel embedding_backward")),
                        "earlier layers' backward kernels are queued after the first bucket's reduction: they overlap");
                int adamw = t.indexOf("compute kernel adamw_arena");
                int lastComm = t.lastIndexOf(comms.getLast());
                assertTrue(adamw > lastComm, "the optimizer is queued after the last collective: " + t);
                int optimizerWait = -1;
                for (int i = adamw - 1; i > lastComm && optimizerWait < 0; i--) if (t.get(i).startsWith("compute wait ")) optimizerWait = i;
                assertTrue(optimizerWait > 0 && waitsFor(t, optimizerWait, "side1"),
                        "the compute stream waits for the second stream's event before the optimizer: " + t);
            }
        }
    }

    /**
     * ZeRO-1 over the device lane: gradients are only reduce-scattered, the shard's updates run on the compute
     * stream, and the updated weights are all-gathered on the second stream after them (behind an event); the
     * checkpoint gather of the moments runs the same way. The norm summed over ranks is the step's one host wait.
     */
    @Test
    void zeroOneGathersTheUpdatedWeightsAfterTheShardsUpdate() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            AdamW opt = AdamW.withoutMoments(m.parameterArena(), AdamW.Settings.book(0.1f));
            LoggingComm comm = new LoggingComm(driver.streamLog);
            try (DataParallel dp = new DataParallel(comm, m.parameterArena(), 4096, ops.communicationStream())) {
                dp.shardOptimizer(opt, null);
                TrainingStep step = new TrainingStep(m, opt, 1.0, true, dp);
                step.run(List.of(batch()), 1e-3f, 0, 1);
                driver.streamLog.clear();
                step.run(List.of(batch()), 1e-3f, 1, 1);
                List<String> t = new ArrayList<>(driver.streamLog);
                int buckets = dp.buckets().size();
                assertEquals(buckets, t.stream().filter(s -> s.startsWith("comm reduceScatter")).count());
                int lastUpdate = t.lastIndexOf("compute kernel adamw_arena");
                int firstGather = -1;
                for (int i = 0; i < t.size() && firstGather < 0; i++) if (t.get(i).startsWith("comm allGather") && !t.get(i).endsWith(" 1")) firstGather = i;
                assertTrue(lastUpdate > 0 && firstGather > lastUpdate, "weights are gathered after the shard's update: " + t);
                assertEquals(buckets, t.subList(lastUpdate, t.size()).stream().filter(s -> s.startsWith("comm allGather")).count(),
                        "one weight all-gather per bucket, and no gradient all-gather: " + t);
                int wait = -1;
                for (int i = firstGather - 1; i > lastUpdate && wait < 0; i--) if (t.get(i).startsWith("side1 wait ")) wait = i;
                assertTrue(wait > 0 && waitsFor(t, wait, "compute"), "the gather waits for the update's event: " + t);
                assertTrue(dp.gatherMoments(opt) != null, "rank 0 receives the whole moments");
            }
        }
    }
}
