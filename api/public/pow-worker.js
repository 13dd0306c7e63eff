// Solves one proof-of-work challenge off the main thread; posts {progress} now and then, then {nonce}.
import { searchNonce } from './pow.js';

const SLICE = 20000;

self.onmessage = (event) => {
  const { challenge, bits } = event.data;
  const expected = 2 ** bits;
  for (let start = 0; start < 2 ** 40; start += SLICE) {
    const nonce = searchNonce(challenge, bits, start, SLICE);
    if (nonce !== undefined) {
      self.postMessage({ nonce, tries: start + SLICE });
      return;
    }
    self.postMessage({ progress: Math.min(0.99, 1 - Math.exp(-(start + SLICE) / expected)) });
  }
  self.postMessage({ error: 'no nonce found' });
};
