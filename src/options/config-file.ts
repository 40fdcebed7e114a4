// The syntax of spamdyke configuration files (spec §4.7, errata 3): what one file says, line by line.
// Applying the directives (option lookup, values, includes) is parse.ts's job; this file is pure.
//
// Why not the `ini` package: spamdyke files are not INI files, and ini.parse differs on nearly every
// rule that matters here. It treats `;` and a `#` after the value as comments (spamdyke keeps both as
// part of the value), strips quotes (spamdyke keeps them), lets a repeated name overwrite the earlier
// one (spamdyke applies every line, so list options collect them all), turns `[name]` lines into
// sections, accepts an indented `#` as a comment (spamdyke: Bad syntax) and reads `name=` as an empty
// string (spamdyke: Bad syntax). A layer that undid all of that would be longer than this reader, so
// levee reads the lines itself; test/unit/options-config-file.test.ts shows each difference.
import { indexOrEnd, isBlank, isSpace } from '../text';

/** One meaningful line of a configuration file. */
export type ConfigLine =
  /** `name=value`, `name = value`, or a bare `name` (value undefined); name lower-cased */
  | { readonly line: number; readonly name: string; readonly value: string | undefined }
  /** a line spamdyke reports as "Bad syntax"; `text` is the line without surrounding whitespace */
  | { readonly line: number; readonly badSyntax: string };

// The file is read at every connection, in V8's interpreter: character codes and indexOf, no
// regular expressions (each costs a compilation per process).

/** What spamdyke trims around lines and values: C's isspace(). */
function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function skipBlanks(text: string, from: number): number {
  let i = from;
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** Reads one directive from a line that is already trimmed and not empty. */
function parseDirective(text: string, line: number): ConfigLine {
  let nameEnd = 0;
  while (nameEnd < text.length) {
    const c = text.charCodeAt(nameEnd);
    if (c === 61 || isBlank(c)) break;
    nameEnd++;
  }
  if (nameEnd === 0) return { line, badSyntax: text };
  const name = text.slice(0, nameEnd).toLowerCase();

  const afterName = skipBlanks(text, nameEnd);
  if (afterName === text.length) return { line, name, value: undefined };
  // `reject-empty-rdns yes`: a bare name must end the line
  if (text[afterName] !== '=') return { line, badSyntax: text };
  const value = text.slice(skipBlanks(text, afterName + 1));
  // `name=` is refused rather than read as true or empty (errata 3)
  if (value === '') return { line, badSyntax: text };
  return { line, name, value };
}

/**
 * Splits a configuration file into directives. Comments are lines whose FIRST character is `#`
 * (an indented `#` is not a comment); blank lines are skipped; line numbers count from 1, with
 * CR LF, LF and lone CR all ending a line.
 */
export function parseConfigText(text: string): ConfigLine[] {
  const result: ConfigLine[] = [];
  const len = text.length;
  let lf = -1;
  let cr = -1;
  let line = 0;
  for (let pos = 0; pos <= len;) {
    if (lf < pos) lf = indexOrEnd(text, '\n', pos);
    if (cr < pos) cr = indexOrEnd(text, '\r', pos);
    const end = lf < cr ? lf : cr;
    line++;
    if (end > pos && text.charCodeAt(pos) !== 35) {
      const trimmed = trimSpace(text.slice(pos, end));
      if (trimmed.length > 0) result.push(parseDirective(trimmed, line));
    }
    pos = end === cr && lf === cr + 1 ? end + 2 : end + 1;
  }
  return result;
}

// strerror() texts for the errors opening a file can give, so messages read like spamdyke's
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
};

/** The strerror()-style text for an error thrown while reading a file. */
export function openErrorText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STRERROR[code]) return STRERROR[code];
  return err instanceof Error ? err.message : String(err);
}
