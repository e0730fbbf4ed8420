package io.jgpt.dist;

import java.util.List;

/**
 * Run by {@link MpiCollectivesTest} on every rank under mpirun: checks every collective of the MPI
 * communicator against hand-computed values, prints one line and exits 0 when all are right, 1 otherwise.
 */
public final class CollectiveCheck {
    public static void main(String[] args) {
        int failed;
        try (MpiCommunicator c = MpiCommunicator.world()) {
            List<String> failures = Collectives.check(c, Collectives.HOST);
            failed = failures.size();
            System.out.println("rank " + c.rank() + " of " + c.size() + ": "
                    + (failed == 0 ? "every collective correct" : "FAILED " + failures) + " via " + c.describe());
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
