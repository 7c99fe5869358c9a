/**
 * Checks generated copy before it is sent, and picks the best of several candidates.
 *
 * `compileChecks(settings)` validates the settings once (a bad custom pattern or a bad length
 * bound is a `MarketingError`); the checker then runs every enabled check on each candidate and
 * `select` picks the best candidate that has no failure. Among passing candidates the order is:
 * fewest warnings, then closest to the target length, then the earlier candidate. The same
 * input always gives the same choice.
 */
import { MarketingError } from '../errors';
import { compileSafeRegex, type TextTest } from '../safe-regex';
import {
  checkBanned, checkBrand, checkClean, checkCustom, checkGreeting, checkLanguage, checkOffers, lengthOf,
  type CheckContext, type CheckName, type CleanOptions, type Finding,
} from './checks';
import { listOf } from './text';

export { CHECK_NAMES, detectLanguage, offersIn, type CheckContext, type CheckName, type Finding } from './checks';
export { listOf } from './text';

export interface CheckSettings {
  /** The checks that run; all by default. */
  enabled?: Partial<Record<CheckName, boolean>>;
  /** Contact fields whose value the greeting may name (`firstName`, `name`). */
  nameFields?: readonly string[];
  /** The contact field with the contact's language (`en`, `zh-CN`). */
  languageField?: string;
  /** A text too short for its language to be told: a warning (default) or a failure. */
  undeterminedLanguage?: 'warn' | 'fail';
  /** Codes, percentages, prices and URLs the texts may contain. */
  allowedOffers?: readonly string[];
  /** More allowed offers per segment name. */
  segmentOffers?: Readonly<Record<string, readonly string[]>>;
  brand?: string;
  otherBrands?: readonly string[];
  bannedPhrases?: readonly string[];
  minLength?: number;
  maxLength?: number;
  /** The preferred length among passing candidates; the middle of the bounds when 0. */
  targetLength?: number;
  lengthUnit?: 'characters' | 'words';
  repeatWords?: number;
  customPattern?: string;
  customMode?: 'must' | 'mustNot';
  customIgnoreCase?: boolean;
}

export interface CandidateResult {
  index: number;
  passed: boolean;
  failed: Finding[];
  warnings: Finding[];
  length: number;
  /** How far the length is from the target (0 without a target). */
  lengthDistance: number;
}

export interface Selection {
  passed: boolean;
  /** The index of the chosen candidate; -1 when none passed. */
  chosen: number;
  candidates: CandidateResult[];
}

export interface CopyChecker {
  readonly settings: Readonly<CheckSettings>;
  check(text: string, context: CheckContext, index?: number): CandidateResult;
  select(candidates: readonly string[], context: CheckContext): Selection;
}

const DEFAULTS = {
  nameFields: ['firstName', 'name'],
  languageField: 'language',
  repeatWords: 4,
  lengthUnit: 'characters' as const,
};

function bound(name: string, value: unknown): number {
  if (value === undefined || value === '' || value === null) return 0;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new MarketingError('badNumber', `${name} must be a whole number of 0 or more, not "${String(value)}"`, { name, value: String(value) });
  return number;
}

/** Reads "segment: item, item" lines (the editor's per-segment offers) into a map. */
export function parseSegmentOffers(text: string): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const at = line.search(/[:：]/u);
    if (at <= 0) continue;
    const name = line.slice(0, at).trim();
    map[name] = [...(map[name] ?? []), ...listOf(line.slice(at + 1))];
  }
  return map;
}

/** The node's configuration, as the editor saves it (numbers may come as text, lists as text). */
export interface CheckConfig {
  greeting?: boolean;
  language?: boolean;
  offers?: boolean;
  brandCheck?: boolean;
  banned?: boolean;
  clean?: boolean;
  custom?: boolean;
  nameFields?: string;
  languageField?: string;
  undeterminedLanguage?: string;
  allowedOffers?: string;
  segmentOffers?: string;
  brand?: string;
  otherBrands?: string;
  bannedPhrases?: string;
  minLength?: number | string;
  maxLength?: number | string;
  targetLength?: number | string;
  lengthUnit?: string;
  repeatWords?: number | string;
  customPattern?: string;
  customMode?: string;
  customIgnoreCase?: boolean;
}

const numberOrUnset = (value: number | string | undefined) => (value === '' ? undefined : value as number);

/** The settings a `marketing-check` node's configuration stands for (shared with bench/copy.ts). */
export function checkSettingsFromConfig(config: CheckConfig): CheckSettings {
  return {
    enabled: {
      greeting: config.greeting !== false,
      language: config.language !== false,
      offers: config.offers !== false,
      brand: config.brandCheck !== false,
      banned: config.banned !== false,
      clean: config.clean !== false,
      custom: config.custom === true,
    },
    nameFields: listOf(config.nameFields ?? ''),
    languageField: config.languageField?.trim() || undefined,
    undeterminedLanguage: config.undeterminedLanguage === 'fail' ? 'fail' : 'warn',
    allowedOffers: listOf(config.allowedOffers ?? ''),
    segmentOffers: parseSegmentOffers(config.segmentOffers ?? ''),
    brand: (config.brand ?? '').trim(),
    otherBrands: listOf(config.otherBrands ?? ''),
    bannedPhrases: listOf(config.bannedPhrases ?? ''),
    minLength: numberOrUnset(config.minLength),
    maxLength: numberOrUnset(config.maxLength),
    targetLength: numberOrUnset(config.targetLength),
    lengthUnit: config.lengthUnit === 'words' ? 'words' : 'characters',
    repeatWords: numberOrUnset(config.repeatWords),
    customPattern: config.customPattern ?? '',
    customMode: config.customMode === 'must' ? 'must' : 'mustNot',
    customIgnoreCase: config.customIgnoreCase === true,
  };
}

/**
 * The longest candidate text checked, in UTF-16 code units: far more than any email, and
 * small enough that the checks (language detection above all) take a few milliseconds.
 * A longer text is refused (`candidateTooLong`), so that no payload stalls Node-RED.
 */
export const MAX_CANDIDATE_LENGTH = 20_000;

export function compileChecks(settings: CheckSettings): CopyChecker {
  const enabled = (name: CheckName) => settings.enabled?.[name] !== false && (name !== 'custom' || Boolean(settings.customPattern));
  const clean: CleanOptions = {
    minLength: bound('minLength', settings.minLength),
    maxLength: bound('maxLength', settings.maxLength),
    unit: settings.lengthUnit === 'words' ? 'words' : DEFAULTS.lengthUnit,
    repeatWords: settings.repeatWords === undefined ? DEFAULTS.repeatWords : bound('repeatWords', settings.repeatWords),
  };
  if (clean.maxLength > 0 && clean.minLength > clean.maxLength) {
    throw new MarketingError('badLengthBounds', `the shortest length (${clean.minLength}) is above the longest (${clean.maxLength})`, { min: clean.minLength, max: clean.maxLength });
  }
  const target = bound('targetLength', settings.targetLength)
    || (clean.minLength > 0 && clean.maxLength > 0 ? Math.round((clean.minLength + clean.maxLength) / 2) : 0);
  const custom: TextTest | undefined = enabled('custom') ? compileSafeRegex(settings.customPattern ?? '', settings.customIgnoreCase === true) : undefined;
  const nameFields = settings.nameFields?.length ? settings.nameFields : DEFAULTS.nameFields;
  const languageField = settings.languageField || DEFAULTS.languageField;

  function check(text: string, context: CheckContext, index = 0): CandidateResult {
    if (text.length > MAX_CANDIDATE_LENGTH) {
      throw new MarketingError('candidateTooLong', `candidate ${index} is ${text.length} characters long, more than the ${MAX_CANDIDATE_LENGTH} a text may have to be checked`,
        { index, length: text.length, max: MAX_CANDIDATE_LENGTH });
    }
    const findings: Finding[] = [];
    if (enabled('greeting')) findings.push(...checkGreeting(text, context, nameFields));
    if (enabled('language')) findings.push(...checkLanguage(text, context, languageField, settings.undeterminedLanguage === 'fail' ? 'fail' : 'warn'));
    if (enabled('offers')) {
      const perSegment = context.segment === undefined ? [] : settings.segmentOffers?.[context.segment] ?? [];
      findings.push(...checkOffers(text, [...(settings.allowedOffers ?? []), ...perSegment]));
    }
    if (enabled('brand')) findings.push(...checkBrand(text, context, settings.brand ?? '', settings.otherBrands ?? []));
    if (enabled('banned')) findings.push(...checkBanned(text, settings.bannedPhrases ?? []));
    if (enabled('clean')) findings.push(...checkClean(text, context, clean));
    if (custom) findings.push(...checkCustom(text, custom, settings.customMode === 'must' ? 'must' : 'mustNot', settings.customPattern ?? ''));
    const failed = findings.filter((f) => !f.warning);
    const length = lengthOf(text, clean.unit);
    return {
      index,
      passed: failed.length === 0,
      failed,
      warnings: findings.filter((f) => f.warning),
      length,
      lengthDistance: target > 0 ? Math.abs(length - target) : 0,
    };
  }

  function select(candidates: readonly string[], context: CheckContext): Selection {
    const results = candidates.map((text, index) => check(text, context, index));
    const best = results
      .filter((r) => r.passed)
      .sort((a, b) => a.warnings.length - b.warnings.length || a.lengthDistance - b.lengthDistance || a.index - b.index)[0];
    return { passed: best !== undefined, chosen: best?.index ?? -1, candidates: results };
  }

  return { settings, check, select };
}
