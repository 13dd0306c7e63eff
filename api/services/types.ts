/** What the HTTP layer needs from the rest of the system; implemented in services over db/ and Redis. */

export interface DependencyHealth {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

export interface CameraView {
  id: number;
  code: string;
  name: string;
  location: string;
  enabled: boolean;
  state: 'starting' | 'up' | 'down';
  reason: string | null;
  lastFrameAt: string | null;
  fpsReceived: number;
  framesReceived: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  database: DependencyHealth;
  redis: DependencyHealth;
  cameras: { code: string; state: CameraView['state'] }[];
}

export interface ViolationQuery {
  cameraId?: number | undefined;
  ruleCode?: string | undefined;
  status?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface EvidenceView {
  kind: string;
  mediaType: string;
  sha256: string;
  sizeBytes: number;
  url: string;
}

export interface ViolationView {
  id: number;
  cameraId: number;
  cameraCode: string;
  ruleCode: string;
  status: string;
  observedAt: string;
  vehicleClass: string;
  plate: string | null;
  sceneConfigVersion: number;
  details: Record<string, unknown>;
  evidence: EvidenceView[];
  createdAt: string;
}

export interface ViolationPage {
  items: ViolationView[];
  /** All violations matching the filter. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface ApiServices {
  health(): Promise<HealthReport>;
  listCameras(): Promise<CameraView[]>;
  listViolations(q: ViolationQuery): Promise<ViolationPage>;
  getViolation(id: number): Promise<ViolationView | undefined>;
  /** Evidence bytes by sha256 for an asset that belongs to a violation. */
  readEvidence(
    violationId: number,
    sha256: string,
  ): Promise<{ mediaType: string; bytes: Buffer } | undefined>;
  metrics(): Promise<{ contentType: string; body: string }>;
}
