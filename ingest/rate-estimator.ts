/**
 * Events per second over a sliding window. Once it has watched a whole window it reports the events of
 * the last window divided by its length (unbiased, and falling to 0 when events stop); before that, the
 * rate over the span observed so far.
 */
export class RateEstimator {
  private times: number[] = [];
  private since: number | undefined;

  constructor(
    private readonly windowMs = 10_000,
    private readonly maxSamples = 4096,
  ) {}

  record(at: number): void {
    this.since ??= at;
    this.times.push(at);
    if (this.times.length > this.maxSamples) this.times.splice(0, this.times.length - this.maxSamples);
  }

  perSecond(now: number): number {
    const from = now - this.windowMs;
    let first = 0;
    while (first < this.times.length && this.times[first]! <= from) first++;
    if (first > 0) this.times.splice(0, first);
    if (this.since === undefined) return 0;
    const n = this.times.length;
    let rate: number;
    if (now - this.since >= this.windowMs) {
      rate = (n * 1000) / this.windowMs;
    } else {
      const span = now - this.times[0]!;
      rate = n < 2 || span <= 0 ? 0 : ((n - 1) * 1000) / span;
    }
    return Math.round(rate * 100) / 100;
  }

  reset(): void {
    this.times = [];
    this.since = undefined;
  }
}
