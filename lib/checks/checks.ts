/**
 * The copy checks, one function each. A check reads one candidate text with the contact it is
 * meant for and returns its findings: failures (the text must not be sent as it is) and
 * warnings (it may be sent, but a candidate without them is preferred). Each finding names its
 * check, a stable `code` (translated by the node as `check.reasons.<code>`), an English
 * message, and the offending excerpt.
 */
import { detectAll } from 'tinyld';
import { HAN, comparable, excerpt, sentences, words } from './text';
import type { TextTest } from '../safe-regex';

export const CHECK_NAMES = ['greeting', 'language', 'offers', 'brand', 'banned', 'clean', 'custom'] as const;
export type CheckName = typeof CHECK_NAMES[number];

export interface Finding {
  check: CheckName;
  code: string;
  /** English, for use outside Node-RED; the node translates `code` with `params`. */
  message: string;
  /** The part of the text the finding is about (at most about 60 characters). */
  excerpt: string;
  params: Record<string, string | number>;
  warning?: boolean;
}

/** What a candidate is checked against. */
export interface CheckContext {
  contact: Record<string, unknown>;
  /** The segment's name, for offers allowed per segment. */
  segment?: string;
  /** The prompt the text was written from, to recognise it echoed. */
  prompt?: string;
}

function finding(check: CheckName, code: string, message: string, text: string, start = 0, end = text.length,
  params: Record<string, string | number> = {}): Finding {
  const quoted = excerpt(text, start, end);
  return { check, code, message: `${message}: "${quoted}"`, excerpt: quoted, params: { ...params, excerpt: quoted } };
}

/** A contact's field, by a dotted path (`address.city`), as text; '' when absent. */
export function fieldOf(contact: Record<string, unknown>, path: string): string {
  let value: unknown = contact;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

// ---------------------------------------------------------------- addresses the contact

const LATIN_GREETING = /^(dear|hi|hello|hey|hiya|greetings|good (?:morning|afternoon|evening|day))\b[ \t]*([^,，:：!！.。\n]*)/iu;
/** `尊敬的韩雪：`, `亲爱的王芳，`, `韩雪您好！`, `王芳，`: the clause before the first pause. */
const HAN_GREETING = /^(尊敬的|亲爱的|致)?\s*([^,，:：!！。\n]{0,16}?)\s*(您好|你好)?[,，:：!！]/u;
/** A sentence start that names someone: `Hi Sara`, `Dear Quentin`, `亲爱的韩雪`. */
const LATER_GREETING = /(?:^|[.!?。！？\n]\s*)(?:(?:[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey)\s+(\p{Lu}[\p{L}'-]+)|(?:尊敬的|亲爱的)(\p{Script=Han}{2,4}))/gu;
/** Capitalised first words that open a sentence without naming anyone. */
const OPENERS = new Set(['thanks', 'thank', 'congratulations', 'welcome', 'yes', 'well', 'so', 'now', 'today', 'sorry',
  'please', 'again', 'also', 'great', 'good', 'happy', 'wow', 'oh', 'ok', 'okay', 'finally', 'first', 'remember']);
/** Addressees that are nobody in particular. */
const NOBODY = /^(?:(?:our |my )?(?:valued |dear |loyal |new )?(?:customer|client|friend|shopper|member|reader|there|all|everyone|everybody|folks|team)s?|客户|顾客|朋友|会员|用户|亲|您|大家)$/iu;

/** The greeting checks: the opening names the contact, and no greeting names anyone else. */
export function checkGreeting(text: string, context: CheckContext, nameFields: readonly string[]): Finding[] {
  const names = nameFields.map((field) => comparable(fieldOf(context.contact, field))).filter((name) => name !== '');
  const isContact = (addressee: string) => names.some((name) => comparable(addressee).includes(name));
  const findings: Finding[] = [];
  const body = text.trimStart();
  const offset = text.length - body.length;
  const addressee = openingAddressee(body);
  if (addressee === undefined) {
    const first = sentences(body)[0] ?? '';
    if (!isContact(first)) findings.push(finding('greeting', 'notAddressed', 'the text does not greet the contact by name', text, offset, offset + first.length));
  } else if (!isContact(addressee.name)) {
    const nobody = addressee.name === '' || NOBODY.test(addressee.name) || !looksLikeName(addressee.name);
    findings.push(nobody
      ? finding('greeting', 'notAddressed', 'the text does not greet the contact by name', text, offset, offset + addressee.end)
      : finding('greeting', 'wrongPerson', 'the greeting names someone else', text, offset, offset + addressee.end, { name: addressee.name }));
  }
  for (const match of text.matchAll(LATER_GREETING)) {
    const name = match[1] ?? match[2];
    if (match.index === 0 || isContact(name) || NOBODY.test(name)) continue;
    if (findings.some((f) => f.code === 'wrongPerson')) break;
    findings.push(finding('greeting', 'wrongPerson', 'the greeting names someone else', text, match.index, match.index + match[0].length, { name }));
  }
  return findings;
}

/** At most three capitalised words, or two to four Chinese characters: `Hey十亚麻床品套装` greets a product, not a person. */
function looksLikeName(text: string): boolean {
  return /^\p{Lu}[\p{L}'.-]*(?:\s+\p{Lu}[\p{L}'.-]*){0,2}$/u.test(text) || /^\p{Script=Han}{2,4}$/u.test(text);
}

/** Who the opening addresses, or undefined when it does not read as a greeting. */
function openingAddressee(body: string): { name: string; end: number } | undefined {
  const latin = LATIN_GREETING.exec(body);
  if (latin) return { name: latin[2].trim(), end: latin[0].length };
  const han = HAN_GREETING.exec(body);
  if (han && HAN.test(han[2] || han[1] || '')) {
    const clause = han[2].trim();
    // Without 尊敬的 or 您好 around it, only a clause as short as a name is read as a greeting.
    if (han[1] || han[3] || [...clause].length <= 4) return { name: clause, end: han[0].length };
    return undefined;
  }
  const named = /^(\p{Lu}[\p{L}'-]+(?:\s\p{Lu}[\p{L}'-]+)?)\s*[,:!]/u.exec(body);
  if (named && !OPENERS.has(named[1].split(/\s/)[0].toLowerCase())) return { name: named[1], end: named[0].length };
  return undefined;
}

// ---------------------------------------------------------------- right language

/** Below this many letters (a Han character counts three) a text's language is not guessed. */
export const MIN_LETTERS_FOR_LANGUAGE = 12;
const CJK_LANGUAGES = new Set(['zh', 'ja', 'ko']);

/** The language of a text as an ISO 639-1 code, or '' when the text is too short to tell. */
export function detectLanguage(text: string): string {
  let letters = 0;
  for (const char of text) if (/\p{L}/u.test(char)) letters += HAN.test(char) ? 3 : 1;
  if (letters < MIN_LETTERS_FOR_LANGUAGE) return '';
  return detectAll(text)[0]?.lang ?? '';
}

/** The text is in the contact's language (`field`, e.g. `en`, `zh-CN`); contacts without one pass. */
export function checkLanguage(text: string, context: CheckContext, field: string, undetermined: 'warn' | 'fail'): Finding[] {
  const expected = fieldOf(context.contact, field).toLowerCase().split(/[-_]/)[0];
  if (expected === '') return [];
  if (!CJK_LANGUAGES.has(expected)) {
    // Chinese characters in a text for a Latin-script reader are wrong however few they are.
    const han = /\p{Script=Han}+/u.exec(text);
    if (han) return [finding('language', 'wrongLanguage', `the text is not in the contact's language (${expected})`, text, han.index, han.index + han[0].length, { expected, detected: 'zh' })];
  }
  const detected = detectLanguage(text);
  if (detected === '') {
    const f = finding('language', 'languageUndetermined', 'the language of the text cannot be told', text, 0, text.length, { expected });
    return [undetermined === 'warn' ? { ...f, warning: true } : f];
  }
  if (detected !== expected) return [finding('language', 'wrongLanguage', `the text is not in the contact's language (${expected})`, text, 0, text.length, { expected, detected })];
  return [];
}

// ---------------------------------------------------------------- only real offers

const OFFER_PATTERNS: { kind: string; pattern: RegExp }[] = [
  { kind: 'url', pattern: /https?:\/\/[^\s<>"'，。！）)]+|\bwww\.[^\s<>"'，。！）)]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|shop|store|io|co|cn|de|uk|fr|example)\b(?:\/[^\s<>"'，。！）)]*)?/giu },
  { kind: 'percentage', pattern: /\d+(?:[.,]\d+)?\s*(?:%|percent\b|per cent\b)|百分之[零一二三四五六七八九十百]+|(?:\d+(?:\.\d+)?|[一二三四五六七八九两半]+)\s*折/giu },
  { kind: 'price', pattern: /(?:US\$|[$€£¥￥]|\b(?:USD|EUR|GBP|RMB|CNY)\s?)\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:元|块|美元|欧元|英镑|(?:dollars?|euros?|pounds?|USD|EUR|GBP|RMB|CNY)\b)/giu },
  { kind: 'code', pattern: /\b[A-Z0-9][A-Z0-9-]{3,19}\b/gu },
];
/** A code the text introduces as one: `code SUMMER30`, `优惠码COMEBACK`. */
const CODE_CUE = /(?:code|coupon|promo|voucher|码|券)[^A-Za-z0-9]{0,20}$/iu;

export interface Offer { kind: string; text: string; start: number; end: number }

/** The discount codes, percentages and `N折`, prices and URLs in a text. */
export function offersIn(text: string): Offer[] {
  const normal = text.normalize('NFKC');
  // NFKC keeps positions only where it changes nothing; excerpts are then cut from the normal form.
  const offers: Offer[] = [];
  // What earlier kinds took, as intervals sorted by start that never overlap.
  const taken: [number, number][] = [];
  for (const { kind, pattern } of OFFER_PATTERNS) {
    for (const match of normal.matchAll(pattern)) {
      const start = match.index;
      const value = match[0].replace(/[.,;:!?]+$/u, '');
      const end = start + value.length;
      const next = firstStartingAtOrAfter(taken, end);
      if (next > 0 && taken[next - 1][1] > start) continue;
      if (kind === 'code') {
        const hasLetter = /[A-Z]/.test(value);
        const hasDigit = /\d/.test(value);
        if (!hasLetter || (!hasDigit && !CODE_CUE.test(normal.slice(Math.max(0, start - 25), start)))) continue;
      }
      taken.splice(next, 0, [start, end]);
      offers.push({ kind, text: value, start, end });
    }
  }
  return offers.sort((a, b) => a.start - b.start);
}

/** The index of the first interval in `sorted` that starts at or after `position` (binary search). */
function firstStartingAtOrAfter(sorted: readonly [number, number][], position: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle][0] < position) low = middle + 1;
    else high = middle;
  }
  return low;
}

const compact = (value: string) => comparable(value).replace(/\s+/g, '').replace(/^https?:\/\//, '').replace(/\/$/, '');

/** Every code, percentage, price and URL in the text is one of `allowed` (a URL may extend an allowed one). */
export function checkOffers(text: string, allowed: readonly string[]): Finding[] {
  const allowedForms = allowed.map(compact).filter((form) => form !== '');
  const normal = text.normalize('NFKC');
  return offersIn(text)
    .filter((offer) => {
      const form = compact(offer.text);
      return !allowedForms.some((a) => form === a || (offer.kind === 'url' && form.startsWith(`${a}/`)));
    })
    .map((offer) => finding('offers', 'inventedOffer', `the text offers something nobody allowed (${offer.text})`, normal, offer.start, offer.end, { offer: offer.text, kind: offer.kind }));
}

// ---------------------------------------------------------------- brand

/** Alternatives whose first letter may be upper case (a sentence start); the rest stays case-sensitive, as names are told by their capitals. */
function sentenceCase(alternatives: string): string {
  return alternatives.split('|').map((word) => word.replace(/^[a-z]/, (c) => `[${c.toUpperCase()}${c}]`)).join('|');
}
const NAME_WORDS = String.raw`\p{Lu}[\p{L}\p{N}'&-]*(?:\s+\p{Lu}[\p{L}\p{N}'&-]*){0,2}`;
/** Places in a text where a shop names itself: `Welcome to Greenleaf Tea`, `the FitFlow family`. */
const SELF_NAMING = [
  new RegExp(String.raw`\b(?:${sentenceCase('welcome(?: back)? to|shopping (?:at|with)|shop(?:ped)? (?:at|with)|order(?:ing|ed)? from|choosing|joining|customer of|member of|love from|cheers from|regards from|yours,|team at')})\s+(?:the\s+)?(${NAME_WORDS})`, 'gu'),
  new RegExp(String.raw`\b(?:${sentenceCase('the|our|from')})\s+(${NAME_WORDS})\s+(?:family|team|community|crew|store|shop)\b`, 'gu'),
  /欢迎(?:来到|光临|加入|选择)([^，,。！!：:\s]{2,12})/gu,
  /([^，,。！!：:\s的]{2,8})(?:团队|大家庭|家族)/gu,
  /您的([^，,。！!：:\s的]{2,8})(?:账户|会员)/gu,
];
/** Words a shop uses for itself without naming a brand. */
const GENERIC_SELF = /^(?:我们|本店|本公司|我们的|小店|这里|大家|全体|the|our|us|our store|our shop|our team|our family|our community)/iu;

/** The brand (when given) is the only one named: none of `others`, and no shop name the text made up. */
export function checkBrand(text: string, context: CheckContext, brand: string, others: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  const lower = comparable(text);
  const ours = comparable(brand);
  for (const other of others) {
    const at = indexOfPhrase(lower, comparable(other));
    if (at >= 0) findings.push(finding('brand', 'otherBrand', `the text names another brand (${other})`, text, at, at + other.length, { brand: other }));
  }
  if (ours === '') return findings;
  const known = Object.values(context.contact).filter((v): v is string => typeof v === 'string').map(comparable);
  for (const pattern of SELF_NAMING) {
    for (const match of text.matchAll(pattern)) {
      const name = match[1].trim();
      const form = comparable(name);
      if (form.includes(ours) || ours.includes(form) || GENERIC_SELF.test(name) || known.some((k) => indexOfPhrase(form, k) >= 0)) continue;
      if (findings.some((f) => comparable(String(f.params.brand)) === form)) continue;
      findings.push(finding('brand', 'otherBrand', `the text names another brand (${name})`, text, match.index, match.index + match[0].length, { brand: name }));
    }
  }
  if (findings.length === 0 && !lower.includes(ours)) {
    findings.push({ check: 'brand', code: 'brandNotNamed', message: `the text does not name the brand (${brand})`, excerpt: '', params: { brand, excerpt: '' }, warning: true });
  }
  return findings;
}

/** Where `phrase` (comparable) stands in `lower` as whole words; -1 if nowhere. */
function indexOfPhrase(lower: string, phrase: string): number {
  if (phrase === '') return -1;
  let from = 0;
  for (;;) {
    const at = lower.indexOf(phrase, from);
    if (at < 0) return -1;
    const before = lower[at - 1] ?? ' ';
    const after = lower[at + phrase.length] ?? ' ';
    const edge = (char: string, inner: string) => HAN.test(inner) || !/[\p{L}\p{N}]/u.test(char);
    if (edge(before, phrase[0]) && edge(after, phrase[phrase.length - 1])) return at;
    from = at + 1;
  }
}

// ---------------------------------------------------------------- banned phrases

/** None of `phrases`, whole words, case and width ignored (`ＦＲＥＥ` is `free`). */
export function checkBanned(text: string, phrases: readonly string[]): Finding[] {
  const lower = comparable(text);
  const findings: Finding[] = [];
  for (const phrase of phrases) {
    const at = indexOfPhrase(lower, comparable(phrase));
    if (at >= 0) findings.push(finding('banned', 'bannedPhrase', `the text uses a banned phrase (${phrase})`, lower, at, at + comparable(phrase).length, { phrase }));
  }
  return findings;
}

// ---------------------------------------------------------------- clean text

export interface CleanOptions {
  minLength: number;
  maxLength: number;
  unit: 'characters' | 'words';
  /** A run of this many words (twice as many Chinese characters) seen twice is a loop. */
  repeatWords: number;
}

const TEMPLATE_TAG = /\{\{[^}]*\}\}|\{\{|\}\}|\[(?:first ?name|name|customer(?: name)?|company|brand|your name|city|product)\]|<\|[a-z_]+\|>|\{(?:first_?name|name|city|brand)\}/iu;
const INSTRUCTION = /\b(?:write|writing) (?:a |an )?(?:short |brief )?(?:[\w"'-]+ ){0,2}(?:email|e-mail|message|letter)\b|写一封|(?:邮件|信)：/iu;
const FINISHED = /[.!?。！？…"'”’)）」』~>]$|\p{Extended_Pictographic}$/u;

/** The length of a text in `unit`. */
export function lengthOf(text: string, unit: CleanOptions['unit']): number {
  return unit === 'words' ? words(text).length : [...text.trim()].length;
}

/** No repeated sentence or loop, no echoed instruction, no template tag, a finished end, a length within bounds. */
export function checkClean(text: string, context: CheckContext, options: CleanOptions): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const sentence of sentences(text)) {
    const form = comparable(sentence).replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
    if ([...form].length < 8) continue;
    if (seen.has(form)) {
      const at = text.lastIndexOf(sentence);
      findings.push(finding('clean', 'repeatedSentence', 'the text repeats a sentence', text, at, at + sentence.length));
      break;
    }
    seen.add(form);
  }
  if (!findings.length && options.repeatWords > 0) {
    const loop = repeatedRun(text, options.repeatWords);
    if (loop) findings.push(finding('clean', 'repetition', 'the text repeats itself', text, 0, Math.min(text.length, 60), { phrase: loop }));
  }
  const echo = promptEcho(text, context.prompt);
  if (echo) findings.push(finding('clean', 'promptEcho', 'the text repeats the instruction it was written from', text, echo.start, echo.end));
  const tag = TEMPLATE_TAG.exec(text);
  if (tag) findings.push(finding('clean', 'templateTag', 'the text has a leftover template tag', text, tag.index, tag.index + tag[0].length));
  const trimmed = text.trim();
  if (trimmed !== '' && !FINISHED.test(trimmed) && !isSignOff(trimmed)) findings.push(finding('clean', 'unfinished', 'the last sentence is unfinished', text, Math.max(0, trimmed.length - 40), text.length));
  const length = lengthOf(text, options.unit);
  if (options.minLength > 0 && length < options.minLength) findings.push(finding('clean', 'tooShort', `the text is too short (${length} ${options.unit}, at least ${options.minLength})`, text, 0, text.length, { length, min: options.minLength, unit: options.unit }));
  if (options.maxLength > 0 && length > options.maxLength) findings.push(finding('clean', 'tooLong', `the text is too long (${length} ${options.unit}, at most ${options.maxLength})`, text, 0, 60, { length, max: options.maxLength, unit: options.unit }));
  return findings;
}

/** A closing line before the sender: `Cheers,`, `祝好！`, `此致`. */
const CLOSING = /[,，]$|^[^\n.!?。！？]{1,8}[!！]$|^此致$/u;

/**
 * A closing such as `Cheers,\nThe Example Shop team` or `祝好！\nExample Shop`: a short last
 * line after a line ending in a comma, or after a short closing line (`祝好！`, `此致`).
 */
function isSignOff(text: string): boolean {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.length >= 2 && CLOSING.test(lines[lines.length - 2]) && [...lines[lines.length - 1]].length <= 40;
}

/** The first run of `n` words (2n Chinese characters) that the text has twice, or ''. */
function repeatedRun(text: string, n: number): string {
  const list = words(text);
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const size = HAN.test(list[i]) ? n * 2 : n;
    if (i + size > list.length) break;
    const gram = list.slice(i, i + size);
    const key = gram.join(HAN.test(list[i]) ? '' : ' ');
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return '';
}

/** The characters at the end of a prompt that an echo is looked for in. */
const PROMPT_ECHO_WINDOW = 20_000;

/** Where the text repeats its instruction: six words (twelve Chinese characters) of the prompt, or an instruction's wording. */
function promptEcho(text: string, prompt: string | undefined): { start: number; end: number } | undefined {
  const instruction = INSTRUCTION.exec(text);
  if (instruction) return { start: instruction.index, end: instruction.index + instruction[0].length };
  if (!prompt) return undefined;
  // A prompt's end is what the model continues (a longer start is cut before generating), and
  // comparing every six words of a huge prompt with the text would take seconds.
  const promptWords = words(prompt.length > PROMPT_ECHO_WINDOW ? prompt.slice(-PROMPT_ECHO_WINDOW) : prompt);
  const textForm = words(text).join(' ');
  for (let i = 0; i + 6 <= promptWords.length; i++) {
    const size = HAN.test(promptWords[i]) ? 12 : 6;
    if (i + size > promptWords.length) break;
    const gram = promptWords.slice(i, i + size).join(' ');
    if (textForm.includes(gram)) return { start: 0, end: Math.min(text.length, 60) };
  }
  return undefined;
}

// ---------------------------------------------------------------- custom

/** A user's pattern (compiled by `compileSafeRegex`) must or must not match. */
export function checkCustom(text: string, test: TextTest, mode: 'must' | 'mustNot', source: string): Finding[] {
  const matches = test(text);
  if (mode === 'must' && !matches) return [finding('custom', 'customMissing', `the text does not match /${source}/`, text, 0, 60, { pattern: source })];
  if (mode === 'mustNot' && matches) return [finding('custom', 'customMatched', `the text matches /${source}/`, text, 0, 60, { pattern: source })];
  return [];
}
