// Host-side oracle for io.jgpt.tensor.Bf16: narrows float bit patterns with cuda_bf16.h's own
// __float2bfloat16_rn, compiled by nvcc for the host (Bf16HostOracleTest builds and runs it).
// Usage: bf16_round_host IN OUT, IN holding little-endian uint32 float bit patterns, OUT receiving one
// little-endian uint16 bf16 bit pattern per input.
#include <cuda_bf16.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 2;
    }
    std::FILE* in = std::fopen(argv[1], "rb");
    std::FILE* out = std::fopen(argv[2], "wb");
    if (!in || !out) {
        std::fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    std::vector<uint32_t> bits(1 << 16);
    std::vector<uint16_t> narrowed(bits.size());
    size_t n;
    while ((n = std::fread(bits.data(), sizeof(uint32_t), bits.size(), in)) > 0) {
        for (size_t i = 0; i < n; i++) {
            float f;
            std::memcpy(&f, &bits[i], sizeof f);
            __nv_bfloat16 b = __float2bfloat16_rn(f);
            std::memcpy(&narrowed[i], &b, sizeof narrowed[i]);
        }
        if (std::fwrite(narrowed.data(), sizeof(uint16_t), n, out) != n) {
            std::fprintf(stderr, "write to %s failed\n", argv[2]);
            return 1;
        }
    }
    return std::fclose(out) == 0 && !std::ferror(in) ? 0 : 1;
}
