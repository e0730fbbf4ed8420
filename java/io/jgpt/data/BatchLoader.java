package io.jgpt.data;

import io.jgpt.JgptException;
import io.jgpt.train.Batch;
import java.util.SplittableRandom;

/**
 * Serves batches of B windows from a {@link SlidingWindowDataset}, like the book's DataLoader. With shuffling,
 * each epoch visits the windows in its own permutation, a pure function of (seed, epoch): a run resumed from a
 * saved {@link LoaderState} sees exactly the batches the uninterrupted run would have. Without shuffling, batch
 * k holds windows kB .. kB+B-1. With drop-last (the book's training loader) a final partial batch is skipped;
 * without it (the book's validation loader) it is served with fewer rows.
 */
public final class BatchLoader {
    private final SlidingWindowDataset dataset;
    private final int batchSize;
    private final boolean shuffle;
    private final boolean dropLast;
    private final long seed;
    private final int batchesPerEpoch;
    private int epoch;
    private int position;
    private int orderEpoch = -1;
    private int[] order;

    public BatchLoader(SlidingWindowDataset dataset, int batchSize, boolean shuffle, boolean dropLast, long seed) {
        if (batchSize < 1) {
            throw new JgptException("batch size must be positive, got " + batchSize);
        }
        int windows = dataset.size();
        this.batchesPerEpoch = dropLast ? windows / batchSize : (windows + batchSize - 1) / batchSize;
        if (batchesPerEpoch == 0) {
            throw new JgptException(dataset.tokens().name() + " has " + dataset.tokens().length() + " tokens, "
                    + windows + " windows of " + dataset.contextLength() + " (stride " + dataset.stride()
                    + "); a full batch of " + batchSize + " needs at least "
                    + ((long) (batchSize - 1) * dataset.stride() + dataset.contextLength() + 1) + " tokens");
        }
        this.dataset = dataset;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
        this.seed = seed;
    }

    /** The book's training loader: shuffled, drop_last=True. */
    public static BatchLoader training(SlidingWindowDataset dataset, int batchSize, long seed) {
        return new BatchLoader(dataset, batchSize, true, true, seed);
    }

    /** The book's validation loader: in order, drop_last=False. */
    public static BatchLoader evaluation(SlidingWindowDataset dataset, int batchSize) {
        return new BatchLoader(dataset, batchSize, false, false, 0);
    }

    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    public int batchSize() {
        return batchSize;
    }

    public boolean shuffled() {
        return shuffle;
    }

    public SlidingWindowDataset dataset() {
        return dataset;
    }

    public LoaderState state() {
        return new LoaderState(epoch, position);
    }

    /** Continues from a state saved with a checkpoint. */
    public void restore(LoaderState state) {
        if (state.epoch() < 0 || state.position() < 0 || state.position() >= batchesPerEpoch) {
            throw new JgptException("cannot resume the data loader at epoch " + state.epoch() + ", batch "
                    + state.position() + ": an epoch has " + batchesPerEpoch + " batches");
        }
        epoch = state.epoch();
        position = state.position();
    }

    /** The next batch; after the last batch of an epoch comes the first of the next. */
    public Batch next() {
        Batch batch = batch(epoch, position);
        if (++position == batchesPerEpoch) {
            position = 0;
            epoch++;
        }
        return batch;
    }

    /** Batch {@code index} of {@code epoch}, independent of the loader's position. */
    public Batch batch(int epoch, int index) {
        if (epoch < 0 || index < 0 || index >= batchesPerEpoch) {
            throw new IndexOutOfBoundsException("batch " + index + " of epoch " + epoch + " (" + batchesPerEpoch
                    + " per epoch)");
        }
        int first = index * batchSize;
        int rows = Math.min(batchSize, dataset.size() - first);
        int time = dataset.contextLength();
        int[] inputs = new int[rows * time];
        int[] targets = new int[rows * time];
        for (int r = 0; r < rows; r++) {
            dataset.fill(window(epoch, first + r), inputs, targets, r * time);
        }
        return new Batch(inputs, targets, rows, time);
    }

    private int window(int epoch, int slot) {
        if (!shuffle) {
            return slot;
        }
        if (orderEpoch != epoch) {
            order = permutation(dataset.size(), epochSeed(seed, epoch));
            orderEpoch = epoch;
        }
        return order[slot];
    }

    /** Fisher–Yates over 0..n-1. */
    private static int[] permutation(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * Seeds that differ by a little must give unrelated epochs: {@code seed ^ epoch} would make (seed 0, epoch 1)
     * replay (seed 1, epoch 0). A 64-bit finalizer (Stafford's mix 13) scrambles the epoch before combining.
     */
    static long epochSeed(long seed, int epoch) {
        return mix(seed ^ mix(0x9E3779B97F4A7C15L * (epoch + 1L)));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
