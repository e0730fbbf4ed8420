package io.jgpt.dist;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamQuery;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jgpt.JgptException;
import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.CudaOps;
import io.jgpt.cuda.blas.NativeAddress;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.DataParallel;
import io.jgpt.train.TrainingStep;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The NCCL binding on one GPU: every collective of a one-rank communicator on device buffers against the
 * hand-computed values of {@link Collectives}, a second rank on the same GPU refused with a clear message,
 * and training through a one-rank NCCL communicator (buckets reduced on the second stream) bit-identical to
 * training without one.
 */
@Tag("gpu")
class NcclGpuTest {

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final Map<Long, CUdeviceptr> allocations = new HashMap<>();
    private CUdeviceptr token;

    @BeforeEach
    void setUp() {
        CudaDevice.Probe probe = CudaDevice.probe();
        assumeTrue(probe.available(), "NCCL tests skipped: " + probe.message());
        assumeTrue(Nccl.locate() != null, "NCCL tests skipped: no " + Nccl.LIBRARY + " found");
        cuInit(0);
        cuDeviceGet(device, 0);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        token = new CUdeviceptr();
        cuMemAlloc(token, 8);
    }

    @AfterEach
    void tearDown() {
        if (token == null) return;
        allocations.values().forEach(p -> cuMemFree(p));
        cuMemFree(token);
        cuStreamDestroy(stream);
        cuDevicePrimaryCtxRelease(device);
    }

    private DeviceStream deviceStream() {
        return new DeviceStream() {
            public long handle() {
                return NativeAddress.ofHandle(stream);
            }

            public boolean idle() {
                cuCtxSetCurrent(context);
                return cuStreamQuery(stream) == CUresult.CUDA_SUCCESS;
            }

            public MemorySegment scratch() {
                return MemorySegment.ofAddress(NativeAddress.of(token));
            }
        };
    }

    /** Host segment ↔ a device copy of it. */
    private final Collectives.Staging toDevice = new Collectives.Staging() {
        public MemorySegment in(MemorySegment host) {
            CUdeviceptr p = new CUdeviceptr();
            cuMemAlloc(p, host.byteSize());
            cuMemcpyHtoD(p, Pointer.to(host.asByteBuffer()), host.byteSize());
            long address = NativeAddress.of(p);
            allocations.put(address, p);
            return MemorySegment.ofAddress(address);
        }

        public void out(MemorySegment memory, MemorySegment host) {
            cuStreamSynchronize(stream);
            cuMemcpyDtoH(Pointer.to(host.asByteBuffer()), allocations.get(memory.address()), host.byteSize());
        }
    };

    @Test
    void everyCollectiveOnOneRankMatchesTheHandComputedValues() {
        try (NcclCommunicator c = NcclCommunicator.join(NcclCommunicator.uniqueId(), 0, 1, deviceStream(),
                Duration.ofSeconds(60))) {
            assertTrue(c.describe().startsWith("nccl 2."), c.describe());
            List<String> failures = Collectives.check(c, toDevice);
            assertEquals(List.of(), failures);
        }
    }

    @Test
    void twoRanksOnOneGpuAreRefused() throws Exception {
        byte[] id = NcclCommunicator.uniqueId();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> ranks = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    cuCtxSetCurrent(context);
                    try (NcclCommunicator c = NcclCommunicator.join(id, rank, 2, deviceStream(), Duration.ofSeconds(30))) {
                        return "joined";
                    } catch (JgptException | IllegalStateException e) {
                        return e.getMessage();
                    }
                }));
            }
            for (Future<String> f : ranks) {
                String outcome = f.get(90, TimeUnit.SECONDS);
                assertTrue(outcome.contains("two ranks on one GPU"), outcome);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Eight steps with dropout and clipping, in small buckets (several per step), against the same steps without a
     * communicator: identical losses, weights and moments bit for bit. Every token of a batch is distinct, so the token
     * embedding's atomic adds (the one order-dependent sum of the GPU backward) have one addend per row.
     */
    @Test
    void oneRankNcclTrainingEqualsTrainingWithoutACommunicator() {
        GPTConfig cfg = new GPTConfig(64, 16, 32, 2, 2, 0.1f, true, true);
        float[][] plain = train(cfg, false), overNccl = train(cfg, true);
        assertEquals(plain.length, overNccl.length);
        for (int i = 0; i < plain.length; i++) {
            for (int j = 0; j < plain[i].length; j++) {
                assertEquals(Float.floatToRawIntBits(plain[i][j]), Float.floatToRawIntBits(overNccl[i][j]),
                        (i < 8 ? "loss of step " + (i + 1) : "row " + i + " [" + j + "]") + ": " + plain[i][j] + " vs " + overNccl[i][j]);
            }
        }
    }

    /**
     * ZeRO-1 on one GPU rank (shard moments on the device, the norm summed through NCCL on the host, weights
     * all-gathered on the second stream): within 1e-5 of training without a communicator (the norm is added up
     * in another order, so not bit for bit), and the moments it gathers for a checkpoint are those of the
     * unsharded run within the same bound.
     */
    @Test
    void oneRankZeroOneTrainsLikeNoCommunicator() {
        GPTConfig cfg = new GPTConfig(64, 16, 32, 2, 2, 0.1f, true, true);
        float[][] plain = train(cfg, false, false), zero = train(cfg, true, true);
        for (int i = 0; i < plain.length; i++) {
            for (int j = 0; j < plain[i].length; j++) {
                assertTrue(Math.abs(plain[i][j] - zero[i][j]) <= 1e-5 * Math.max(1, Math.abs(plain[i][j])),
                        "row " + i + " [" + j + "]: " + plain[i][j] + " vs " + zero[i][j]);
            }
        }
    }

    private static float[][] train(GPTConfig cfg, boolean nccl) {
        return train(cfg, nccl, false);
    }

    /** Each step's loss (rows 0-7), the final weight arena (row 8), then both moments (rows 9, 10). */
    private static float[][] train(GPTConfig cfg, boolean nccl, boolean zero) {
        try (CudaOps ops = new CudaOps(0, "auto", false)) {
            GPTModel model = new GPTModel(cfg, ops, 3);
            AdamW adamw = zero ? AdamW.withoutMoments(model.parameterArena(), AdamW.Settings.book(0.1f))
                    : new AdamW(model.parameterArena(), AdamW.Settings.book(0.1f));
            DataParallel dp = null;
            NcclCommunicator comm = null;
            if (nccl) {
                SideStream side = ops.communicationStream();
                comm = NcclCommunicator.join(NcclCommunicator.uniqueId(), 0, 1, side, Duration.ofSeconds(60));
                dp = new DataParallel(comm, model.parameterArena(), 16 << 10, side);
                if (zero) dp.shardOptimizer(adamw, null);
            }
            float[][] out = new float[11][];
            try (TrainingStep step = new TrainingStep(model, adamw, 0.5, false, dp)) {
                for (int s = 0; s < 8; s++) {
                    int[] in = new int[2 * 16], target = new int[in.length];
                    for (int i = 0; i < in.length; i++) {
                        in[i] = (i * 7 + s * 3) % 64; // 32 distinct tokens out of 64
                        target[i] = (in[i] + 1) % 64;
                    }
                    step.run(List.of(new Batch(in, target, 2, 16)), 1e-3f, s, 11);
                    out[s] = new float[] {step.result().loss()};
                }
            }
            out[8] = ops.download(model.parameterArena().values());
            AdamW.Moments moments = dp == null ? adamw.downloadMoments() : dp.gatherMoments(adamw);
            out[9] = moments.first();
            out[10] = moments.second();
            if (dp != null) dp.close();
            if (comm != null) comm.close();
            return out;
        }
    }
}
