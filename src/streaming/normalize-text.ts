/**
 * The form text is matched in by the content policy (content-policy.ts), so that a rule cannot be
 * dodged by writing it differently: case folded, compatibility forms unified by NFKC (full-width
 * letters, ligatures), combining marks removed (`é` is `e`), and invisible format characters removed
 * (zero-width spaces and joiners, word joiners, byte order marks: all of Unicode's `Cf`). Only matching
 * sees this form; clients always get the original text.
 */

/** Combining marks (after NFD) and format characters: nothing a reader sees on its own. */
const INVISIBLE = /[\p{M}\p{Cf}]/gu

/** Any UTF-16 code unit outside ASCII (surrogates included): only text with one needs normalising. */
const NON_ASCII = /[\u0080-\uffff]/

/**
 * `text` in matching form. NFKC first (full-width `Ｓ` is `S`), then lower case (which can add a
 * combining dot: `İ`), then NFD so accents become marks, which are removed with the format characters.
 * ASCII text needs only the lower case: its characters have no other form (measured: the fast path
 * keeps English deltas cheap, bench/moderation.ts).
 */
export function normalizeText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase()
  return text.normalize('NFKC').toLowerCase().normalize('NFD').replace(INVISIBLE, '')
}
