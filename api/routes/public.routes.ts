import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import type { RouteTable } from '../route-table.js';
import { MEDIA_TOKEN_FORMAT } from '../security/media-token.js';
import { NONCE_FORMAT, POW_ALGORITHM } from '../security/proof-of-work.js';
import { comparablePlate, VEHICLE_TYPES } from '../services/public-lookup.service.js';
import type { ApiServices } from '../services/types.js';

/**
 * The citizen lookup, anonymous by design (roles ['public']): it acts on no session, so it is exempt
 * from the CSRF check (csrf: false) — a forged cross-site request would gain nothing a direct one does
 * not, and still has to pay the proof of work. Plates travel in POST bodies, never in URLs (which end
 * up in proxy and browser logs). Every answer is no-store.
 */

const plateField = z
  .string()
  .max(24)
  .refine((s) => /^[A-Z0-9]{4,12}$/.test(comparablePlate(s)), 'a plate has 4 to 12 letters and digits')
  .describe("as printed or typed: '30A-123.45', '29-MĐ1 013.53' (Đ may be typed as D)");

export const challengeAnswer = z.object({
  algorithm: z.literal(POW_ALGORITHM),
  challenge: z.string(),
  bits: z.number().int(),
  expiresAt: z.string(),
});

export const lookupBody = z.strictObject({
  plate: plateField,
  vehicleType: z.enum(VEHICLE_TYPES).describe('car (Decree 168 Art 6) or motorbike (Art 7)'),
  challenge: z.string().max(200).describe('from GET /api/public/challenge, used once'),
  nonce: z
    .string()
    .regex(NONCE_FORMAT)
    .describe('SHA-256("<challenge>:<nonce>") must start with `bits` zero bits'),
});

const unit = z.object({ name: z.string(), phone: z.string(), address: z.string() }).nullable();
const place = z.object({ name: z.string(), address: z.string() });

export const lookupAnswer = z.object({
  plate: z.string(),
  vehicleType: z.enum(VEHICLE_TYPES),
  checkedAt: z.string(),
  items: z.array(
    z.strictObject({
      observedAt: z.string(),
      vehicleType: z.enum(VEHICLE_TYPES),
      plate: z.string(),
      plateColor: z.string().nullable(),
      place,
      behaviour: z.object({ code: z.string(), vi: z.string(), en: z.string() }),
      status: z.object({ code: z.string(), vi: z.string(), en: z.string() }),
      fine: z
        .object({
          minVnd: z.number(),
          maxVnd: z.number(),
          decidedVnd: z.number().nullable(),
          points: z.number(),
          legalBasis: z.string(),
          citation: z.string(),
          provisional: z.boolean(),
        })
        .nullable(),
      detectingUnit: z.string().nullable(),
      resolvingUnit: unit,
      thumbnailUrl: z.string().nullable(),
    }),
  ),
});

export const ownerBody = z.strictObject({
  noticeCode: z.string().min(1).max(64).describe('printed on the notice, e.g. TB-7M2Q-K9XD-4HRT-0BNE-WS3C'),
  plate: plateField,
});

export const ownerAnswer = z.object({
  noticeCode: z.string(),
  state: z.string(),
  plate: z.string(),
  observedAt: z.string(),
  place,
  ruleCode: z.string(),
  fine: z.object({
    amountVnd: z.number(),
    minVnd: z.number().nullable(),
    maxVnd: z.number().nullable(),
    points: z.number(),
    legalBasis: z.string(),
    citation: z.string(),
  }),
  issuedAt: z.string().nullable(),
  dueAt: z.string().nullable(),
  resolvingUnit: unit,
  evidence: z.array(
    z.object({
      kind: z.string(),
      mediaType: z.string(),
      sha256: z.string(),
      sizeBytes: z.number(),
      url: z.string(),
    }),
  ),
  verification: z.object({
    ok: z.boolean(),
    signature: z.object({ ok: z.boolean(), keyId: z.string().nullable(), pinned: z.boolean() }),
    problems: z.array(z.string()),
  }),
});

/** The client a rate limit counts: the caller's address (through a loopback proxy, the forwarded one). */
function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function registerPublicRoutes(routes: RouteTable, services: ApiServices): void {
  const svc = services.publicLookup;

  routes.add(
    {
      method: 'get',
      path: '/api/public/challenge',
      roles: ['public'],
      summary: 'A proof-of-work challenge for one citizen lookup',
      description:
        'Find a nonce such that SHA-256("<challenge>:<nonce>") starts with `bits` zero bits, then send both with the lookup. A challenge is signed by the server, expires at `expiresAt` and works once. Rate-limited per client.',
      tags: ['public'],
      response: { status: 200, description: 'A challenge', schema: challengeAnswer },
      errors: [429, 503],
    },
    async ({ req, res }) => {
      const challenge = await svc.challenge(clientOf(req));
      res.setHeader('Cache-Control', 'no-store');
      res.json(challenge);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/public/lookup',
      roles: ['public'],
      csrf: false,
      summary: 'Citizen lookup: the approved violations of a plate and vehicle type',
      description:
        'The public listing of Circular 73/2024 Art 24 (time, place, behaviour, status, fine range and legal basis, detecting and resolving unit with its phone) and a thumbnail link in which only the vehicle is sharp. Never owner data. Needs a solved proof-of-work challenge; rate-limited per client (429 with Retry-After). A plate with no violations gets the same answer shape, after the same minimum time.',
      tags: ['public'],
      body: lookupBody,
      response: { status: 200, description: 'The listing (items may be empty)', schema: lookupAnswer },
      errors: [429, 503],
    },
    async ({ req, res, body }) => {
      const answer = await svc.lookup(clientOf(req), body);
      res.setHeader('Cache-Control', 'no-store');
      res.json(answer);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/public/owner',
      roles: ['public'],
      csrf: false,
      summary: "Owner view: a notice's full evidence, by notice code and plate",
      description:
        'For the recipient of a notice: the stills, crops, clip and manifest (links that expire), and the result of re-verifying the manifest (hashes and signature). The notice code is random (100 bits) and must match the plate. Rate-limited per client; every view and file read is recorded in the audit log.',
      tags: ['public'],
      body: ownerBody,
      response: { status: 200, description: 'The case and its evidence', schema: ownerAnswer },
      errors: [404, 429, 503],
    },
    async ({ req, res, body }) => {
      const answer = await svc.ownerView(clientOf(req), body);
      res.setHeader('Cache-Control', 'no-store');
      if (!answer) throw new AppError('not_found', 'no notice with this code for this plate');
      res.json(answer);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/public/media/:token',
      roles: ['public'],
      summary: 'A thumbnail or evidence file behind a signed link from the lookup or the owner view',
      description:
        'Links are encrypted and expire (PUBLIC_MEDIA_URL_TTL_SECONDS); they cannot be made up or enumerated. A thumbnail shows only the offending vehicle sharp; everything else is blurred.',
      tags: ['public'],
      params: z.strictObject({ token: z.string().regex(MEDIA_TOKEN_FORMAT) }),
      response: { status: 200, description: 'image/jpeg, video/mp4 or application/json' },
      errors: [404, 429],
    },
    async ({ req, res, params }) => {
      const media = await svc.media(clientOf(req), params.token);
      if (!media) throw new AppError('not_found', 'no such media, or the link has expired');
      res.setHeader('Cache-Control', `private, max-age=${media.maxAgeSeconds}`);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type(media.mediaType).send(media.bytes);
    },
  );
}
