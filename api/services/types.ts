/** What the HTTP layer needs from the rest of the system; implemented in services over db/ and Redis. */
import type { CaseService, OpenCaseResult } from '../../fines/case.service.js';
import type { QueueStats } from '../../pipeline/queue-stats.js';
import type { Principal, Viewer } from '../principal.js';
import type { HolidayService } from './holiday.service.js';
import type { PublicLookupService } from './public-lookup.service.js';
import type { Decision, SecondReviewReason } from './review-policy.js';
import type { SceneService } from './scene.service.js';
import type { SignalService } from './signal.service.js';

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
  /** When the camera entered its state, when known (ISO time). */
  stateSince: string | null;
  /** Down for longer than the alert threshold (30 s). */
  alert: boolean;
  reason: string | null;
  lastFrameAt: string | null;
  fpsReceived: number;
  framesReceived: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
  inferenceMs: number | null;
  violationsFlagged: number;
  /** Violations recorded from this camera in the last hour (database). */
  violationsLastHour: number;
  /** Mean age of a frame when its detections are in, ms: decode, waiting and inference together. */
  lagMs: number | null;
  /** Flags still waiting for their evidence on the ingest worker. */
  pendingEvidence: number;
  /** Flagged vehicles whose plate was read, and how many of them gave a consensus plate (null: no reader). */
  plateAttempts: number | null;
  platesRead: number | null;
  /** The detector serving the camera: model, execution provider in use (and asked for), batch size. */
  detector: {
    model: string;
    provider: string;
    requestedProvider: string;
    maxBatch: number;
  } | null;
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
  plateConfidence: number | null;
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

export interface ReviewView {
  id: number;
  stage: 'first' | 'second';
  decision: 'approve' | 'reject' | 'escalate';
  reasonCode: string | null;
  plateBefore: string | null;
  plateAfter: string | null;
  note: string | null;
  reviewerId: number;
  createdAt: string;
}

export interface ClaimView {
  stage: 'first' | 'second';
  claimedAt: string;
  expiresAt: string;
  /** Held by the caller. */
  mine: boolean;
  /** False once the lease has expired (anyone may take the case). */
  live: boolean;
}

export interface ViolationDetailView extends ViolationView {
  /** Every review, oldest first: the original plate and each correction are on them. */
  reviews: ReviewView[];
  claim: ClaimView | null;
}

export interface ReviewQueueQuery {
  stage: 'first' | 'second';
  cameraId?: number | undefined;
  ruleCode?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  minConfidence?: number | undefined;
  maxConfidence?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface ReviewQueueItemView extends ViolationView {
  claim: ClaimView | null;
}

export interface ReviewQueuePage {
  stage: 'first' | 'second';
  items: ReviewQueueItemView[];
  total: number;
  nextCursor: string | null;
}

export interface ClaimResult {
  violationId: number;
  stage: 'first' | 'second';
  status: string;
  claim: ClaimView;
}

export interface DecisionResult {
  violationId: number;
  status: string;
  review: ReviewView;
  secondReview: { required: boolean; reasons: SecondReviewReason[] };
  /** The fine case opened on approval (null when the decision did not approve). */
  case: OpenCaseResult | null;
}

export interface ReviewService {
  queue(principal: Principal, q: ReviewQueueQuery): Promise<ReviewQueuePage>;
  claim(principal: Principal, violationId: number): Promise<ClaimResult>;
  release(principal: Principal, violationId: number): Promise<void>;
  decide(principal: Principal, violationId: number, decision: Decision): Promise<DecisionResult>;
}

export interface UserView {
  id: number;
  username: string;
  displayName: string;
  unit: string | null;
  roles: { role: string; scope: string }[];
  disabled: boolean;
  /** Set while the account is locked after failed logins. */
  lockedUntil: string | null;
  lastLoginAt: string | null;
}

export interface ApiTokenView {
  id: number;
  userId: number;
  name: string;
  /** The token's first characters, to recognise it. */
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AuthPolicy {
  /** A session unused this long ends. */
  sessionIdleMs: number;
  /** A session ends this long after login, used or not. */
  sessionMaxAgeMs: number;
  /** Consecutive failed logins that lock an account. */
  lockoutThreshold: number;
  lockoutMs: number;
  /** Parameters new password hashes are made with (older hashes are upgraded at the next login). */
  scrypt: { ln: number; r: number; p: number };
}

export interface LoginResult {
  /** The cookie value. Secret. */
  sessionSecret: string;
  csrfToken: string;
  expiresAt: Date;
  user: UserView;
}

export interface IssuedApiToken {
  token: ApiTokenView;
  /** Shown once. */
  secret: string;
}

export interface AuthService {
  readonly policy: Readonly<AuthPolicy>;
  login(input: { username: string; password: string; clientIp: string | null }): Promise<LoginResult>;
  logout(principal: Principal): Promise<void>;
  principalFromSession(secret: string): Promise<Principal | undefined>;
  principalFromApiToken(secret: string): Promise<Principal | undefined>;
  listUsers(): Promise<UserView[]>;
  unlockUser(actor: string, userId: number): Promise<boolean>;
  /** Disabling ends the user's sessions at once; their tokens are refused while disabled. False: no such user. */
  setUserDisabled(actor: string, userId: number, disabled: boolean): Promise<boolean>;
  issueApiToken(
    actor: string,
    userId: number,
    input: { name: string; expiresInDays?: number | undefined },
  ): Promise<IssuedApiToken>;
  listApiTokens(userId: number): Promise<ApiTokenView[]>;
  /** True when revoked (now or before); false when there is no such token. */
  revokeApiToken(actor: string, tokenId: number): Promise<boolean>;
}

export interface ApiServices {
  health(): Promise<HealthReport>;
  listCameras(): Promise<CameraView[]>;
  /** The violations queue's backlog (null when Redis does not answer). */
  queueStats(): Promise<QueueStats | null>;
  /** Violations in the viewer's scope; the read is audited (plates are personal data). */
  listViolations(q: ViolationQuery, viewer: Viewer): Promise<ViolationPage>;
  /** One violation in the viewer's scope with its evidence and reviews; audited. */
  getViolation(id: number, viewer: Viewer): Promise<ViolationDetailView | undefined>;
  /** Evidence bytes by sha256 for an asset that belongs to a violation in the viewer's scope; audited. */
  readEvidence(
    violationId: number,
    sha256: string,
    viewer: Viewer,
  ): Promise<{ mediaType: string; bytes: Buffer } | undefined>;
  metrics(): Promise<{ contentType: string; body: string }>;
  auth: AuthService;
  review: ReviewService;
  /** Fine cases: notices, deadlines, payments (fines/case.service.ts). */
  cases: CaseService;
  /** The citizen lookup and the owner view (anonymous; rate-limited, proof of work). */
  publicLookup: PublicLookupService;
  /**
   * Re-checks a violation's evidence (violations/evidence-verify.ts): every file's sha256 and size, the
   * manifest's signature, and that the database rows are the manifest's files. Audited.
   */
  verifyEvidence(violationId: number, viewer: Viewer): Promise<EvidenceCheckView | undefined>;
  /** Scene configuration versions and live snapshots, for the scene editor. */
  scenes: SceneService;
  /** The external signal feed: controllers' phase changes, stored and relayed to the cameras. */
  signals: SignalService;
  holidays: HolidayService;
}

export interface EvidenceCheckView {
  ok: boolean;
  checkedAt: string;
  manifestSha256: string;
  signature: { ok: boolean; pinned: boolean; keyId?: string | undefined; reason?: string | undefined };
  files: { kind: string; sha256: string; ok: boolean; reason?: string | undefined }[];
  /** The manifest's clip section as written (absent in bundles made before clips). */
  clip?: Record<string, unknown> | undefined;
  /** Every fault, one line each; empty when verified. */
  problems: string[];
}
