/** Progress on stderr: counts, rate and ETA; one line rewritten on a terminal, a line every ~10 s otherwise. */
export class Progress {
  private readonly started = performance.now();
  private lastPrint = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  tick(extra = ''): void {
    this.done++;
    if (!this.enabled) return;
    const now = performance.now();
    const tty = this.stream.isTTY === true;
    const last = this.done === this.total;
    if (!last && now - this.lastPrint < (tty ? 250 : 10_000)) return;
    this.lastPrint = now;
    const secs = (now - this.started) / 1000;
    const rate = this.done / Math.max(secs, 1e-9);
    const eta = (this.total - this.done) / Math.max(rate, 1e-9);
    const line =
      `[${this.label}] ${this.done}/${this.total} (${((100 * this.done) / this.total).toFixed(1)} %) ` +
      `${rate.toFixed(2)}/s elapsed ${fmt(secs)} ETA ${fmt(eta)}${extra ? ` ${extra}` : ''}`;
    this.stream.write(tty ? `\r${line}\x1b[K${last ? '\n' : ''}` : `${line}\n`);
  }
}

export function fmt(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
