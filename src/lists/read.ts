// List files (spec §4 intro, quirk 6) and rDNS directory trees (§4.3). Files are small and re-read on
// every check, as spamdyke does, so an edited list applies to the next connection without a restart.
//
// Lines are read the way spamdyke's `fscanf("%65535[^\r\n]")` loop reads them: CR and LF each end a
// line, so a CRLF file has an empty line after every line and its line numbers count both; a line
// longer than 65,535 bytes continues as the next line; text after a NUL byte is invisible; a line is a
// comment only if its first byte is `#`; nothing is trimmed. Text is latin1 (one char per byte).
import { readFileSync, statSync } from 'node:fs';
import { rdnsDirPaths } from '../match/rdns';
import { readLatin1Native } from '../relay/native-spawn';
import { indexOrEnd } from '../text';

export interface ListHit {
  value: string;
  file?: string;
  line?: number;
}
export type ListLog = (level: 'error' | 'verbose', message: string) => void;

export const MAX_LIST_LINES = 65536;
export const MAX_LINE_BYTES = 65535;
export const OPEN_FOR_SEARCHING = 'unable to open file for searching';
/** The message spamdyke uses when an ip-in-rdns-keyword file cannot be opened. */
export const OPEN_KEYWORDS = 'unable to open keywords file';

// glibc strerror texts for what opening a list can fail with; libuv's texts are the same words in
// lower case, which covers the rest.
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
  ENOMEM: 'Cannot allocate memory',
  ENXIO: 'No such device or address',
};

function strerror(err: NodeJS.ErrnoException): string {
  const known = err.code ? STRERROR[err.code] : undefined;
  if (known) return known;
  const uv = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message)?.[1];
  return uv ? uv.charAt(0).toUpperCase() + uv.slice(1) : err.message;
}

function tooLong(file: string): string {
  return `ignoring file content past line ${MAX_LIST_LINES}: ${file}`;
}

/**
 * Calls `visit` with each usable line of a list file and its 1-based line number, until it returns
 * true. Logs and visits nothing when the file cannot be opened; logs the 65,536-line notice only
 * when reading gets that far. A callback, not a generator: lists are read at every connection, in
 * V8's interpreter, where a generator and for-of allocate an object per line.
 */
export function forEachListLine(
  file: string,
  log: ListLog,
  visit: (text: string, line: number) => boolean | void,
  openMessage = OPEN_FOR_SEARCHING,
): void {
  let data: string;
  try {
    data = readLatin1Native(file) ?? readFileSync(file, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EISDIR') {
      // fopen() succeeds on a directory and every read fails without EOF, so spamdyke spins through
      // all 65,536 "lines" and gives the too-long notice.
      log('verbose', tooLong(file));
      return;
    }
    log('error', `${openMessage} ${file}: ${strerror(err)}`);
    return;
  }
  const len = data.length;
  let pos = 0;
  let eof = false;
  let lineNum = 0;
  // where the next LF and CR are: native searches, not a loop per character in the interpreter
  let lf = -1;
  let cr = -1;
  while (!eof && lineNum < MAX_LIST_LINES) {
    if (lf < pos) lf = indexOrEnd(data, '\n', pos);
    if (cr < pos) cr = indexOrEnd(data, '\r', pos);
    if (pos >= len) eof = true;
    else if (pos !== lf && pos !== cr) {
      const end = Math.min(lf, cr, pos + MAX_LINE_BYTES);
      if (end === len) eof = true;
      let text = data.slice(pos, end);
      pos = end;
      const nul = text.indexOf('\0');
      if (nul >= 0) text = text.slice(0, nul);
      if (text !== '' && text.charCodeAt(0) !== 35 && visit(text, lineNum + 1) === true) return;
    }
    // then `%*1[\r\n]`: at most one line terminator
    if (pos >= len) eof = true;
    else if (pos === lf || pos === cr) pos++;
    lineNum++;
  }
  if (lineNum === MAX_LIST_LINES) log('verbose', tooLong(file));
}

/** All usable lines of a list file, or null (after logging) when it cannot be opened. */
export function readListLines(file: string, log: ListLog): { text: string; line: number }[] | null {
  let failed = false;
  const lines: { text: string; line: number }[] = [];
  forEachListLine(
    file,
    (level, message) => {
      if (level === 'error') failed = true;
      log(level, message);
    },
    (text, line) => {
      lines.push({ text, line });
    },
  );
  return failed ? null : lines;
}

/**
 * The first entry, then the first line of the files in order, that `match` accepts. Entry hits give
 * the entry as `value`; file hits the line text, file and line number. Unreadable files are logged
 * and count as no match. Empty entries are skipped, like empty lines.
 */
export function searchEntriesThenFiles(
  entries: readonly string[],
  files: readonly string[],
  match: (candidate: string) => boolean,
  log: ListLog,
  openMessage = OPEN_FOR_SEARCHING,
): ListHit | null {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry !== '' && match(entry)) return { value: entry };
  }
  let hit: ListHit | null = null;
  for (let i = 0; i < files.length && !hit; i++) {
    const file = files[i]!;
    forEachListLine(
      file,
      log,
      (text, line) => {
        if (!match(text)) return false;
        hit = { value: text, file, line };
        return true;
      },
      openMessage,
    );
  }
  return hit;
}

/**
 * rdns-*-dir: the first directory holding a file (of any type) for the name or one of its parent
 * domains (§4.3). `path` is `DIR/relative`, as spamdyke logs it. Names that could escape the tree give
 * no paths at all (rdnsDirPaths), and a computed path that still resolves outside DIR is skipped.
 */
export function searchRdnsDirs(dirs: readonly string[], name: string): { dir: string; path: string } | null {
  const relatives = rdnsDirPaths(name);
  if (relatives.length === 0) return null;
  for (const dir of dirs) {
    if (dir === '') continue;
    for (const rel of relatives) {
      if (rel.split('/').some((part) => part === '' || part === '.' || part === '..')) continue;
      const path = `${dir}/${rel}`;
      try {
        if (statSync(path, { throwIfNoEntry: false })) return { dir, path };
      } catch {
        // EACCES, ENOTDIR, ENAMETOOLONG…: spamdyke's stat() just fails, so no match here
      }
    }
  }
  return null;
}
