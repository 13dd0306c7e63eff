import client from 'prom-client';

/**
 * One registry per process. Names are snake_case with units; camera ids are labels (bounded: one per
 * camera), plate numbers and frame ids never are.
 */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

/**
 * Per-camera metrics of the ingest process that holds the cameras. The API does not serve this registry:
 * it rebuilds the same series for the whole fleet from the states the ingest workers publish (see
 * api/services/metrics.service.ts), so one scrape covers every camera whichever worker holds it.
 */
export const cameraRegistry = new client.Registry();

export const framesReceived = new client.Counter({
  name: 'camera_frames_received_total',
  help: 'Frames decoded from the camera stream',
  labelNames: ['camera'] as const,
  registers: [cameraRegistry],
});
export const framesProcessed = new client.Counter({
  name: 'camera_frames_processed_total',
  help: 'Frames that went through detection',
  labelNames: ['camera'] as const,
  registers: [cameraRegistry],
});
export const framesMotionGated = new client.Counter({
  name: 'camera_frames_motion_gated_total',
  help: 'Frames analysed with the previous detections because nothing moved (INGEST_MOTION_GATE)',
  labelNames: ['camera'] as const,
  registers: [cameraRegistry],
});
export const framesDropped = new client.Counter({
  name: 'camera_frames_dropped_total',
  help: 'Frames replaced by a newer one before the detector took them',
  labelNames: ['camera'] as const,
  registers: [cameraRegistry],
});
export const streamUp = new client.Gauge({
  name: 'camera_stream_up',
  help: '1 while frames flow from the camera, 0 otherwise',
  labelNames: ['camera'] as const,
  registers: [cameraRegistry],
});
export const streamRestarts = new client.Counter({
  name: 'camera_stream_restarts_total',
  help: 'ffmpeg restarts per camera',
  labelNames: ['camera', 'reason'] as const,
  registers: [cameraRegistry],
});
export const inferenceSeconds = new client.Histogram({
  name: 'detector_inference_seconds',
  help: 'Detector time per frame (pre-processing, inference, post-processing; with batching, the wait for the batch too)',
  labelNames: ['camera', 'model', 'provider'] as const,
  buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
  registers: [cameraRegistry],
});
export const violationsFlagged = new client.Counter({
  name: 'violations_flagged_total',
  help: 'Violations flagged by the rules',
  labelNames: ['camera', 'rule'] as const,
  registers: [cameraRegistry],
});
export const jobsProcessed = new client.Counter({
  name: 'queue_jobs_processed_total',
  help: 'Jobs handled, by queue and outcome',
  labelNames: ['queue', 'status'] as const,
  registers: [registry],
});
