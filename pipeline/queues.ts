/**
 * Every queue and job name in one place, and which queue each job travels on. Workers refuse to boot when a
 * job name has no handler, or two (see worker-host.ts).
 */
export enum QueueName {
  Violations = 'violations',
}

export enum JobName {
  /** A rule flagged a violation whose evidence is in the store: record it in the database, once. */
  RecordViolation = 'violation.record',
}

export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.RecordViolation]: QueueName.Violations,
};

export const DEFAULT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  // Keep bounded histories: failed jobs stay for inspection, never silently dropped nor unbounded.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600, count: 100_000 },
} as const;
