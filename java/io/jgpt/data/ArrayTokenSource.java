package io.jgpt.data;

/** Token ids held in a heap array, as after tokenizing a text file. The array is not copied. */
public record ArrayTokenSource(String name, int[] ids) implements TokenSource {
    @Override
    public int length() {
        return ids.length;
    }

    @Override
    public int get(int position) {
        return ids[position];
    }

    @Override
    public void copy(int from, int[] dst, int dstOffset, int count) {
        checkRange(from, count);
        System.arraycopy(ids, from, dst, dstOffset, count);
    }
}
