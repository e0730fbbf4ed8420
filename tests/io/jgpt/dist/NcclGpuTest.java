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
import io.jgpt.cuda.blas.NativeAddress;
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
 * hand-computed values of {@link Collectives}, and a second rank on the same GPU refused with a clear message.
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
}
