package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.ops.Dropout;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * CudaOps' attention on a recording fake of the driver (no GPU): the qkv dtype picks the kernels, forward and
 * backward, with no other kernel launched in between; mixed dtypes and heads larger than the bf16 kernels' 64 are
 * refused with one line naming the problem.
 */
class FlashDispatchTest {

    private static List<String> launches(DType dtype, int hs) {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            int b = 2, t = 70, nh = 3, c = nh * hs;
            Tensor qkv = ops.zeros(dtype, b, t, 3 * c), out = ops.zeros(dtype, b, t, c), lse = ops.zeros(DType.F32, b, nh, t);
            Tensor dqkv = ops.zeros(dtype, b, t, 3 * c), dout = ops.zeros(dtype, b, t, c);
            driver.resetCounts();
            Dropout dropout = Dropout.of(0.1f, 1, 2);
            ops.attentionForward(out, lse, qkv, nh, dropout);
            ops.attentionBackward(dqkv, dout, qkv, out, lse, nh, dropout);
            // Kernels only: the driver's copies (a loose dropout site's key, copied as each op is queued) aside.
            return driver.launched.stream().filter(k -> !k.startsWith("memcpy") && !k.equals("memset")).toList();
        }
    }

    @Test
    void bf16TensorsRunTheTensorCoreKernels() {
        assertEquals(List.of("flash_attention_forward_bf16", "flash_attention_backward_delta_bf16",
                "flash_attention_backward_dkdv_bf16", "flash_attention_backward_dq_bf16"), launches(DType.BF16, 64));
        assertEquals(List.of("flash_attention_forward_bf16", "flash_attention_backward_delta_bf16",
                "flash_attention_backward_dkdv_bf16", "flash_attention_backward_dq_bf16"), launches(DType.BF16, 19));
    }

    @Test
    void fp32TensorsRunTheCudaCoreKernels() {
        assertEquals(List.of("flash_attention_forward_f32", "flash_attention_backward_delta_f32",
                "flash_attention_backward_dkdv_f32", "flash_attention_backward_dq_f32"), launches(DType.F32, 100));
    }

    @Test
    void bf16HeadsLargerThan64AndMixedDtypesAreRefused() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            Tensor qkv = ops.zeros(DType.BF16, 1, 4, 240), out = ops.zeros(DType.BF16, 1, 4, 80);
            Tensor lse = ops.zeros(DType.F32, 1, 1, 4);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionBackward(ops.zeros(DType.BF16, 1, 4, 240), ops.zeros(DType.BF16, 1, 4, 80), qkv,
                            out, lse, 1, Dropout.NONE));
            assertTrue(e.getMessage().startsWith("attentionBackward: head size 80 is larger than the bf16 attention kernels' 64"),
                    e.getMessage());
            var mixed = assertThrows(IllegalArgumentException.class,
                    () -> ops.attentionBackward(ops.zeros(DType.F32, 1, 4, 240), ops.zeros(DType.BF16, 1, 4, 80), qkv,
                            out, lse, 1, Dropout.NONE));
            assertTrue(mixed.getMessage().contains("they must share one type"), mixed.getMessage());
        }
    }
}
