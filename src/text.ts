// Character classes of C's "C" locale and a line-end search, shared by the hand-written parsers that
// run at every connection (config file, list files, DNS settings, IP entries, header patterns):
// character codes, no regular expressions (each is compiled again in every process).

/** isdigit(): 0-9 */
export const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** isxdigit(): 0-9, A-F, a-f */
export const isXDigit = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** isspace(): space, \t, \n, \v, \f, \r */
export const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/** isblank(): space and \t */
export const isBlank = (c: number): boolean => c === 32 || c === 9;

/** Where `c` next occurs in `text` at or after `from`, or text.length when it does not. */
export function indexOrEnd(text: string, c: string, from: number): number {
  const i = text.indexOf(c, from);
  return i < 0 ? text.length : i;
}
