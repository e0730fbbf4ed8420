// A standalone host program around the flash-attention kernels, built by package-gpu-check.sh (nvcc links
// the CUDA runtime statically, so the GPU machine needs only its driver) and run by gpu-check.sh:
//
//   flash-attention-check check   small shapes (ragged T, every thread group, dropout on and off) against a
//                                 double-precision host reference: fp32 forward and backward, and the bf16
//                                 tensor-core forward and backward on bf16-rounded inputs; exit 1 past the bounds.
//                                 Short enough to run under compute-sanitizer --tool memcheck / racecheck.
//   flash-attention-check time    fp32 and bf16 forward and backward at B=64, NH=12, T=1024, hs=64 (GPT-2 small
//                                 at full context), one JSON line each with ms and causal TFLOP/s (the bf16
//                                 backward also per kernel).
//
// It launches exactly the kernels and geometry CudaOps does (grid, 128-thread blocks, dynamic shared memory
// from flash_attention.cuh), so what the sanitizer sees is what training runs.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "common.cuh"
#include "flash_attention_backward.cu"
#include "flash_attention_forward.cu"

#define CHECK(call)                                                                                      \
    do {                                                                                                 \
        cudaError_t e_ = (call);                                                                         \
        if (e_ != cudaSuccess) {                                                                         \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));   \
            std::exit(2);                                                                                \
        }                                                                                                \
    } while (0)

struct Shape {
    int B, T, NH, hs;
    float p;  // dropout
    size_t qkv() const { return (size_t)B * T * 3 * NH * hs; }
    size_t btc() const { return (size_t)B * T * NH * hs; }
    size_t rows() const { return (size_t)B * NH * T; }
};

// Dropout as io.jgpt.ops.Dropout.of(p, seed, stream) derives it.
struct Drop {
    unsigned long long key = 0;
    int threshold = 0;
    float scale = 1.0f;
};

static uint64_t host_mix64(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdull; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ull; k ^= k >> 33;
    return k;
}

static Drop dropout_of(float p, uint64_t seed, uint64_t stream) {
    Drop d;
    if (p == 0.0f) return d;
    d.key = host_mix64(seed ^ host_mix64(stream + 0x9E3779B97F4A7C15ull));
    d.threshold = (int)(p * 16777216.0);
    d.scale = 1.0f / (1.0f - p);
    return d;
}

static double factor(const Drop& d, uint64_t index) {
    if (d.threshold == 0) return 1.0;
    return (host_mix64(d.key + index * 0x9E3779B97F4A7C15ull) >> 40) >= (uint64_t)d.threshold ? d.scale : 0.0;
}

// The kernels read a site's key from device memory (in jgpt, the step's key table); one slot serves here. The
// synchronous copy is ordered before the launches that follow on the default stream.
static const unsigned long long* device_key(const Drop& drop) {
    static unsigned long long* slot = nullptr;
    if (drop.threshold == 0) return nullptr;
    if (slot == nullptr) CHECK(cudaMalloc(&slot, sizeof *slot));
    CHECK(cudaMemcpy(slot, &drop.key, sizeof drop.key, cudaMemcpyHostToDevice));
    return slot;
}

struct Device {
    float *qkv, *out, *lse, *dout, *dqkv, *delta;
    explicit Device(const Shape& s) {
        CHECK(cudaMalloc(&qkv, 4 * s.qkv()));
        CHECK(cudaMalloc(&dqkv, 4 * s.qkv()));
        CHECK(cudaMalloc(&out, 4 * s.btc()));
        CHECK(cudaMalloc(&dout, 4 * s.btc()));
        CHECK(cudaMalloc(&lse, 4 * s.rows()));
        CHECK(cudaMalloc(&delta, 4 * s.rows()));
    }
    ~Device() {
        cudaFree(qkv); cudaFree(dqkv); cudaFree(out); cudaFree(dout); cudaFree(lse); cudaFree(delta);
    }
};

static int blocks(const Shape& s) { return s.B * s.NH * flash_ceil_div(s.T, flash_rows(flash_group(s.hs))); }

static void forward(const Shape& s, const Device& d, const Drop& drop) {
    int g = flash_group(s.hs);
    flash_attention_forward_f32<<<blocks(s), FLASH_THREADS, flash_forward_shared_bytes(g)>>>(
        d.out, d.lse, d.qkv, s.B, s.T, s.NH, s.hs, (float)(1.0 / std::sqrt((double)s.hs)), device_key(drop),
        drop.threshold, drop.scale);
    CHECK(cudaGetLastError());
}

// bf16 copies of the tensors (lse and delta stay fp32), as CudaOps holds them for --precision bf16.
struct Bf16Device {
    __nv_bfloat16 *qkv, *dqkv, *out, *dout;
    float *lse, *delta;
    explicit Bf16Device(const Shape& s) {
        CHECK(cudaMalloc(&qkv, 2 * s.qkv()));
        CHECK(cudaMalloc(&dqkv, 2 * s.qkv()));
        CHECK(cudaMalloc(&out, 2 * s.btc()));
        CHECK(cudaMalloc(&dout, 2 * s.btc()));
        CHECK(cudaMalloc(&lse, 4 * s.rows()));
        CHECK(cudaMalloc(&delta, 4 * s.rows()));
    }
    ~Bf16Device() {
        cudaFree(qkv); cudaFree(dqkv); cudaFree(out); cudaFree(dout); cudaFree(lse); cudaFree(delta);
    }
};

static int bf16_blocks(const Shape& s) { return s.B * s.NH * flash_mma_tiles(s.T); }

static void forward_bf16(const Shape& s, const Bf16Device& d, const Drop& drop) {
    flash_attention_forward_bf16<<<bf16_blocks(s), 32 * FLASH_MMA_WARPS>>>(
        d.out, d.lse, d.qkv, s.B, s.T, s.NH, s.hs, (float)(1.0 / std::sqrt((double)s.hs)), device_key(drop),
        drop.threshold, drop.scale);
    CHECK(cudaGetLastError());
}

// The bf16 backward's three kernels; part -1 runs all of them, 0 delta, 1 dk/dv, 2 dq (timed one by one).
static void backward_bf16(const Shape& s, const Bf16Device& d, const Drop& drop, int part = -1) {
    float scale = (float)(1.0 / std::sqrt((double)s.hs));
    int warpsPerBlock = 256 / WARP_SIZE;
    if (part < 0 || part == 0)
        flash_attention_backward_delta_bf16<<<(int)((s.rows() + warpsPerBlock - 1) / warpsPerBlock), 256>>>(
            d.delta, d.dout, d.out, s.B, s.T, s.NH, s.hs);
    if (part < 0 || part == 1)
        flash_attention_backward_dkdv_bf16<<<bf16_blocks(s), 32 * FLASH_MMA_WARPS>>>(
            d.dqkv, d.dout, d.qkv, d.lse, d.delta, s.B, s.T, s.NH, s.hs, scale, device_key(drop), drop.threshold, drop.scale);
    if (part < 0 || part == 2)
        flash_attention_backward_dq_bf16<<<bf16_blocks(s), 32 * FLASH_MMA_WARPS>>>(
            d.dqkv, d.dout, d.qkv, d.lse, d.delta, s.B, s.T, s.NH, s.hs, scale, device_key(drop), drop.threshold, drop.scale);
    CHECK(cudaGetLastError());
}

static std::vector<__nv_bfloat16> to_bf16(const std::vector<float>& x) {
    std::vector<__nv_bfloat16> y(x.size());
    for (size_t i = 0; i < x.size(); i++) y[i] = __float2bfloat16(x[i]);
    return y;
}

static std::vector<float> from_bf16(const __nv_bfloat16* device, size_t n) {
    std::vector<__nv_bfloat16> y(n);
    CHECK(cudaMemcpy(y.data(), device, 2 * n, cudaMemcpyDeviceToHost));
    std::vector<float> x(n);
    for (size_t i = 0; i < n; i++) x[i] = __bfloat162float(y[i]);
    return x;
}

static void backward(const Shape& s, const Device& d, const Drop& drop) {
    int g = flash_group(s.hs);
    float scale = (float)(1.0 / std::sqrt((double)s.hs));
    int warpsPerBlock = 256 / WARP_SIZE;
    flash_attention_backward_delta_f32<<<(int)((s.rows() + warpsPerBlock - 1) / warpsPerBlock), 256>>>(
        d.delta, d.dout, d.out, s.B, s.T, s.NH, s.hs);
    const unsigned long long* key = device_key(drop);
    flash_attention_backward_dkdv_f32<<<blocks(s), FLASH_THREADS, flash_dkdv_shared_bytes(g)>>>(
        d.dqkv, d.dout, d.qkv, d.lse, d.delta, s.B, s.T, s.NH, s.hs, scale, key, drop.threshold, drop.scale);
    flash_attention_backward_dq_f32<<<blocks(s), FLASH_THREADS, flash_forward_shared_bytes(g)>>>(
        d.dqkv, d.dout, d.qkv, d.lse, d.delta, s.B, s.T, s.NH, s.hs, scale, key, drop.threshold, drop.scale);
    CHECK(cudaGetLastError());
}

// Materialised double-precision attention and its textbook backward.
static void reference(const Shape& s, const Drop& drop, const std::vector<float>& qkv, const std::vector<float>& dout,
                      std::vector<double>& out, std::vector<double>& lse, std::vector<double>& dqkv) {
    int T = s.T, hs = s.hs, C = s.NH * hs;
    out.assign(s.btc(), 0.0);
    lse.assign(s.rows(), 0.0);
    dqkv.assign(s.qkv(), 0.0);
    auto q = [&](int b, int t, int part, int h, int e) { return ((size_t)b * T + t) * 3 * C + part * C + h * hs + e; };
    auto o = [&](int b, int t, int h, int e) { return ((size_t)b * T + t) * C + h * hs + e; };
    double scale = 1.0 / std::sqrt((double)hs);
    for (int bh = 0; bh < s.B * s.NH; bh++) {
        int b = bh / s.NH, h = bh % s.NH;
        for (int i = 0; i < T; i++) {
            std::vector<double> sc(i + 1), p(i + 1), dp(i + 1);
            double mx = -INFINITY, sum = 0, dot = 0;
            for (int j = 0; j <= i; j++) {
                double v = 0;
                for (int e = 0; e < hs; e++) v += (double)qkv[q(b, i, 0, h, e)] * qkv[q(b, j, 1, h, e)];
                sc[j] = v * scale;
                mx = std::fmax(mx, sc[j]);
            }
            for (int j = 0; j <= i; j++) sum += std::exp(sc[j] - mx);
            lse[(size_t)bh * T + i] = mx + std::log(sum);
            for (int j = 0; j <= i; j++) {
                p[j] = std::exp(sc[j] - mx) / sum;
                double z = factor(drop, ((uint64_t)bh * T + i) * T + j), g = 0;
                for (int e = 0; e < hs; e++) {
                    out[o(b, i, h, e)] += p[j] * z * qkv[q(b, j, 2, h, e)];
                    g += (double)dout[o(b, i, h, e)] * qkv[q(b, j, 2, h, e)];
                }
                dp[j] = g * z;
                dot += p[j] * dp[j];
            }
            for (int j = 0; j <= i; j++) {
                double ds = p[j] * (dp[j] - dot) * scale, w = p[j] * factor(drop, ((uint64_t)bh * T + i) * T + j);
                for (int e = 0; e < hs; e++) {
                    dqkv[q(b, i, 0, h, e)] += ds * qkv[q(b, j, 1, h, e)];
                    dqkv[q(b, j, 1, h, e)] += ds * qkv[q(b, i, 0, h, e)];
                    dqkv[q(b, j, 2, h, e)] += w * dout[o(b, i, h, e)];
                }
            }
        }
    }
}

// max |got - want| / max |want|.
static double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < want.size(); i++) {
        worst = std::fmax(worst, std::fabs(got[i] - want[i]));
        scale = std::fmax(scale, std::fabs(want[i]));
    }
    return worst / std::fmax(scale, 1e-30);
}

static std::vector<float> random_vector(size_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal;
    std::vector<float> v(n);
    for (auto& x : v) x = normal(rng);
    return v;
}

// The bf16 forward and backward (from a zero dqkv) on bf16-rounded inputs against the double reference on the same
// values. Bounds relative to the largest reference value: out 2e-2 (probabilities and out rounded to bf16, 2^-8
// each, device expf), lse 1e-4, dqkv 2e-2 (P * Z and dS rounded to bf16 before their products, dqkv to bf16).
static bool check_bf16(const Shape& s, const Drop& drop, const std::vector<float>& qkv, const std::vector<float>& dout) {
    std::vector<__nv_bfloat16> q16 = to_bf16(qkv), do16 = to_bf16(dout);
    std::vector<float> rq(s.qkv()), rdo(s.btc());
    for (size_t i = 0; i < rq.size(); i++) rq[i] = __bfloat162float(q16[i]);
    for (size_t i = 0; i < rdo.size(); i++) rdo[i] = __bfloat162float(do16[i]);
    Bf16Device d(s);
    CHECK(cudaMemcpy(d.qkv, q16.data(), 2 * s.qkv(), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d.dout, do16.data(), 2 * s.btc(), cudaMemcpyHostToDevice));
    CHECK(cudaMemset(d.dqkv, 0, 2 * s.qkv()));
    forward_bf16(s, d, drop);
    backward_bf16(s, d, drop);
    CHECK(cudaDeviceSynchronize());
    std::vector<float> out = from_bf16(d.out, s.btc()), dqkv = from_bf16(d.dqkv, s.qkv()), lse(s.rows());
    CHECK(cudaMemcpy(lse.data(), d.lse, 4 * s.rows(), cudaMemcpyDeviceToHost));
    std::vector<double> rOut, rLse, rDqkv;
    reference(s, drop, rq, rdo, rOut, rLse, rDqkv);
    double eo = relative_error(out, rOut), el = relative_error(lse, rLse), eg = relative_error(dqkv, rDqkv);
    bool ok = eo <= 2e-2 && el <= 1e-4 && eg <= 2e-2;
    std::printf("{\"check\": \"bf16 B=%d T=%d NH=%d hs=%d p=%.2f\", \"out\": %.3g, \"lse\": %.3g, \"dqkv\": %.3g, "
                "\"ok\": %s}\n", s.B, s.T, s.NH, s.hs, s.p, eo, el, eg, ok ? "true" : "false");
    return ok;
}

static int check() {
    // Ragged T against the 32-key tiles and 32/64/128-row blocks of the fp32 kernels and the 64-row tiles of the bf16
    // ones; hs 19, 64, 100 use thread groups 1, 2, 4 (bf16: hs <= 64, 19 and 48 padded, 64 on 16-byte loads).
    const Shape shapes[] = {{2, 1, 2, 64, 0.0f}, {2, 77, 3, 64, 0.1f}, {1, 33, 2, 19, 0.0f}, {1, 65, 2, 100, 0.2f},
                            {1, 130, 1, 64, 0.0f}, {1, 150, 2, 48, 0.1f}};
    // Bounds relative to the largest reference value: fp32 sums of at most a few hundred terms.
    const double forwardBound = 1e-5, backwardBound = 1e-4;
    int failures = 0;
    std::mt19937 rng(7);
    for (const Shape& s : shapes) {
        Drop drop = dropout_of(s.p, 42, s.T);
        std::vector<float> qkv = random_vector(s.qkv(), rng), dout = random_vector(s.btc(), rng);
        if (s.hs <= FLASH_MMA_HEAD) failures += !check_bf16(s, drop, qkv, dout);
        Device d(s);
        CHECK(cudaMemcpy(d.qkv, qkv.data(), 4 * s.qkv(), cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(d.dout, dout.data(), 4 * s.btc(), cudaMemcpyHostToDevice));
        CHECK(cudaMemset(d.dqkv, 0, 4 * s.qkv()));
        forward(s, d, drop);
        backward(s, d, drop);
        CHECK(cudaDeviceSynchronize());
        std::vector<float> out(s.btc()), lse(s.rows()), dqkv(s.qkv());
        CHECK(cudaMemcpy(out.data(), d.out, 4 * s.btc(), cudaMemcpyDeviceToHost));
        CHECK(cudaMemcpy(lse.data(), d.lse, 4 * s.rows(), cudaMemcpyDeviceToHost));
        CHECK(cudaMemcpy(dqkv.data(), d.dqkv, 4 * s.qkv(), cudaMemcpyDeviceToHost));
        std::vector<double> rOut, rLse, rDqkv;
        reference(s, drop, qkv, dout, rOut, rLse, rDqkv);
        double eo = relative_error(out, rOut), el = relative_error(lse, rLse), eg = relative_error(dqkv, rDqkv);
        bool ok = eo <= forwardBound && el <= forwardBound && eg <= backwardBound;
        failures += !ok;
        std::printf("{\"check\": \"fp32 B=%d T=%d NH=%d hs=%d p=%.2f\", \"out\": %.3g, \"lse\": %.3g, \"dqkv\": %.3g, "
                    "\"ok\": %s}\n", s.B, s.T, s.NH, s.hs, s.p, eo, el, eg, ok ? "true" : "false");
    }
    return failures == 0 ? 0 : 1;
}

// Uniform values in [-1, 1) from a xorshift generator: timing does not care about the distribution, and the
// 200 million values at the timed shape come much faster than normal variates.
static std::vector<float> fast_vector(size_t n, uint32_t seed) {
    std::vector<float> v(n);
    uint32_t x = seed | 1u;
    for (auto& e : v) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        e = (float)(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return v;
}

// Mean milliseconds of `run` over 10 launches after 3 untimed ones.
template <typename Run> static float time_ms(Run run) {
    const int warmup = 3, iterations = 10;
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    for (int i = 0; i < warmup; i++) run();
    CHECK(cudaEventRecord(start));
    for (int i = 0; i < iterations; i++) run();
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ms / iterations;
}

static void print_time(const char* impl, const char* pass, float ms, double flops, const char* extra = "") {
    std::printf("{\"impl\": \"%s\", \"pass\": \"%s\", \"shape\": \"64x12x1024x64\", \"ms\": %.4f, \"tflops\": %.2f%s}\n",
                impl, pass, ms, flops / (ms * 1e-3) / 1e12, extra);
}

static int time_kernels() {
    const Shape s{64, 1024, 12, 64, 0.0f};
    Drop drop;
    std::vector<float> qkv = fast_vector(s.qkv(), 8), dout = fast_vector(s.btc(), 9);
    // Causal FLOPs as FlashAttention reports them: 4*B*NH*T*T*hs/2 forward, 2.5x that backward.
    double forwardFlops = 4.0 * s.B * s.NH * (double)s.T * s.T * s.hs / 2, backwardFlops = 2.5 * forwardFlops;
    {
        Device d(s);
        CHECK(cudaMemcpy(d.qkv, qkv.data(), 4 * s.qkv(), cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(d.dout, dout.data(), 4 * s.btc(), cudaMemcpyHostToDevice));
        CHECK(cudaMemset(d.dqkv, 0, 4 * s.qkv()));
        print_time("jgpt flash fp32", "forward", time_ms([&] { forward(s, d, drop); }), forwardFlops);
        print_time("jgpt flash fp32", "backward", time_ms([&] { backward(s, d, drop); }), backwardFlops);
    }
    // The bf16 kernels on bf16 copies of the same inputs; the backward also kernel by kernel.
    Bf16Device d(s);
    std::vector<__nv_bfloat16> q16 = to_bf16(qkv), do16 = to_bf16(dout);
    CHECK(cudaMemcpy(d.qkv, q16.data(), 2 * s.qkv(), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d.dout, do16.data(), 2 * s.btc(), cudaMemcpyHostToDevice));
    CHECK(cudaMemset(d.dqkv, 0, 2 * s.qkv()));
    const char* bf16 = "jgpt flash bf16 (mma.sync)";
    print_time(bf16, "forward", time_ms([&] { forward_bf16(s, d, drop); }), forwardFlops);
    float parts[3];
    for (int part = 0; part < 3; part++) parts[part] = time_ms([&] { backward_bf16(s, d, drop, part); });
    char extra[160];
    std::snprintf(extra, sizeof extra, ", \"ms_delta\": %.4f, \"ms_dkdv\": %.4f, \"ms_dq\": %.4f", parts[0], parts[1],
                  parts[2]);
    print_time(bf16, "backward", time_ms([&] { backward_bf16(s, d, drop); }), backwardFlops, extra);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "check") == 0) return check();
    if (argc == 2 && std::strcmp(argv[1], "time") == 0) return time_kernels();
    std::fprintf(stderr, "usage: %s check|time\n", argv[0]);
    return 2;
}
