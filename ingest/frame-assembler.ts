/**
 * Cuts a byte stream of raw frames (ffmpeg's stdout) into exact frame-sized Buffers, whatever the chunk
 * boundaries. Until the frame size is known (ffmpeg announces it on stderr, which may arrive after the
 * first stdout bytes) chunks are held, up to a bound.
 */
export class FrameAssembler {
  private frameSize: number | undefined;
  private current: Buffer | undefined;
  private filled = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    /** Bytes that may arrive before the frame size is known. */
    private readonly maxHeldBytes = 64 * 1024 * 1024,
  ) {}

  get knownFrameSize(): number | undefined {
    return this.frameSize;
  }

  /** Bytes of an unfinished frame (or held before the size was known). */
  get pendingBytes(): number {
    return this.frameSize === undefined ? this.heldBytes : this.filled;
  }

  /** Sets the frame size once; chunks held so far are cut into frames at once. */
  setFrameSize(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes <= 0)
      throw new RangeError(`frame size must be a positive integer (got ${bytes})`);
    if (this.frameSize !== undefined) {
      if (this.frameSize !== bytes)
        throw new Error(`frame size already set to ${this.frameSize}, not ${bytes}`);
      return;
    }
    this.frameSize = bytes;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.cut(chunk, bytes);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.frameSize === undefined) {
      if (this.heldBytes + chunk.length > this.maxHeldBytes) {
        throw new Error(
          `${this.heldBytes + chunk.length} bytes of video arrived before the frame size was known`,
        );
      }
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return;
    }
    this.cut(chunk, this.frameSize);
  }

  private cut(chunk: Buffer, size: number): void {
    let offset = 0;
    while (offset < chunk.length) {
      // Each frame gets a Buffer of its own: consumers may keep it while later chunks arrive.
      this.current ??= Buffer.allocUnsafe(size);
      const n = Math.min(size - this.filled, chunk.length - offset);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === size) {
        const frame = this.current;
        this.current = undefined;
        this.filled = 0;
        this.onFrame(frame);
      }
    }
  }
}
