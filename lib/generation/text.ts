/**
 * Turning decoded tokens into the text a marketer receives: cut at a stop string, drop a
 * half-decoded character at the end, optionally cut after the last complete sentence.
 */
import type { FinishReason } from './generator';
import type { GenerationOptions } from './options';

/**
 * The index of the earliest occurrence of any stop string in `text` at or after `from`,
 * or -1. Callers pass `from` just before the newly decoded part so each step only scans
 * what a new token could have completed.
 */
export function findStopString(text: string, stops: readonly string[], from = 0): number {
  let earliest = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop, from);
    if (at !== -1 && (earliest === -1 || at < earliest)) earliest = at;
  }
  return earliest;
}

/**
 * A byte-level BPE model works on UTF-8 bytes: it may stop in the middle of a multi-byte
 * character (Chinese text often does), or sample bytes that form no character at all. The
 * decoder shows those bytes as U+FFFD, which must not reach an email.
 */
export function dropInvalidCharacters(text: string): string {
  return text.replace(/\uFFFD/gu, '');
}

// A sentence ends at . ! ? or an ellipsis followed by a space or the end (so "9.99" and
// "e.g.x" do not count), or at a CJK full stop, exclamation or question mark; closing
// quotes and brackets after the mark belong to the sentence.
const SENTENCE_END = /[.!?\u2026]["'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]["'\u201d\u2019\u300d\u300f\uff09]*/gu;

/** `text` up to its last sentence end, or unchanged when it has none. */
export function cutAtSentenceEnd(text: string): string {
  let end = -1;
  for (const match of text.matchAll(SENTENCE_END)) end = (match.index ?? 0) + match[0].length;
  return end > 0 ? text.slice(0, end) : text;
}

/**
 * The text a backend returns for a continuation, whichever backend wrote it: characters
 * that decode to nothing dropped, cut after the last sentence when asked, the prompt put in
 * front with return_full_text, trimmed.
 */
export function outputText(
  continuation: string,
  promptText: string,
  finishReason: FinishReason,
  options: Pick<GenerationOptions, 'cut_at_sentence_end' | 'return_full_text'>,
): string {
  let text = dropInvalidCharacters(continuation);
  // Only a text cut off by the length limit has an unfinished sentence; one the model ended
  // itself may close with a sign-off that has no full stop, and must keep it.
  if (options.cut_at_sentence_end && finishReason === 'length') text = cutAtSentenceEnd(text);
  return (options.return_full_text ? promptText + text : text).trim();
}
