import client from 'prom-client';
import { registry } from '../../core/metrics.js';
import type { CameraView } from './types.js';

/**
 * Fleet metrics for Prometheus, assembled at scrape time from the camera states the ingest workers publish
 * to Redis, so one scrape of the API covers every camera whichever worker holds it. Camera codes are the
 * only per-camera label.
 */
export function createFleetMetrics(load: () => Promise<CameraView[]>): {
  registry: client.Registry;
  /** Reads the fleet's state once; call before each scrape (the collectors run concurrently). */
  refresh(): Promise<void>;
} {
  const fleet = new client.Registry();
  let snapshot: CameraView[] = [];
  const refresh = async () => {
    snapshot = await load();
  };
  const counter = (name: string, help: string, pick: (s: CameraView) => number) =>
    new client.Counter({
      name,
      help,
      labelNames: ['camera'] as const,
      registers: [fleet],
      collect() {
        this.reset();
        for (const s of snapshot) this.inc({ camera: s.code }, pick(s));
      },
    });
  new client.Gauge({
    name: 'camera_stream_up',
    help: '1 while frames flow from the camera, 0 otherwise (no report in 15 s counts as down)',
    labelNames: ['camera'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) this.set({ camera: s.code }, s.state === 'up' ? 1 : 0);
    },
  });
  counter('camera_frames_received_total', 'Frames decoded from the camera stream', (s) => s.framesReceived);
  counter('camera_frames_processed_total', 'Frames that went through detection', (s) => s.framesProcessed);
  counter(
    'camera_frames_dropped_total',
    'Frames replaced by a newer one before detection',
    (s) => s.framesDropped,
  );
  counter('camera_stream_restarts_total', 'ffmpeg restarts', (s) => s.restarts);
  new client.Gauge({
    name: 'camera_frames_per_second',
    help: 'Frames received per second over the last 10 s',
    labelNames: ['camera'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) this.set({ camera: s.code }, s.fpsReceived);
    },
  });
  counter('camera_violations_flagged_total', 'Violations flagged by the rules', (s) => s.violationsFlagged);
  new client.Gauge({
    name: 'camera_inference_milliseconds',
    help: 'Mean detector time per frame over about the last minute',
    labelNames: ['camera'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) if (s.inferenceMs !== null) this.set({ camera: s.code }, s.inferenceMs);
    },
  });
  new client.Gauge({
    name: 'camera_detector_info',
    help: 'Always 1; the labels name the detector serving the camera: model, execution provider in use (cpu, cuda, tensorrt) and the one asked for (they differ after a fallback)',
    labelNames: ['camera', 'model', 'provider', 'requested_provider'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) {
        if (!s.detector) continue;
        this.set(
          {
            camera: s.code,
            model: s.detector.model,
            provider: s.detector.provider,
            requested_provider: s.detector.requestedProvider,
          },
          1,
        );
      }
    },
  });
  new client.Gauge({
    name: 'camera_detector_batch_max',
    help: 'Most frames per inference call of the detector serving the camera (1: no batching)',
    labelNames: ['camera'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) if (s.detector) this.set({ camera: s.code }, s.detector.maxBatch);
    },
  });
  new client.Gauge({
    name: 'camera_down_alert',
    help: '1 when the camera has been down for longer than 30 s',
    labelNames: ['camera'] as const,
    registers: [fleet],
    collect() {
      this.reset();
      for (const s of snapshot) this.set({ camera: s.code }, s.alert ? 1 : 0);
    },
  });
  return { registry: client.Registry.merge([registry, fleet]), refresh };
}
