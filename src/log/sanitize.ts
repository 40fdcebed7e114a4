// Makes any text safe to write as ONE log line: whatever the network sent (CR, LF, NUL, other
// controls, Unicode line separators, bidi overrides, lone surrogates) is shown as an escape, and a
// line is capped so a pipe write stays atomic (PIPE_BUF is 4096) and syslog datagrams stay small.

/** Longest message (UTF-8 bytes, after escaping); `levee[PID]: ` + message + LF stays under 4096. */
export const MAX_LINE_BYTES = 4000;
export const TRUNCATION_MARK = '...[truncated]';

// C0 and C1 controls, DEL, Unicode line/paragraph separators, bidi marks/overrides/isolates, BOM,
// and unpaired surrogates (which would turn into U+FFFD and hide what was sent).
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? '\\x' + code.toString(16).padStart(2, '0')
    : '\\u' + code.toString(16).padStart(4, '0');
}

/**
 * True when `text` has a character UNSAFE could match (each is below U+0020, in U+007F..U+009F, or
 * at U+2000 and above). Log text is nearly always plain, and this loop costs less than running the
 * expression: it is compiled in every process, and again to machine code on its second use.
 */
function mayBeUnsafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c >= 0x2000) return true;
  }
  return false;
}

/** Escapes every character that could break a line or mislead a terminal; other text is unchanged. */
export function escapeUnsafe(text: string): string {
  if (!mayBeUnsafe(text)) return text;
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  UNSAFE.lastIndex = 0;
  return text.replace(UNSAFE, escapeChar);
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (marker included), never inside a character or an escape. */
export function capBytes(text: string, maxBytes: number = MAX_LINE_BYTES): string {
  // a string of n UTF-16 units has at most 3n UTF-8 bytes: most lines skip the Buffer entirely
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const room = Math.max(0, maxBytes - TRUNCATION_MARK.length);
  const bytes = Buffer.from(text, 'utf8');
  let cut = room;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--; // back to the start of a UTF-8 sequence
  let head = bytes.subarray(0, cut).toString('utf8');
  // an escape is `\xHH` (4) or `\uHHHH` (6): drop one that the cut left incomplete
  const slash = head.lastIndexOf('\\', head.length - 1);
  if (slash >= 0 && slash >= head.length - 5) {
    const kind = head[slash + 1];
    const need = kind === undefined ? 2 : kind === 'x' ? 4 : kind === 'u' ? 6 : 0;
    if (head.length - slash < need) head = head.slice(0, slash);
  }
  return head + TRUNCATION_MARK;
}

/** escapeUnsafe + capBytes: what every written line goes through. */
export function safeLine(text: string, maxBytes: number = MAX_LINE_BYTES): string {
  // every character becomes at least one byte, so what follows the first maxBytes + 1 characters is
  // cut anyway: a hostile 1 MB line is not escaped whole (the extra character keeps the mark)
  if (text.length > maxBytes + 1) text = text.slice(0, maxBytes + 1);
  return capBytes(escapeUnsafe(text), maxBytes);
}
