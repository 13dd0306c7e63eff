/**
 * The static migration map, in name order. A static map (rather than reading the folder at run time)
 * works the same under tsx, compiled JavaScript and bundlers; an integration test fails when a file in
 * this folder is missing from the map or the map names a file that does not exist.
 *
 * Never edit a landed migration: add a new file and a line here.
 */
import type { Migration } from 'kysely';
import * as m090000 from './2026_11_22_090000_base_functions.js';
import * as m090100 from './2026_11_22_090100_camera_and_scene_config.js';
import * as m090200 from './2026_11_22_090200_violation_evidence_plate_read.js';
import * as m090300 from './2026_11_22_090300_users_and_review.js';
import * as m090400 from './2026_11_22_090400_sanction_rule.js';
import * as m090500 from './2026_11_22_090500_notice.js';
import * as m090600 from './2026_11_22_090600_audit_log.js';
import * as m20261123_100000 from './2026_11_23_100000_auth_sessions_tokens_review_claims.js';
import * as m20261124_143700 from './2026_11_24_143700_fine_cases.js';
import * as m20261124_150500 from './2026_11_24_150500_public_lookup.js';
import * as m20261124_152200 from './2026_11_24_152200_signal_feed.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_22_090000_base_functions': m090000,
  '2026_11_22_090100_camera_and_scene_config': m090100,
  '2026_11_22_090200_violation_evidence_plate_read': m090200,
  '2026_11_22_090300_users_and_review': m090300,
  '2026_11_22_090400_sanction_rule': m090400,
  '2026_11_22_090500_notice': m090500,
  '2026_11_22_090600_audit_log': m090600,
  '2026_11_23_100000_auth_sessions_tokens_review_claims': m20261123_100000,
  '2026_11_24_143700_fine_cases': m20261124_143700,
  '2026_11_24_150500_public_lookup': m20261124_150500,
  '2026_11_24_152200_signal_feed': m20261124_152200,
});
