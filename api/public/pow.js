// Proof of work for the citizen lookup, in the browser: find a nonce such that
// SHA-256("<challenge>:<nonce>") starts with `bits` zero bits (the server's api/security/proof-of-work.ts).
// A small SHA-256 of our own: it works where SubtleCrypto does not (pages served over plain http on a LAN)
// and, being synchronous, is several times faster than one SubtleCrypto promise per hash. Runs in a Web
// Worker (pow-worker.js) so the page stays responsive.

const primes = [];
for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
const frac = (x) => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;
const K = Uint32Array.from(primes, (p) => frac(Math.cbrt(p)));
const H0 = Uint32Array.from(primes.slice(0, 8), (p) => frac(Math.sqrt(p)));
const W = new Uint32Array(64);

/** SHA-256 of bytes, as eight 32-bit words. */
export function sha256Words(bytes) {
  const length = bytes.length;
  const total = ((length + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(total);
  m.set(bytes);
  m[length] = 0x80;
  const view = new DataView(m.buffer);
  view.setUint32(total - 8, Math.floor((length * 8) / 2 ** 32));
  view.setUint32(total - 4, (length * 8) >>> 0);
  const H = H0.slice();
  for (let o = 0; o < total; o += 64) {
    for (let i = 0; i < 16; i++) W[i] = view.getUint32(o + i * 4);
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15];
      const y = W[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    H[0] += a;
    H[1] += b;
    H[2] += c;
    H[3] += d;
    H[4] += e;
    H[5] += f;
    H[6] += g;
    H[7] += h;
  }
  return H;
}

export function leadingZeroBitsOfWords(words) {
  let bits = 0;
  for (const w of words) {
    if (w === 0) {
      bits += 32;
      continue;
    }
    return bits + Math.clz32(w);
  }
  return bits;
}

/**
 * Tries nonces start, start+1, … (base 36) for `count` tries; returns the first that meets `bits`, or
 * undefined. Called in slices so a worker can report progress between them.
 */
export function searchNonce(challenge, bits, start, count) {
  const encoder = new TextEncoder();
  for (let i = start; i < start + count; i++) {
    const nonce = i.toString(36);
    if (leadingZeroBitsOfWords(sha256Words(encoder.encode(`${challenge}:${nonce}`))) >= bits) return nonce;
  }
  return undefined;
}
