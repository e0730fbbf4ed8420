package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import org.junit.jupiter.api.Test;

class GPTConfigTest {

    @Test
    void parameterCountsMatchTheBook() {
        // The book's GPT_CONFIG_124M: context 1024, no qkv bias. 163,009,536 with its own output head,
        // 124,412,160 once the head is tied to the token embedding.
        GPTConfig untied = GPTConfig.preset("book-124m").withContextLength(1024);
        assertEquals(163_009_536L, untied.parameterCount());
        GPTConfig tied = new GPTConfig(50257, 1024, 768, 12, 12, 0.1f, false, true);
        assertEquals(124_412_160L, tied.parameterCount());
    }

    @Test
    void countMatchesTheTensorsTheModelAllocates() {
        GPTConfig c = new GPTConfig(37, 9, 12, 3, 2, 0f, true, false);
        try (CpuOps ops = new CpuOps(1)) {
            long n = new GPTModel(c, ops, 1).parameters().stream().mapToLong(p -> p.value().numel()).sum();
            assertEquals(c.parameterCount(), n);
        }
    }

    @Test
    void presetsHaveThePublishedShapes() {
        assertEquals(1600, GPTConfig.preset("gpt2-xl").embDim());
        assertEquals(36, GPTConfig.preset("gpt2-large").nLayers());
        assertEquals(16, GPTConfig.preset("gpt2-medium").nHeads());
        assertTrue(GPTConfig.preset("gpt2-small").tiedHead());
        // GPT-2 small is the 124M model: 124,439,808 parameters with qkv bias, tied head.
        assertEquals(124_439_808L, GPTConfig.preset("gpt2-small").parameterCount());
    }

    @Test
    void rejectsBadShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> new GPTConfig(10, 8, 10, 3, 1, 0f, true, true));
        assertTrue(e.getMessage().contains("not divisible"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GPTConfig.preset("gpt5"));
        assertThrows(IllegalArgumentException.class, () -> new GPTConfig(10, 8, 8, 2, 1, 1f, true, true));
    }
}
