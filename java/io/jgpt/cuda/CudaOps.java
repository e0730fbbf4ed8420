package io.jgpt.cuda;

import io.jgpt.cuda.blas.Blas;
import io.jgpt.cuda.blas.BlasLoader;
import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Cost;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.OpCost;
import io.jgpt.ops.OpShapes;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.ops.StepState;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUgraphExec;

/**
 * The CUDA backend: every {@link Ops} method as kernels from kernels/*.cu plus cuBLAS GEMMs, all queued on
 * one stream. Row-major tensors are handed to column-major cuBLAS as their transposes (see {@link #gemm}).
 *
 * <p>Nothing in a training step waits for the device: the step's scalars stay in a {@link StepState} tensor.
 * Index errors found on the device (token or target ids out of range; the model also checks ids on the host,
 * with their positions, before they are queued) are written to a small device record and raised as
 * {@link IllegalArgumentException} at the next point that waits for the device: {@link #synchronize},
 * {@link #read}, {@link #sumOfSquares}.
 */
public final class CudaOps implements Ops {

    private static final int NORM_BLOCKS = 256; // fixed, so sumOfSquares is deterministic
    private static final int CE_THREADS = 512;
    private static final long TOGETHER_ALIGN = 256; // zerosTogether: 16-byte vector loads and cuBLASLt operands
    private static final int MAX_DYNAMIC_SHARED = 48 * 1024; // static + dynamic, without a per-kernel opt-in
    private static final int ATTENTION_CACHED_STATIC_SHARED = 4 * 32; // attention_cached's reduce[WARP_SIZE]

    private final CudaContext ctx;
    private final Precision precision;
    private final Bf16Linear.LtOpener openLt;
    private final Kernels kernels = new Kernels(this::launch);
    private final Blas blas;
    private final EventClock clock;
    private final Scratch scratch;
    private Bf16Linear bf16Linear;
    private final HostStaging staging;
    private final CudaTensor errors; // {code, position, value}, see kernels/common.cuh
    private long[] stagedKeys = new long[0]; // the dropout key table last staged, as the host sees it
    private CUdeviceptr keyTable;
    private Profiler profiler = Profiler.OFF;

    /**
     * @param device     CUDA device index
     * @param blasChoice "auto", "jcublas" or "ffm" (see {@link BlasLoader})
     * @param tf32       TF32 tensor-core GEMMs (about 1e-3 relative error) instead of strict fp32
     */
    public CudaOps(int device, String blasChoice, boolean tf32) {
        this(device, blasChoice, tf32 ? Precision.TF32 : Precision.FP32);
    }

    /**
     * @param precision FP32; TF32 (fp32 storage, TF32 tensor-core GEMMs); or BF16: models on this backend store
     *                  activations in bf16 and read bf16 copies of their weights ({@link #activationType()})
     */
    public CudaOps(int device, String blasChoice, Precision precision) {
        this(new CudaContext(device), () -> BlasLoader.open(blasChoice), precision);
    }

    /** With a given cuBLAS binding, opened once the device context is current (tests inject one). */
    CudaOps(int device, Supplier<Blas> openBlas, boolean tf32) {
        this(new CudaContext(device), openBlas, tf32 ? Precision.TF32 : Precision.FP32);
    }

    /** On a given context (tests make one on a recording fake of the driver). */
    CudaOps(CudaContext context, Supplier<Blas> openBlas, boolean tf32) {
        this(context, openBlas, tf32 ? Precision.TF32 : Precision.FP32);
    }

    CudaOps(CudaContext context, Supplier<Blas> openBlas, Precision precision) {
        this(context, openBlas, precision, Bf16Linear::cublasLt);
    }

    /** With a given cuBLASLt as well (a stand-in on the recording fake driver). */
    CudaOps(CudaContext context, Supplier<Blas> openBlas, Precision precision, Bf16Linear.LtOpener openLt) {
        ctx = context;
        this.precision = precision;
        this.openLt = openLt;
        try {
            blas = openBlas.get();
            blas.setStream(ctx.stream());
            blas.setTf32(precision == Precision.TF32);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
        clock = new EventClock(ctx);
        scratch = new Scratch(ctx);
        staging = new HostStaging(ctx);
        errors = (CudaTensor) zeros(DType.I32, 3);
    }

    /** Whether this machine can run the backend, and if not why; never throws. */
    public static CudaDevice.Probe available() {
        return CudaDevice.probe();
    }

    @Override
    public String name() {
        return "cuda:" + ctx.index;
    }

    @Override
    public DType activationType() {
        return precision == Precision.BF16 ? DType.BF16 : DType.F32;
    }

    /** e.g. "cuda:0 NVIDIA H200 (sm_90, 139.8 GiB), driver 13.0, 120.3 GiB free, cuBLAS jcublas2". */
    public String describe() {
        long[] mem = ctx.memoryInfo();
        return String.format("%s %s, driver %s, %.1f GiB free, cuBLAS %s", name(), CudaDevice.describe(ctx.index),
                CudaDevice.driverVersion(), mem[0] / (double) (1L << 30), blas.name());
    }

    // ---- memory -------------------------------------------------------------------------------------

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        CudaTensor t = new CudaTensor(ctx, dtype, shape);
        zero(t);
        return t;
    }

    /** One device allocation for all of them, each tensor at a 256-byte aligned offset, zeroed by one memset. */
    @Override
    public Allocation zerosTogether(List<TensorSpec> specs) {
        long[] offsets = new long[specs.size()];
        long bytes = 0;
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = bytes;
            TensorSpec s = specs.get(i);
            long n = 1;
            for (int d : s.shape()) n *= d;
            bytes = (bytes + n * s.dtype().bytes() + TOGETHER_ALIGN - 1) / TOGETHER_ALIGN * TOGETHER_ALIGN;
        }
        bytes = Math.max(bytes, TOGETHER_ALIGN);
        CUdeviceptr memory = ctx.alloc(bytes);
        ctx.driver().zeroAsync(memory, bytes / 4, 4, ctx.stream()); // a multiple of 256 bytes
        List<Tensor> tensors = new ArrayList<>(specs.size());
        for (int i = 0; i < offsets.length; i++)
            tensors.add(CudaTensor.placed(ctx, specs.get(i).dtype(), specs.get(i).shape(), memory, offsets[i]));
        return new Allocation() {
            private boolean closed;

            @Override
            public List<Tensor> tensors() {
                return List.copyOf(tensors);
            }

            @Override
            public void close() {
                if (!closed) ctx.free(memory);
                closed = true;
            }
        };
    }

    @Override
    public Tensor upload(DType dtype, float[] data, int... shape) {
        CudaTensor t = new CudaTensor(ctx, floating("upload", dtype), shape);
        write(t, data);
        return t;
    }

    @Override
    public Tensor upload(int[] data, int... shape) {
        CudaTensor t = new CudaTensor(ctx, DType.I32, shape);
        write(t, data);
        return t;
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        return cu(base, null, "view").view(offset, shape);
    }

    @Override
    public void read(Tensor src, float[] dst) {
        CudaTensor c = hostFloats("read", src, dst.length);
        syncAndCheck();
        if (c.dtype() == DType.F32) {
            ctx.copyToHost(Pointer.to(dst), c.ptr(), c.bytes());
            return;
        }
        short[] bits = new short[dst.length];
        ctx.copyToHost(Pointer.to(bits), c.ptr(), c.bytes());
        for (int i = 0; i < bits.length; i++) dst[i] = Bf16.toFloat(bits[i]);
    }

    @Override
    public void read(Tensor src, int[] dst) {
        CudaTensor c = cu(src, DType.I32, "read");
        if (dst.length != c.numel()) throw sizeMismatch("read", c, dst.length);
        syncAndCheck();
        ctx.copyToHost(Pointer.to(dst), c.ptr(), c.bytes());
    }

    // Small writes (token batches, targets, the learning rate) are staged through page-locked memory on the copy
    // stream and land in stream order without waiting (HostStaging); large ones (weights) wait for the stream
    // and copy directly.
    @Override
    public void write(Tensor dst, int[] src) {
        CudaTensor c = cu(dst, DType.I32, "write");
        if (src.length != c.numel()) throw sizeMismatch("write", c, src.length);
        notCapturing("write");
        if (HostStaging.fits(c.bytes())) staging.copy(c.ptr(), src);
        else ctx.copyToDevice(c.ptr(), Pointer.to(src), c.bytes());
    }

    @Override
    public void write(Tensor dst, float[] src) {
        CudaTensor c = hostFloats("write", dst, src.length);
        notCapturing("write");
        if (c.dtype() == DType.F32) {
            if (HostStaging.fits(c.bytes())) staging.copy(c.ptr(), src);
            else ctx.copyToDevice(c.ptr(), Pointer.to(src), c.bytes());
            return;
        }
        short[] bits = new short[src.length];
        for (int i = 0; i < bits.length; i++) bits[i] = Bf16.fromFloat(src[i]); // as __float2bfloat16_rn
        ctx.copyToDevice(c.ptr(), Pointer.to(bits), c.bytes());
    }

    /** A graph replays what was captured, so host data copied during a capture would be stale at replay. */
    private void notCapturing(String op) {
        if (ctx.capturing())
            throw new IllegalStateException(op + " during a graph capture: copy a step's inputs to the device before capturing");
    }

    /** A floating tensor whose elements travel as host floats (BF16 narrowed or widened on the host). */
    private CudaTensor hostFloats(String op, Tensor t, int hostLength) {
        CudaTensor c = cu(t, null, op);
        OpShapes.storage(op, c);
        if (hostLength != c.numel()) throw sizeMismatch(op, c, hostLength);
        return c;
    }

    private static DType floating(String op, DType dtype) {
        if (!dtype.floating())
            throw new IllegalArgumentException(op + ": an " + dtype + " tensor is made from an int[], not floats");
        return dtype;
    }

    @Override
    public void zero(Tensor t) {
        CudaTensor c = cu(t, null, "zero");
        // One store per element, as wide as the element (all-zero bits are 0 in every dtype).
        ctx.driver().zeroAsync(c.ptr(), c.numel(), c.dtype().bytes(), ctx.stream());
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        CudaTensor d = cu(dst, null, "copy");
        if (d.dtype() == DType.BF16 && src.dtype() == DType.F32) {
            // Narrowing (the bf16 copy of fp32 weights), rounded to nearest even on the device.
            CudaTensor s = cu(src, DType.F32, "copy");
            if (d.numel() != s.numel()) throw sizeMismatch("copy", d, s.numel());
            long n = d.numel();
            kernels.bf16Narrow(Launch.elementwise(n, OpCost.convert(n, DType.F32, DType.BF16)), d.ptr(), s.ptr(), n);
            return;
        }
        CudaTensor s = cu(src, dst.dtype(), "copy");
        if (d.numel() != s.numel()) throw sizeMismatch("copy", d, s.numel());
        if (d == s) return;
        ctx.driver().copyDeviceAsync(d.ptr(), s.ptr(), d.bytes(), ctx.stream());
    }

    // ---- ops ----------------------------------------------------------------------------------------
    // Shapes are checked by OpShapes and costs declared by OpCost, as on the CPU. Kernels templated on the
    // storage type run in the dtype of their activations (F32 or BF16, see OpShapes.storage); bf16 linear
    // layers go through cuBLASLt (Bf16Linear).

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe) {
        var op = "embeddingForward";
        var d = OpShapes.embedding(op, out, "out", tokens, wte, "wte", wpe, "wpe");
        DType s = OpShapes.storage(op, out, wte, wpe);
        int bt = d.b() * d.t();
        kernels.embeddingForward(s, Launch.elementwise(d.n(), OpCost.embeddingForward(bt, d.c(), s)), ptr(out),
                ptr(tokens), ptr(wte), ptr(wpe), bt, d.t(), d.c(), d.v(), ptr(errors));
    }

    @Override
    public void embeddingBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
        var op = "embeddingBackward";
        var d = OpShapes.embedding(op, dout, "dout", tokens, dwte, "dwte", dwpe, "dwpe");
        OpShapes.expectDType(op, "dwte", dwte, DType.F32);
        OpShapes.expectDType(op, "dwpe", dwpe, DType.F32);
        DType s = OpShapes.storage(op, dout);
        int bt = d.b() * d.t();
        kernels.embeddingBackwardWte(s, Launch.elementwise(d.n(), OpCost.embeddingBackwardTokens(bt, d.c(), s)),
                ptr(dwte), ptr(dout), ptr(tokens), bt, d.c(), d.v());
        kernels.embeddingBackwardWpe(s, Launch.elementwise((long) d.t() * d.c(),
                OpCost.embeddingBackwardPositions(bt, d.t(), d.c(), s)), ptr(dwpe), ptr(dout), d.b(), d.t(), d.c());
    }

    @Override
    public void layerNormForward(Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor weight, Tensor bias) {
        var op = "layerNormForward";
        var d = OpShapes.layerNormForward(op, out, mean, rstd, in, weight, bias);
        DType s = OpShapes.storage(op, out, in, weight, bias);
        kernels.layernormForward(s, Launch.warpPerRow(d.n(), OpCost.layerNormForward(d.n(), d.c(), s)), ptr(out),
                ptr(mean), ptr(rstd), ptr(in), ptr(weight), ptr(bias), d.n(), d.c());
    }

    /**
     * Rows per partial sum of the layer norm's parameter gradients: 128 groups of (C/32) blocks at batch 64 x 1024,
     * each thread adding 16 rows; the partials ((N/512) x 2C floats) are ~0.8 MB for GPT-2 small there.
     */
    private static final int LN_GROUP_ROWS = 512;

    @Override
    public void layerNormBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in,
                                  Tensor weight, Tensor mean, Tensor rstd) {
        var op = "layerNormBackward";
        var d = OpShapes.layerNormBackward(op, din, dweight, dbias, dout, in, weight, mean, rstd);
        DType s = OpShapes.storage(op, din, dout, in, weight);
        OpShapes.expectDType(op, "dweight", dweight, DType.F32);
        OpShapes.expectDType(op, "dbias", dbias, DType.F32);
        int n = d.n(), c = d.c();
        kernels.layernormBackwardInput(s, Launch.warpPerRow(n, OpCost.layerNormBackwardInput(n, c, s)), ptr(din),
                ptr(dout), ptr(in), ptr(weight), ptr(mean), ptr(rstd), n, c);
        // Parameter sums: partials per group of LN_GROUP_ROWS rows on (tiles x groups) blocks, then groups in order.
        int groups = (n + LN_GROUP_ROWS - 1) / LN_GROUP_ROWS, tiles = (c + 31) / 32;
        CUdeviceptr partials = scratch.get("layernorm.partials", 8L * groups * c);
        kernels.layernormBackwardParams(s, new Launch(tiles * groups, 32, 32, 0,
                OpCost.layerNormParamPartials(n, c, groups, s)), partials, ptr(dout), ptr(in), ptr(mean), ptr(rstd),
                n, c, LN_GROUP_ROWS);
        kernels.layernormParamsReduce(Launch.elementwise(c, OpCost.layerNormParamReduce(c, groups)), ptr(dweight),
                ptr(dbias), partials, groups, c);
    }

    @Override
    public void residualLayerNormForward(Tensor sum, Tensor out, Tensor mean, Tensor rstd, Tensor x, Tensor branch,
                                         Tensor weight, Tensor bias) {
        var op = "residualLayerNormForward";
        var d = OpShapes.residualLayerNormForward(op, sum, out, mean, rstd, x, branch, weight, bias);
        DType s = OpShapes.storage(op, sum, out, x, branch, weight, bias);
        kernels.residualLayernormForward(s, Launch.warpPerRow(d.n(), OpCost.residualLayerNormForward(d.n(), d.c(), s)),
                ptr(sum), ptr(out), ptr(mean), ptr(rstd), ptr(x), ptr(branch), ptr(weight), ptr(bias), d.n(), d.c());
    }

    @Override
    public void linearForward(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        var op = "linearForward";
        var d = OpShapes.linearForward(op, out, in, weight, bias);
        int N = d.n(), IC = d.ic(), OC = d.oc();
        if (in.dtype() == DType.BF16) {
            if (bias == null) OpShapes.storage(op, in, out, weight);
            else OpShapes.storage(op, in, out, weight, bias);
            bf16Linear().forward(ptr(out), ptr(in), ptr(weight), ptr(bias), N, IC, OC);
            return;
        }
        f32(op, out, in, weight);
        // out = in @ weight^T
        gemm("linear_forward", false, true, N, OC, IC, in, IC, weight, IC, 0f, out, OC);
        if (bias != null) {
            f32(op, bias);
            Launch launch = Launch.vectorized((long) N * OC, DType.F32, OpCost.biasAdd(N, OC, DType.F32));
            kernels.biasAdd(DType.F32, launch, ptr(out), ptr(bias), N, OC);
        }
    }

    @Override
    public void linearBackward(Tensor din, Tensor dweight, Tensor dbias, Tensor dout, Tensor in, Tensor weight) {
        var op = "linearBackward";
        var d = OpShapes.linearBackward(op, din, dweight, dbias, dout, in, weight);
        int N = d.n(), IC = d.ic(), OC = d.oc();
        if (in.dtype() == DType.BF16) {
            // bf16 activations, activation gradients and weights; fp32 parameter gradients.
            OpShapes.storage(op, in, dout, weight);
            if (din != null) OpShapes.storage(op, in, din);
            f32(op, dweight);
            if (dbias != null) f32(op, dbias);
            bf16Linear().backward(ptr(din), ptr(dweight), ptr(dbias), ptr(dout), ptr(in), ptr(weight), N, IC, OC);
            return;
        }
        f32(op, dweight, dout, in, weight);
        if (din != null) {
            f32(op, din);
            // din += dout @ weight
            gemm("linear_backward_input", false, false, N, IC, OC, dout, OC, weight, IC, 1f, din, IC);
        }
        // dweight += dout^T @ in
        gemm("linear_backward_weight", true, false, OC, IC, N, dout, OC, in, IC, 1f, dweight, IC);
        if (dbias != null) {
            f32(op, dbias);
            kernels.columnSumAccumulate(DType.F32, Launch.columnTiles(OC, OpCost.columnSum(N, OC, DType.F32)),
                    ptr(dbias), ptr(dout), N, OC);
        }
    }

    @Override
    public void linearGeluForward(Tensor out, Tensor preact, Tensor in, Tensor weight, Tensor bias) {
        var op = "linearGeluForward";
        var d = OpShapes.linearGeluForward(op, out, preact, in, weight, bias);
        DType s = OpShapes.storage(op, in, out, preact, weight, bias);
        if (s == DType.BF16) {
            bf16Linear().forwardGelu(ptr(out), ptr(preact), ptr(in), ptr(weight), ptr(bias), d.n(), d.ic(), d.oc());
            return;
        }
        linearForward(preact, in, weight, bias);
        long n = (long) d.n() * d.oc();
        kernels.geluForward(s, Launch.vectorized(n, s, OpCost.geluForward(n, s)), ptr(out), ptr(preact), n);
    }

    @Override
    public void linearBackwardThroughGelu(Tensor dpreact, Tensor dbias, Tensor dout, Tensor weight, Tensor preact) {
        var op = "linearBackwardThroughGelu";
        var d = OpShapes.linearBackwardThroughGelu(op, dpreact, dbias, dout, weight, preact);
        DType s = OpShapes.storage(op, dpreact, dout, weight, preact);
        int N = d.n(), IC = d.ic(), OC = d.oc();
        if (s == DType.BF16) {
            bf16Linear().backwardThroughGelu(ptr(dpreact), ptr(dbias), ptr(dout), ptr(weight), ptr(preact), N, IC, OC);
            return;
        }
        // dpreact = dout @ weight, then times gelu'(preact) in place, then the bias sums.
        gemm("linear_backward_input", false, false, N, IC, OC, dout, OC, weight, IC, 0f, dpreact, IC);
        long n = (long) N * IC;
        kernels.geluGradScale(s, Launch.vectorized(n, s, OpCost.geluGradScale(n, s)), ptr(dpreact), ptr(preact), n);
        if (dbias != null) {
            kernels.columnSumAccumulate(s, Launch.columnTiles(IC, OpCost.columnSum(N, IC, s)), ptr(dbias),
                    ptr(dpreact), N, IC);
        }
    }

    // Fused flash attention (kernels/flash_attention_*.cu): q, k, v read straight from qkv, out written as
    // (B,T,C), nothing of size T*T in memory; see FlashGeometry for the launch shapes.
    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor qkv, int nHead, Dropout dropout) {
        var op = "attentionForward";
        var h = OpShapes.attention(op, qkv, lse, nHead, dropout);
        OpShapes.expect(op, "out", out, h.b(), h.t(), h.c());
        DType s = OpShapes.storage(op, qkv, out);
        Cost cost = OpCost.attentionForward(h, s);
        // bf16 storage runs on tensor cores (one geometry, hs <= 64); fp32 on CUDA cores.
        Launch launch = s == DType.BF16 ? FlashGeometry.bf16(op, h.b(), h.t(), h.nh(), h.hs(), cost)
                : FlashGeometry.of(op, h.b(), h.t(), h.nh(), h.hs()).forwardLaunch(cost);
        kernels.flashAttentionForward(s, launch, ptr(out), ptr(lse), ptr(qkv), h.b(), h.t(), h.nh(), h.hs(), scale(h),
                dropoutKey(op, dropout), dropout.threshold(), dropout.scale());
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor dout, Tensor qkv, Tensor out, Tensor lse, int nHead,
                                  Dropout dropout) {
        var op = "attentionBackward";
        var h = OpShapes.attention(op, qkv, lse, nHead, dropout);
        OpShapes.expect(op, "dqkv", dqkv, qkv.shape());
        OpShapes.expect(op, "dout", dout, h.b(), h.t(), h.c());
        OpShapes.expect(op, "out", out, h.b(), h.t(), h.c());
        DType s = OpShapes.storage(op, qkv, dqkv, dout, out);
        // delta = rowsum(dout * out), then dk/dv (keys in registers) and dq (queries in registers): bf16 storage on
        // tensor cores, fp32 on CUDA cores, with the forward's geometry.
        Launch keys, queries;
        if (s == DType.BF16) {
            keys = FlashGeometry.bf16(op, h.b(), h.t(), h.nh(), h.hs(), OpCost.attentionBackwardKeysValues(h, s));
            queries = FlashGeometry.bf16(op, h.b(), h.t(), h.nh(), h.hs(), OpCost.attentionBackwardQueries(h, s));
        } else {
            FlashGeometry f = FlashGeometry.of(op, h.b(), h.t(), h.nh(), h.hs());
            keys = f.dkdvLaunch(OpCost.attentionBackwardKeysValues(h, s));
            queries = f.forwardLaunch(OpCost.attentionBackwardQueries(h, s));
        }
        CUdeviceptr delta = scratch.get("attn.delta", 4 * h.rows());
        CUdeviceptr key = dropoutKey(op, dropout);
        kernels.flashAttentionBackwardDelta(s, Launch.warpPerRow(Math.toIntExact(h.rows()),
                OpCost.attentionBackwardDelta(h, s)), delta, ptr(dout), ptr(out), h.b(), h.t(), h.nh(), h.hs());
        kernels.flashAttentionBackwardDkdv(s, keys, ptr(dqkv), ptr(dout), ptr(qkv), ptr(lse), delta, h.b(), h.t(),
                h.nh(), h.hs(), scale(h), key, dropout.threshold(), dropout.scale());
        kernels.flashAttentionBackwardDq(s, queries, ptr(dqkv), ptr(dout), ptr(qkv), ptr(lse), delta, h.b(), h.t(),
                h.nh(), h.hs(), scale(h), key, dropout.threshold(), dropout.scale());
    }

    /** Scores are scaled by 1/sqrt(head size). */
    private static float scale(OpShapes.AttentionDims h) {
        return (float) (1.0 / Math.sqrt(h.hs()));
    }

    @Override
    public void attentionCached(Tensor out, Tensor qkv, Tensor kCache, Tensor vCache, Tensor mask, Tensor positions,
                                int nHead) {
        var op = "attentionCached";
        var d = OpShapes.attentionCached(op, out, qkv, kCache, vCache, mask, positions, nHead);
        f32(op, out, qkv, kCache, vCache);
        checkMask(op, mask);
        int B = d.b(), Tn = d.tn(), hs = d.hs();
        // Room for the scores of the furthest position any query may have, whatever the positions are now:
        // they live on the device, and a recorded graph replays this launch for every position.
        long shared = 4L * (hs + d.maxKeys());
        // The kernel's static reduce[32] floats count against the same 48 KiB as the dynamic part.
        if (shared + ATTENTION_CACHED_STATIC_SHARED > MAX_DYNAMIC_SHARED)
            throw new IllegalArgumentException(op + ": " + d.maxKeys() + " positions of head size " + hs + " need "
                    + (shared + ATTENTION_CACHED_STATIC_SHARED) + " bytes of shared memory per block, more than "
                    + MAX_DYNAMIC_SHARED);
        long n = (long) B * Tn * d.c();
        kernels.kvCacheWrite(Launch.elementwise(n, OpCost.kvCacheWrite(n, DType.F32)), ptr(kCache), ptr(vCache),
                ptr(qkv), ptr(positions), B, Tn, nHead, hs, d.cacheT(), d.maxKeys());
        Launch launch = Launch.blocks(B * nHead * Tn, Launch.THREADS, OpCost.cachedAttention(d, d.liveBound(), DType.F32));
        kernels.attentionCached(launch.withShared((int) shared), ptr(out), ptr(qkv), ptr(kCache), ptr(vCache),
                ptr(mask), mask.dtype() == DType.I32 ? 1 : 0, d.maskT(), ptr(positions), B, Tn, nHead, hs, d.cacheT(),
                (float) (1.0 / Math.sqrt(hs)));
    }

    @Override
    public void argmaxRows(Tensor out, Tensor logits) {
        var d = OpShapes.argmaxRows("argmaxRows", out, logits);
        kernels.argmaxRows(Launch.blocks(d.n(), Launch.THREADS, OpCost.argmaxRows(d.n(), d.c())), ptr(out),
                ptr(logits), d.n(), d.c());
    }

    /** The cached-attention kernel reads the causal mask as floats or as ints. */
    private static void checkMask(String op, Tensor mask) {
        if (mask.dtype() == DType.BF16)
            throw new IllegalArgumentException(op + ": mask " + mask + " must be F32 or I32");
    }

    @Override
    public void geluForward(Tensor out, Tensor in) {
        var op = "geluForward";
        long n = OpShapes.geluForward(op, out, in);
        DType s = OpShapes.storage(op, out, in);
        kernels.geluForward(s, Launch.vectorized(n, s, OpCost.geluForward(n, s)), ptr(out), ptr(in), n);
    }

    @Override
    public void geluBackward(Tensor din, Tensor dout, Tensor in) {
        var op = "geluBackward";
        long n = OpShapes.geluBackward(op, din, dout, in);
        DType s = OpShapes.storage(op, din, dout, in);
        kernels.geluBackward(s, Launch.vectorized(n, s, OpCost.geluBackward(n, s)), ptr(din), ptr(dout), ptr(in), n);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        var op = "add";
        long n = OpShapes.add(op, out, a, b);
        DType s = OpShapes.storage(op, out, a, b);
        kernels.residualAdd(s, Launch.vectorized(n, s, OpCost.add(n, s)), ptr(out), ptr(a), ptr(b), n);
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, Dropout dropout) {
        var op = "dropoutForward";
        long n = OpShapes.dropoutForward(op, out, in, dropout);
        DType s = OpShapes.storage(op, out, in);
        if (!dropout.active()) {
            copy(out, in);
            return;
        }
        kernels.dropoutForward(s, Launch.vectorized(n, s, OpCost.dropoutForward(n, s)), ptr(out), ptr(in), n,
                dropoutKey(op, dropout), dropout.threshold(), dropout.scale());
    }

    @Override
    public void dropoutBackward(Tensor din, Tensor dout, Dropout dropout) {
        var op = "dropoutBackward";
        long n = OpShapes.dropoutBackward(op, din, dout, dropout);
        DType s = OpShapes.storage(op, din, dout);
        kernels.dropoutBackward(s, Launch.vectorized(n, s, OpCost.dropoutBackward(n, s)), ptr(din), ptr(dout), n,
                dropoutKey(op, dropout), dropout.threshold(), dropout.scale());
    }

    // The kernels read each dropout site's key from device memory: a site of a staged table from its slot, so
    // that a recorded graph reads whatever table the step staged before the replay; a loose site from one slot
    // of its own, copied as the op is queued (stream order keeps each kernel's key until it has run).
    @Override
    public void stageDropoutKeys(long[] keys) {
        notCapturing("stageDropoutKeys");
        stagedKeys = keys.clone();
        if (keys.length == 0) return;
        keyTable = scratch.get("dropout.keys", 8L * keys.length);
        staging.copy(keyTable, keys);
    }

    /** The device address of a site's key; null for an inactive site (its kernels never read it). */
    private CUdeviceptr dropoutKey(String op, Dropout d) {
        if (!d.active()) return null;
        if (d.slot() == Dropout.LOOSE) {
            notCapturing(op + " with a dropout key outside the staged table");
            CUdeviceptr loose = scratch.get("dropout.loose", 8);
            staging.copy(loose, new long[] {d.key()});
            return loose;
        }
        if (d.slot() >= stagedKeys.length || stagedKeys[d.slot()] != d.key())
            throw new IllegalStateException(op + ": the key of dropout slot " + d.slot() + " was not staged (" + stagedKeys.length
                    + " keys staged): stage the forward pass's DropoutPlan.keys() first");
        return keyTable.withByteOffset(8L * d.slot());
    }

    @Override
    public void crossEntropy(Tensor losses, Tensor dlogits, Tensor logits, Tensor targets, float dlossScale) {
        var op = "crossEntropy";
        var d = OpShapes.crossEntropy(op, losses, dlogits, logits, targets);
        f32(op, losses);
        // Logits (and their gradient, often the same tensor) in the activation dtype; the losses are fp32.
        DType s = dlogits == null ? OpShapes.storage(op, logits) : OpShapes.storage(op, logits, dlogits);
        Cost cost = OpCost.crossEntropy(d.n(), d.c(), dlogits != null, s);
        kernels.crossEntropyForwardBackward(s, Launch.blocks(d.n(), CE_THREADS, cost), ptr(losses), ptr(dlogits),
                ptr(logits), ptr(targets), d.n(), d.c(), dlossScale, ptr(errors));
    }

    @Override
    public void accumulateLoss(Tensor state, Tensor losses, float scale) {
        int n = Math.toIntExact(OpShapes.accumulateLoss("accumulateLoss", state, losses));
        kernels.lossAccumulate(Launch.blocks(1, 1024, OpCost.accumulateLoss(n)), ptr(state), ptr(losses), n, scale);
    }

    @Override
    public void stepDecision(Tensor state, Tensor grads, Tensor chunks, float maxNorm) {
        int k = OpShapes.stepDecision("stepDecision", state, grads, chunks);
        CUdeviceptr partials = scratch.get("step.partials", 8L * k);
        long n = grads.numel();
        kernels.chunkSumSquares(Launch.blocks(k, Launch.THREADS, OpCost.sumOfSquares(n, DType.F32)), partials,
                ptr(grads), ptr(chunks));
        kernels.stepDecision(Launch.blocks(1, 1024, OpCost.sumPartials(k)), ptr(state), partials, k, maxNorm);
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig c,
                      boolean zeroGrad) {
        adamw(params, grads, m, v, chunks, state, c, zeroGrad, null);
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, Tensor chunks, Tensor state, AdamWConfig c,
                      boolean zeroGrad, Tensor bf16Copy) {
        var op = "adamw";
        long n = OpShapes.adamw(op, params, grads, m, v, chunks, state);
        if (bf16Copy != null) {
            OpShapes.expectDType(op, "bf16Copy", bf16Copy, DType.BF16);
            OpShapes.expect(op, "bf16Copy", bf16Copy, params.shape());
        }
        int k = chunks.shape()[0];
        kernels.adamwArena(Launch.blocks(k, Launch.THREADS, OpCost.adamw(n, zeroGrad, bf16Copy != null)), ptr(params),
                ptr(bf16Copy), ptr(grads), ptr(m), ptr(v), ptr(chunks), ptr(state), c.beta1(), c.beta2(), c.eps(),
                c.weightDecay(), zeroGrad ? 1 : 0);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        DType s = OpShapes.storage("sumOfSquares", t);
        long n = t.numel();
        int grid = Math.min(NORM_BLOCKS, Launch.elementwiseBlocks(n));
        // One partial per block, then a single fixed-order reduction: deterministic.
        CUdeviceptr partials = scratch.get("norm.partials", 8L * (grid + 1));
        kernels.sumSquaresPartial(s, Launch.blocks(grid, Launch.THREADS, OpCost.sumOfSquares(n, s)), partials, ptr(t),
                n);
        CUdeviceptr result = offset8(partials, grid);
        kernels.sumPartials(Launch.blocks(1, 1024, OpCost.sumPartials(grid)), result, partials, grid);
        double[] out = new double[1];
        syncAndCheck();
        ctx.copyToHost(Pointer.to(out), result, 8);
        return out[0];
    }

    @Override
    public void synchronize() {
        syncAndCheck();
    }

    @Override
    public Graph capture(Runnable work) {
        CUgraphExec exec = ctx.capture(work);
        return new Graph() {
            private boolean closed;

            @Override
            public void replay() {
                if (closed) throw new IllegalStateException("graph was closed");
                ctx.replay(exec);
            }

            @Override
            public void close() {
                if (!closed) ctx.destroy(exec);
                closed = true;
            }
        };
    }

    /** A second stream, ordered against this backend's by events, for collectives beside computation (NCCL). */
    public io.jgpt.dist.SideStream communicationStream() {
        return new CommunicationStream(ctx);
    }

    // ---- profiling ----------------------------------------------------------------------------------

    @Override
    public Profiler.Clock clock() {
        return clock;
    }

    @Override
    public void setProfiler(Profiler profiler) {
        this.profiler = profiler == null ? Profiler.OFF : profiler;
    }

    @Override
    public void close() {
        ctx.synchronize();
        errors.close();
        staging.close();
        if (bf16Linear != null) bf16Linear.close();
        scratch.close();
        clock.close();
        blas.close();
        ctx.close();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** {@link Kernels}' door to the driver: each launch inside a profiler span declaring its cost. */
    private void launch(String kernel, Launch launch, KernelArgs args) {
        if (launch.gridX() == 0) return; // nothing to do for empty tensors
        long t0 = profiler.begin();
        ctx.launch(kernel, launch, args);
        profiler.end(t0, kernel, launch.cost().bytes(), launch.cost().flops());
    }

    /**
     * Row-major C(M,N) = op(A) op(B) + beta C, with lda/ldb/ldc the row lengths as stored. cuBLAS is
     * column-major, where a row-major matrix reads as its transpose, so this asks cuBLAS for
     * C^T = op(B)^T op(A)^T by swapping the operands (and M with N).
     */
    /** The bf16 linear layer (cuBLASLt and its workspace), opened on first use. */
    private Bf16Linear bf16Linear() {
        if (bf16Linear == null) bf16Linear = new Bf16Linear(ctx, blas, kernels, scratch, this::timedGemm, openLt);
        return bf16Linear;
    }

    private boolean timedGemm(String name, Cost cost, java.util.function.BooleanSupplier gemm) {
        long t0 = profiler.begin();
        ctx.ensureCurrent();
        boolean ran = gemm.getAsBoolean();
        profiler.end(t0, name, cost.bytes(), cost.flops());
        return ran;
    }

    private void gemm(String name, boolean transA, boolean transB, int M, int N, int K, Tensor a, int lda,
                      Tensor b, int ldb, float beta, Tensor c, int ldc) {
        long t0 = profiler.begin();
        ctx.ensureCurrent();
        rowMajorSgemm(blas, transA, transB, M, N, K, ptr(a), lda, ptr(b), ldb, beta, ptr(c), ldc);
        Cost cost = OpCost.gemm(M, N, K, beta != 0, DType.F32);
        profiler.end(t0, name, cost.bytes(), cost.flops());
    }

    /**
     * Row-major C(M,N) = op(A) op(B) + beta C (alpha 1) on column-major cuBLAS: a row-major matrix with row
     * length ld is, to cuBLAS, its transpose with leading dimension ld, so this computes
     * C^T(N,M) = op(B)^T op(A)^T by swapping the operands, their transpose flags, and M with N.
     */
    static void rowMajorSgemm(Blas blas, boolean transA, boolean transB, int M, int N, int K, Pointer a, int lda,
                              Pointer b, int ldb, float beta, Pointer c, int ldc) {
        blas.sgemm(transB, transA, N, M, K, 1f, b, ldb, a, lda, beta, c, ldc);
    }

    /** Waits for the stream and raises any index error a kernel recorded. */
    private void syncAndCheck() {
        ctx.synchronize();
        int[] e = new int[3];
        ctx.copyToHost(Pointer.to(e), errors.ptr(), 12);
        if (e[0] == 0) return;
        zero(errors);
        String what = e[0] == 1 ? "token id " : "target id ";
        throw new IllegalArgumentException(what + e[2] + " at position " + e[1] + " is out of range");
    }

    /** The device address of a CUDA tensor; null for null (optional outputs). */
    private static CUdeviceptr ptr(Tensor t) {
        if (t == null) return null;
        if (!(t instanceof CudaTensor c))
            throw new IllegalArgumentException("tensor " + t + " does not belong to the CUDA backend");
        return c.ptr();
    }

    private static CUdeviceptr offset8(CUdeviceptr p, long doubles) {
        return doubles == 0 ? p : p.withByteOffset(8 * doubles);
    }

    private CudaTensor cu(Tensor t, DType dtype, String op) {
        if (!(t instanceof CudaTensor c))
            throw new IllegalArgumentException(op + ": tensor " + t + " does not belong to the CUDA backend");
        if (dtype != null) OpShapes.expectDType(op, "tensor", c, dtype);
        return c;
    }

    /** The tensors of an op this backend implements in F32 only. */
    private static void f32(String op, Tensor... tensors) {
        for (Tensor t : tensors) OpShapes.expectDType(op, "tensor", t, DType.F32);
    }

    private static IllegalArgumentException sizeMismatch(String what, Tensor t, long expected) {
        return new IllegalArgumentException(what + ": expected " + expected + " elements, got " + t);
    }
}
