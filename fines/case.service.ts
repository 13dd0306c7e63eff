import { AppError } from '../core/errors.js';
import { inTransaction } from '../db/database.js';
import { appendAudit } from '../db/repositories/audit.repository.js';
import { listAssets } from '../db/repositories/evidence.repository.js';
import {
  createNotice,
  getCaseRecord,
  getNoticeByViolationId,
  listCaseRecords,
  listCasesDue,
  transitionNotice,
  type CaseRecord,
  type Notice,
  type NoticeChanges,
} from '../db/repositories/notice.repository.js';
import { addPayment, listPayments, type Payment } from '../db/repositories/payment.repository.js';
import { getPoliceUnit, listPublicHolidays } from '../db/repositories/police-unit.repository.js';
import { findSanction, sanctionVehicleClass } from '../db/repositories/sanction-rule.repository.js';
import { createPostgresVehicleRegistry } from '../db/repositories/vehicle-registration.repository.js';
import { updateViolationStatus, type ViolationScope } from '../db/repositories/violation.repository.js';
import type {
  Db,
  DbExecutor,
  JsonObject,
  NoticeState,
  OffenderKind,
  PaymentMethod,
  ViolationStatus,
} from '../db/schema.js';
import {
  allowedActions,
  caseDeadlines,
  defaultFine,
  newNoticeCode,
  planCaseTransition,
  type CaseAction,
  type CaseFacts,
  type CasePlan,
} from './case-machine.js';
import { dayString, OverpaymentError, replayLedger, vnDay } from './legal-time.js';
import { renderNoticeHtml } from './notice-html.js';
import type { RegisteredVehicle, VehicleRegistry } from './vehicle-registry.js';

/**
 * Fine cases: opened when a violation is approved (with the sanction in force at its capture time),
 * moved through the procedure by staff actions and by the deadline sweep, paid, and printed as a
 * notice. Each change is one transaction: compare-and-set on notice.state, the violation's status, and
 * an audit entry. Owner data comes only from the VehicleRegistry, is read only to issue or print a
 * notice, each read is audited (`owner.read`), and it is never stored, logged or queued.
 */

/** Who acts, for audit and scope (built by the API from the principal, or 'system:…' for the sweep). */
export interface CaseActor {
  actor: string;
  userId: number | null;
  /** The cameras the actor may see; undefined: all. */
  scope?: ViolationScope | undefined;
}

export interface CaseSanctionView {
  ruleId: number | null;
  legalBasis: string;
  citation: string;
  descriptionVi: string | null;
  description: string | null;
  fineMinVnd: number | null;
  fineMaxVnd: number | null;
  /** The default (midpoint) until a decision, then the decided fine. */
  fineAmountVnd: number;
  points: number;
  provisional: boolean;
}

export interface CaseView {
  id: number;
  violationId: number;
  noticeCode: string;
  state: NoticeState;
  plate: string;
  vehicleClass: string;
  ruleCode: string;
  observedAt: string;
  cameraCode: string;
  unit: string | null;
  sanction: CaseSanctionView;
  offenderKind: OffenderKind | null;
  decisionNumber: string | null;
  fineReason: string | null;
  cancelReason: string | null;
  times: {
    createdAt: string;
    issuedAt: string | null;
    deliveredAt: string | null;
    escalatedAt: string | null;
    respondedAt: string | null;
    decidedAt: string | null;
    paidAt: string | null;
    cancelledAt: string | null;
    expiredAt: string | null;
  };
  deadlines: {
    noticeBy: string;
    escalateAfter: string | null;
    recordBy: string | null;
    payBy: string | null;
    limitationEndsAt: string;
  };
  allowedActions: CaseAction[];
}

export interface PaymentView {
  id: number;
  amountVnd: number;
  principalVnd: number;
  interestVnd: number;
  daysLate: number;
  method: PaymentMethod;
  reference: string;
  paidAt: string;
  recordedBy: string;
}

export interface CaseDetailView extends CaseView {
  payments: PaymentView[];
  /** What is owed now (fine and late interest), once there is a decision. */
  balance: {
    principalOutstandingVnd: number;
    interestOutstandingVnd: number;
    owedVnd: number;
    daysLate: number;
  } | null;
}

export interface CasePage {
  items: CaseView[];
  nextCursor: string | null;
}

/** The result of approving a violation, for the review answer. */
export type OpenCaseResult =
  | {
      opened: true;
      created: boolean;
      caseId: number;
      noticeCode: string;
      state: NoticeState;
      sanction: CaseSanctionView;
    }
  | { opened: false; reason: 'no_plate' | 'vehicle_class_not_fined' | 'no_sanction_rule' };

export type StaffAction = 'issue' | 'deliver' | 'escalate' | 'respond' | 'decide' | 'cancel';

export interface StaffActionInput {
  /** deliver, respond: when it happened, if earlier than now (not in the future). */
  at?: Date | undefined;
  /** decide */
  decisionNumber?: string | undefined;
  fineAmountVnd?: number | undefined;
  /** decide: why the fine is not the midpoint; cancel: why the case is cancelled. */
  reason?: string | undefined;
}

export interface PaymentInput {
  amountVnd: number;
  method: PaymentMethod;
  reference: string;
  paidAt: Date;
}

export interface DeadlineSweepResult {
  escalated: number;
  overdue: number;
  expired: number;
  /** Cases looked at and left as they were (a deadline not reached on the exact day). */
  unchanged: number;
}

export interface CaseService {
  list(
    actor: CaseActor,
    q: { states?: NoticeState[]; cameraId?: number; limit: number; cursor?: string },
  ): Promise<CasePage>;
  get(actor: CaseActor, id: number): Promise<CaseDetailView>;
  act(actor: CaseActor, id: number, action: StaffAction, input: StaffActionInput): Promise<CaseDetailView>;
  recordPayment(
    actor: CaseActor,
    id: number,
    p: PaymentInput,
  ): Promise<{ payment: PaymentView; case: CaseDetailView }>;
  /** The printable notice (HTML); reads the owner from the registry (audited). */
  renderNotice(actor: CaseActor, id: number): Promise<string>;
  /** Escalations, overdue payments and expiries whose time has come. */
  runDeadlines(actor: string, now?: Date): Promise<DeadlineSweepResult>;
}

export interface CaseServiceOptions {
  /** Default: the local vehicle_registration table. */
  registry?: VehicleRegistry;
  /** Printed on the notice: where the owner can look the case up with its code. */
  lookupUrl?: string | null;
  /** The clock (tests). */
  now?: () => Date;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function sanctionOf(
  n: Notice,
  rec?: { descriptionVi: string | null; description: string | null },
): CaseSanctionView {
  return {
    ruleId: n.sanctionRuleId,
    legalBasis: n.legalBasis,
    citation: n.citation,
    descriptionVi: rec?.descriptionVi ?? null,
    description: rec?.description ?? null,
    fineMinVnd: n.fineMinVnd,
    fineMaxVnd: n.fineMaxVnd,
    fineAmountVnd: n.fineAmountVnd,
    points: n.points,
    provisional: n.provisional,
  };
}

function factsOf(c: CaseRecord): CaseFacts {
  return {
    state: c.state,
    observedAt: c.observedAt,
    issuedAt: c.issuedAt,
    respondedAt: c.respondedAt,
    decidedAt: c.decidedAt,
    dueAt: c.dueAt,
    // Notices made before cases have no stored range: the amount is the range.
    fineMinVnd: c.fineMinVnd ?? c.fineAmountVnd,
    fineMaxVnd: c.fineMaxVnd ?? c.fineAmountVnd,
  };
}

function toPaymentView(p: Payment): PaymentView {
  return {
    id: p.id,
    amountVnd: p.amountVnd,
    principalVnd: p.principalVnd,
    interestVnd: p.interestVnd,
    daysLate: p.daysLate,
    method: p.method,
    reference: p.reference,
    paidAt: p.paidAt.toISOString(),
    recordedBy: p.recordedBy,
  };
}

/** Holidays around a case's whole life (from the violation to a few weeks after its limitation). */
async function holidaysFor(db: DbExecutor, observedAt: Date): Promise<Set<string>> {
  const first = vnDay(observedAt);
  return listPublicHolidays(db, dayString(first), dayString(first + 430));
}

function toCaseView(c: CaseRecord, holidays: ReadonlySet<string>): CaseView {
  const d = caseDeadlines(factsOf(c), holidays);
  return {
    id: c.id,
    violationId: c.violationId,
    noticeCode: c.noticeCode,
    state: c.state,
    plate: c.plate,
    vehicleClass: c.vehicleClass,
    ruleCode: c.ruleCode,
    observedAt: c.observedAt.toISOString(),
    cameraCode: c.cameraCode,
    unit: c.cameraUnit,
    sanction: sanctionOf(c, c),
    offenderKind: c.offenderKind,
    decisionNumber: c.decisionNumber,
    fineReason: c.fineReason,
    cancelReason: c.cancelReason,
    times: {
      createdAt: c.createdAt.toISOString(),
      issuedAt: iso(c.issuedAt),
      deliveredAt: iso(c.deliveredAt),
      escalatedAt: iso(c.escalatedAt),
      respondedAt: iso(c.respondedAt),
      decidedAt: iso(c.decidedAt),
      paidAt: iso(c.paidAt),
      cancelledAt: iso(c.cancelledAt),
      expiredAt: iso(c.expiredAt),
    },
    deadlines: {
      noticeBy: d.noticeBy.toISOString(),
      escalateAfter: iso(d.escalateAfter),
      recordBy: iso(d.recordBy),
      payBy: iso(d.payBy),
      limitationEndsAt: d.limitationEndsAt.toISOString(),
    },
    allowedActions: allowedActions(c.state),
  };
}

function inScope(
  scope: ViolationScope | undefined,
  c: { cameraCode: string; cameraUnit: string | null },
): boolean {
  if (scope === undefined) return true;
  return (
    scope.cameraCodes.includes(c.cameraCode) || (c.cameraUnit !== null && scope.units.includes(c.cameraUnit))
  );
}

/** The violation status that goes with a case state (undefined: unchanged). */
const VIOLATION_STATUS_AFTER: Partial<Record<NoticeState, { from: ViolationStatus[]; to: ViolationStatus }>> =
  {
    issued: { from: ['approved'], to: 'notified' },
    paid: { from: ['approved', 'notified'], to: 'closed' },
    cancelled: { from: ['approved', 'notified'], to: 'closed' },
    expired: { from: ['approved', 'notified'], to: 'expired' },
  };

function speedExcess(details: JsonObject): number | undefined {
  const v = details['speedExcessKmh'];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Opens the case of a violation just approved, in the caller's transaction: the sanction rule in force
 * at the capture time (Decree 168/2024 Art 54.1: the text in force on the day of the violation), its
 * range and default fine (the midpoint), points and citation, provisional rows flagged. Idempotent per
 * violation. When no rule applies, no case is opened and the reason is returned (and audited): the
 * case must then be handled by hand, never with a guessed amount.
 */
export async function openCaseForViolation(
  trx: DbExecutor,
  v: {
    id: number;
    ruleCode: string;
    vehicleClass: string;
    observedAt: Date;
    plate: string | null;
    details: JsonObject;
  },
  actor: string,
): Promise<OpenCaseResult> {
  const existing = await getNoticeByViolationId(trx, v.id);
  if (existing) {
    return {
      opened: true,
      created: false,
      caseId: existing.id,
      noticeCode: existing.noticeCode,
      state: existing.state,
      sanction: sanctionOf(existing),
    };
  }
  const refuse = async (reason: 'no_plate' | 'vehicle_class_not_fined' | 'no_sanction_rule') => {
    await appendAudit(trx, {
      actor,
      action: 'case.not_opened',
      entityType: 'violation',
      entityId: v.id,
      details: { reason, ruleCode: v.ruleCode, vehicleClass: v.vehicleClass },
    });
    return { opened: false as const, reason };
  };
  if (v.plate === null) return refuse('no_plate');
  const sanctionClass = sanctionVehicleClass(v.vehicleClass);
  if (!sanctionClass) return refuse('vehicle_class_not_fined');
  const excess = speedExcess(v.details);
  const rule = await findSanction(
    trx,
    v.ruleCode,
    sanctionClass,
    v.observedAt,
    excess === undefined ? {} : { speedExcessKmh: excess },
  );
  if (!rule) return refuse('no_sanction_rule');
  const { notice } = await createNotice(trx, {
    violationId: v.id,
    noticeCode: newNoticeCode(),
    plate: v.plate,
    vehicleClass: v.vehicleClass,
    sanctionRuleId: rule.id,
    fineMinVnd: rule.fineMinVnd,
    fineMaxVnd: rule.fineMaxVnd,
    fineAmountVnd: defaultFine(rule.fineMinVnd, rule.fineMaxVnd),
    points: rule.points,
    legalBasis: rule.legalBasis,
    citation: rule.citation,
    provisional: rule.provisional,
  });
  await appendAudit(trx, {
    actor,
    action: 'case.open',
    entityType: 'notice',
    entityId: notice.id,
    details: {
      violationId: v.id,
      sanctionRuleId: rule.id,
      citation: rule.citation,
      legalBasis: rule.legalBasis,
      fineMinVnd: rule.fineMinVnd,
      fineMaxVnd: rule.fineMaxVnd,
      fineAmountVnd: notice.fineAmountVnd,
      points: rule.points,
      provisional: rule.provisional,
    },
  });
  return {
    opened: true,
    created: true,
    caseId: notice.id,
    noticeCode: notice.noticeCode,
    state: notice.state,
    sanction: sanctionOf(notice, { descriptionVi: rule.descriptionVi, description: rule.description }),
  };
}

/**
 * Reads the registered owner through the registry for a purpose, recording the read (who, which case,
 * why, found or not; never the data) in the audit log in the same transaction. Nothing is returned
 * unless the audit entry was written.
 */
async function readOwner(
  trx: DbExecutor,
  registry: VehicleRegistry,
  c: CaseRecord,
  actor: string,
  purpose: 'notice.issue' | 'notice.render',
): Promise<RegisteredVehicle | undefined> {
  const sanctionClass = sanctionVehicleClass(c.vehicleClass);
  const owner = sanctionClass ? await registry.lookup(c.plate, sanctionClass) : undefined;
  await appendAudit(trx, {
    actor,
    action: 'owner.read',
    entityType: 'notice',
    entityId: c.id,
    details: { purpose, registry: registry.source, violationId: c.violationId, found: owner !== undefined },
  });
  return owner;
}

export function createCaseService(db: Db, options: CaseServiceOptions = {}): CaseService {
  const registry = options.registry ?? createPostgresVehicleRegistry(db);
  const now = options.now ?? (() => new Date());

  const load = async (trx: DbExecutor, actor: CaseActor, id: number): Promise<CaseRecord> => {
    const c = await getCaseRecord(trx, id);
    if (!c || !inScope(actor.scope, c)) throw new AppError('not_found', 'no such case');
    return c;
  };

  const detail = async (trx: DbExecutor, c: CaseRecord, at: Date): Promise<CaseDetailView> => {
    const [holidays, payments] = await Promise.all([holidaysFor(trx, c.observedAt), listPayments(trx, c.id)]);
    const balance =
      c.dueAt && c.decidedAt
        ? replayLedger(
            c.fineAmountVnd,
            c.dueAt,
            payments.map((p) => ({ amountVnd: p.amountVnd, paidAt: p.paidAt })),
            c.state === 'paid' && c.paidAt ? c.paidAt : at,
          )
        : null;
    return {
      ...toCaseView(c, holidays),
      payments: payments.map(toPaymentView),
      balance: balance && {
        principalOutstandingVnd: balance.principalOutstandingVnd,
        interestOutstandingVnd: balance.interestOutstandingVnd,
        owedVnd: balance.owedVnd,
        daysLate: balance.daysLate,
      },
    };
  };

  /** Applies a plan: compare-and-set on the case, the violation status, the audit entry. */
  const apply = async (
    trx: DbExecutor,
    c: CaseRecord,
    plan: CasePlan,
    actor: string,
    extra: { set?: NoticeChanges; details?: JsonObject } = {},
  ): Promise<void> => {
    const moved = await transitionNotice(trx, c.id, {
      from: plan.from,
      to: plan.to,
      set: { ...plan.set, ...extra.set },
    });
    if (!moved)
      throw new AppError('conflict', `the case changed meanwhile (it is no longer ${plan.from}); reload it`);
    const status = VIOLATION_STATUS_AFTER[plan.to];
    if (status) await updateViolationStatus(trx, c.violationId, status);
    await appendAudit(trx, {
      actor,
      action: `case.${plan.action}`,
      entityType: 'notice',
      entityId: c.id,
      details: {
        violationId: c.violationId,
        from: plan.from,
        to: plan.to,
        ...(plan.late.length > 0 && { late: plan.late }),
        ...extra.details,
      },
    });
  };

  return {
    async list(actor, q) {
      const beforeId = q.cursor === undefined ? undefined : Number(q.cursor);
      if (beforeId !== undefined && (!Number.isSafeInteger(beforeId) || beforeId < 1)) {
        throw new AppError('bad_request', 'invalid cursor');
      }
      const rows = await listCaseRecords(db, {
        ...(actor.scope !== undefined && { scope: actor.scope }),
        ...(q.states !== undefined && { states: q.states }),
        ...(q.cameraId !== undefined && { cameraId: q.cameraId }),
        ...(beforeId !== undefined && { beforeId }),
        limit: q.limit + 1,
      });
      const items = rows.slice(0, q.limit);
      // Plates are personal data: the read is recorded with the ids shown.
      await appendAudit(db, {
        actor: actor.actor,
        action: 'case.list',
        entityType: 'notice',
        details: { ids: items.map((c) => c.id) },
      });
      const days = items.map((c) => vnDay(c.observedAt));
      const holidays =
        days.length === 0
          ? new Set<string>()
          : await listPublicHolidays(db, dayString(Math.min(...days)), dayString(Math.max(...days) + 430));
      return {
        items: items.map((c) => toCaseView(c, holidays)),
        nextCursor: rows.length > q.limit && items.length > 0 ? String(items.at(-1)!.id) : null,
      };
    },

    async get(actor, id) {
      const c = await load(db, actor, id);
      await appendAudit(db, { actor: actor.actor, action: 'case.view', entityType: 'notice', entityId: id });
      return detail(db, c, now());
    },

    async act(actor, id, action, input) {
      const at = now();
      if (input.at !== undefined && input.at > at)
        throw new AppError('bad_request', 'the time given is in the future');
      if (action === 'decide' && !input.decisionNumber) {
        throw new AppError('bad_request', 'a decision needs its number (số quyết định)');
      }
      return inTransaction(db, async (trx) => {
        const c = await load(trx, actor, id);
        const holidays = await holidaysFor(trx, c.observedAt);
        const when = (action === 'deliver' || action === 'respond') && input.at ? input.at : at;
        const plan = planCaseTransition(factsOf(c), action, {
          at: when,
          holidays,
          ...(action === 'decide' && {
            decision: {
              decisionNumber: input.decisionNumber ?? '',
              fineAmountVnd: input.fineAmountVnd,
              reason: input.reason,
            },
          }),
          ...(action === 'cancel' && { reason: input.reason }),
        });
        let extra: { set?: NoticeChanges; details?: JsonObject } = {};
        if (action === 'issue') extra = await issueExtras(trx, c, actor.actor, actor.userId);
        if (action === 'escalate') extra = { details: { notify: escalationRecipients(c.vehicleClass) } };
        if (action === 'decide') {
          extra = {
            details: {
              fineAmountVnd: plan.set.fineAmountVnd ?? null,
              decisionNumber: input.decisionNumber ?? null,
            },
          };
        }
        if (action === 'cancel') extra = { details: { reason: plan.set.cancelReason ?? null } };
        await apply(trx, c, plan, actor.actor, extra);
        return detail(trx, await load(trx, actor, id), at);
      });
    },

    async recordPayment(actor, id, p) {
      const at = now();
      if (p.paidAt > at) throw new AppError('bad_request', 'paidAt is in the future');
      return inTransaction(db, async (trx) => {
        const c = await load(trx, actor, id);
        if (c.state !== 'decided' && c.state !== 'overdue') {
          throw new AppError(
            'conflict',
            `a case that is ${c.state} takes no payment (only decided or overdue cases)`,
          );
        }
        if (!c.decidedAt || !c.dueAt)
          throw new AppError('internal', 'a decided case without its decision time');
        if (p.paidAt < c.decidedAt) throw new AppError('bad_request', 'paidAt is before the decision');
        const previous = await listPayments(trx, c.id);
        const last = previous.at(-1);
        if (last && p.paidAt < last.paidAt) {
          throw new AppError(
            'bad_request',
            `paidAt is before the last payment recorded (${last.paidAt.toISOString()})`,
          );
        }
        let ledger;
        try {
          ledger = replayLedger(
            c.fineAmountVnd,
            c.dueAt,
            [...previous, p].map((x) => ({ amountVnd: x.amountVnd, paidAt: x.paidAt })),
            p.paidAt,
          );
        } catch (err) {
          if (err instanceof OverpaymentError) {
            throw new AppError(
              'bad_request',
              `the payment exceeds what is owed on that day: ${err.owedVnd} VND`,
            );
          }
          throw err;
        }
        const split = ledger.allocations.at(-1)!;
        const payment = await addPayment(trx, {
          noticeId: c.id,
          amountVnd: p.amountVnd,
          principalVnd: split.principalVnd,
          interestVnd: split.interestVnd,
          daysLate: split.daysLate,
          method: p.method,
          reference: p.reference,
          paidAt: p.paidAt,
          recordedBy: actor.actor,
        });
        await appendAudit(trx, {
          actor: actor.actor,
          action: 'case.payment',
          entityType: 'notice',
          entityId: c.id,
          details: {
            paymentId: payment.id,
            amountVnd: payment.amountVnd,
            principalVnd: payment.principalVnd,
            interestVnd: payment.interestVnd,
            daysLate: payment.daysLate,
            method: payment.method,
            owedVnd: ledger.owedVnd,
          },
        });
        if (ledger.owedVnd === 0) {
          const plan = planCaseTransition(factsOf(c), 'settle', {
            at: p.paidAt,
            holidays: new Set(),
            owedVnd: 0,
          });
          await apply(trx, c, plan, actor.actor, {
            // Paying from an escalated notice also lifts the warning to the registration agencies.
            details: { warningLifted: c.escalatedAt !== null },
          });
        }
        return { payment: toPaymentView(payment), case: await detail(trx, await load(trx, actor, id), at) };
      });
    },

    async renderNotice(actor, id) {
      return inTransaction(db, async (trx) => {
        const c = await load(trx, actor, id);
        if (c.state === 'cancelled' || c.state === 'expired') {
          throw new AppError('conflict', `the case is ${c.state}: there is no notice to print`);
        }
        const unit = c.cameraUnit ? await getPoliceUnit(trx, c.cameraUnit) : undefined;
        if (!unit) {
          throw new AppError(
            'conflict',
            `camera ${c.cameraCode} has no police unit with an address and phone: set one first`,
          );
        }
        const owner = await readOwner(trx, registry, c, actor.actor, 'notice.render');
        if (!owner) {
          throw new AppError(
            'conflict',
            'the registry has no owner for this plate and vehicle class: identify the owner by hand',
          );
        }
        const [holidays, evidence] = await Promise.all([
          holidaysFor(trx, c.observedAt),
          listAssets(trx, c.violationId),
        ]);
        const d = caseDeadlines(factsOf(c), holidays);
        const details = c.violationDetails;
        const measurement =
          typeof details['measuredKmh'] === 'number'
            ? `Tốc độ đo được ${String(details['measuredKmh'])} km/h; tốc độ tối đa cho phép ${String(details['limitKmh'])} km/h; sai số thiết bị ${String(details['toleranceKmh'])} km/h`
            : null;
        return renderNoticeHtml({
          noticeCode: c.noticeCode,
          state: c.state,
          issuedAt: c.issuedAt,
          printedAt: now(),
          violation: {
            id: c.violationId,
            observedAt: c.observedAt,
            cameraCode: c.cameraCode,
            cameraName: c.cameraName,
            location: c.cameraLocation,
            ruleCode: c.ruleCode,
            behaviour: c.descriptionVi ?? c.description ?? c.ruleCode,
            plate: c.plate,
            plateColor: c.plateColor,
            vehicleClass: c.vehicleClass,
            measurement,
          },
          sanction: {
            legalBasis: c.legalBasis,
            citation: c.citation,
            fineMinVnd: c.fineMinVnd ?? c.fineAmountVnd,
            fineMaxVnd: c.fineMaxVnd ?? c.fineAmountVnd,
            fineAmountVnd: c.fineAmountVnd,
            decided: c.decidedAt !== null,
            points: c.points,
            provisional: c.provisional,
          },
          owner: { name: owner.ownerName, address: owner.ownerAddress, kind: owner.ownerKind },
          unit: { name: unit.name, address: unit.address, phone: unit.phone },
          deadlines: { respondBy: d.escalateAfter, payBy: d.payBy, limitationEndsAt: d.limitationEndsAt },
          evidence: evidence.map((a) => ({ kind: a.kind, sha256: a.sha256 })),
          lookupUrl: options.lookupUrl ?? null,
        });
      });
    },

    async runDeadlines(actor, at = now()) {
      const result: DeadlineSweepResult = { escalated: 0, overdue: 0, expired: 0, unchanged: 0 };
      const due = await listCasesDue(db, {
        escalateIssuedBefore: new Date(at.getTime() - 20 * 86_400_000),
        payDueBefore: at,
        limitationObservedBefore: new Date(at.getTime() - 365 * 86_400_000),
        limit: 1000,
      });
      for (const n of due) {
        await inTransaction(db, async (trx) => {
          const c = await getCaseRecord(trx, n.id);
          if (!c) return;
          const holidays = await holidaysFor(trx, c.observedAt);
          const facts = factsOf(c);
          const d = caseDeadlines(facts, holidays);
          let action: CaseAction | undefined;
          if (at > d.limitationEndsAt && allowedActions(c.state).includes('expire')) action = 'expire';
          else if (c.state === 'decided' && d.payBy && at > d.payBy) action = 'mark_overdue';
          else if (
            (c.state === 'issued' || c.state === 'delivered') &&
            d.escalateAfter &&
            at > d.escalateAfter
          ) {
            action = 'escalate';
          }
          if (!action) {
            result.unchanged++;
            return;
          }
          const plan = planCaseTransition(facts, action, { at, holidays });
          const moved = await transitionNotice(trx, c.id, { from: plan.from, to: plan.to, set: plan.set });
          if (!moved) {
            result.unchanged++; // moved by someone else meanwhile
            return;
          }
          const status = VIOLATION_STATUS_AFTER[plan.to];
          if (status) await updateViolationStatus(trx, c.violationId, status);
          await appendAudit(trx, {
            actor,
            action: `case.${plan.action}`,
            entityType: 'notice',
            entityId: c.id,
            details: {
              violationId: c.violationId,
              from: plan.from,
              to: plan.to,
              automatic: true,
              ...(action === 'escalate' && { notify: escalationRecipients(c.vehicleClass) }),
            },
          });
          if (action === 'expire') result.expired++;
          else if (action === 'mark_overdue') result.overdue++;
          else result.escalated++;
        });
      }
      return result;
    },
  };

  /** Issuing: the owner identified in the registry (audited), the resolving unit known; fines doubled for an organisation. */
  async function issueExtras(
    trx: DbExecutor,
    c: CaseRecord,
    actor: string,
    userId: number | null,
  ): Promise<{ set: NoticeChanges; details: JsonObject }> {
    const unit = c.cameraUnit ? await getPoliceUnit(trx, c.cameraUnit) : undefined;
    if (!unit) {
      throw new AppError(
        'conflict',
        `camera ${c.cameraCode} has no police unit with an address and phone: set one first`,
      );
    }
    const owner = await readOwner(trx, registry, c, actor, 'notice.issue');
    if (!owner) {
      throw new AppError(
        'conflict',
        'the registry has no owner for this plate and vehicle class: identify the owner by hand before issuing',
      );
    }
    const factor = owner.ownerKind === 'organisation' ? 2 : 1;
    const min = (c.fineMinVnd ?? c.fineAmountVnd) * factor;
    const max = (c.fineMaxVnd ?? c.fineAmountVnd) * factor;
    return {
      set: {
        offenderKind: owner.ownerKind,
        issuedBy: userId,
        ...(factor !== 1 && { fineMinVnd: min, fineMaxVnd: max, fineAmountVnd: defaultFine(min, max) }),
      },
      details: { offenderKind: owner.ownerKind, unit: unit.code, fineAmountVnd: defaultFine(min, max) },
    };
  }
}

/** Who is warned when a notice goes unanswered (Circular 73/2024 Art 24, as the law notes summarise it). */
export function escalationRecipients(vehicleClass: string): string[] {
  return sanctionVehicleClass(vehicleClass) === 'motorbike'
    ? ['vehicle_registration', 'commune_police']
    : ['vehicle_registration', 'vehicle_inspection'];
}
