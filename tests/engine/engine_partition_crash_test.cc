// Partitions: durability of the outbox and recovery (filled in by the next commit).
