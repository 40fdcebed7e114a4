// "IP in rDNS name" (spec §4.4): reject-ip-in-cc-rdns and the ip-in-rdns-keyword lists. IPv4 only;
// an IPv6 client never has its address "in" its name.

const QUAD_PREFIX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/;

interface Quad {
  text: string[]; // the octets as written (leading zeros kept), as spamdyke prints them with %s
  value: number[];
}

function parseQuad(ip: string): Quad | null {
  const m = QUAD_PREFIX.exec(ip);
  if (!m) return null;
  const text = [m[1], m[2], m[3], m[4]] as string[];
  const value = text.map(Number);
  return value.every((v) => v <= 255) ? { text, value } : null;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * spamdyke's digit scanner: each `.` of `pattern` matches any run (possibly empty) of non-digits in
 * `name`; digits must match one for one. On a mismatch it restarts the pattern without backing up
 * in the name, exactly like the original.
 */
function scanDigits(pattern: string, name: string): boolean {
  let j = 0;
  let k = 0;
  while (k < name.length && j < pattern.length) {
    if (isDigit(pattern[j])) {
      j = pattern[j] === name[k] ? j + 1 : 0;
      k++;
    } else {
      while (k < name.length && !isDigit(name[k])) k++;
      j++;
    }
  }
  return j > 0 && j === pattern.length;
}

const pad3 = (v: number): string => String(v).padStart(3, '0');
const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/** inet_aton on a dotted quad: a leading 0 means octal; 8 or 9 in such an octet makes it invalid. */
function inetAtonLittleEndian(q: Quad): number | null {
  let total = 0;
  for (let i = 0; i < 4; i++) {
    const t = q.text[i] as string;
    let v: number;
    if (t.length > 1 && t.startsWith('0')) {
      if (!/^[0-7]+$/.test(t)) return null;
      v = parseInt(t, 8);
    } else v = Number(t);
    total += v * 256 ** i; // s_addr read as a little-endian host integer: d·2^24+c·2^16+b·2^8+a
  }
  return total;
}

/** Is the client's IPv4 address in its rDNS name in any of spamdyke's forms? */
export function isIpInName(ip: string, name: string): boolean {
  const q = parseQuad(ip);
  if (!q || name === '') return false;
  const [a, b, c, d] = q.text as [string, string, string, string];
  const [av, bv, cv, dv] = q.value as [number, number, number, number];
  const [pa, pb, pc, pd] = [pad3(av), pad3(bv), pad3(cv), pad3(dv)];
  const scanned = [
    `${a}.${b}.${c}.${d}`,
    `${pa}.${pb}.${pc}.${pd}`,
    `${a}.${pb}.${pc}.${pd}`,
    `${a}.${b}.${pc}.${pd}`,
    `${a}.${b}.${c}.${pd}`,
    `${d}.${c}.${b}.${a}`,
    `${pd}.${pc}.${pb}.${pa}`,
    `${d}.${pc}.${pb}.${pa}`,
    `${d}.${c}.${pb}.${pa}`,
    `${d}.${c}.${b}.${pa}`,
    `${d}.${a}.${b}.${c}`,
    `${c}.${b}.${a}.${d}`,
    `${d}.${c}.${a}${b}`,
    `${c}${d}.${a}.${b}`,
    `${a}.${b}.${cv * 256 + dv}`,
    `${a}.${b}.${c}${d}`,
    `${a}.${b}${c}${d}`,
  ];
  if (scanned.some((p) => scanDigits(p, name))) return true;
  const substrings = [
    `${a}${b}${c}${d}`,
    `${pa}${pb}${pc}${pd}`,
    `${a}${pb}${pc}${pd}`,
    `${a}${b}${pc}${pd}`,
    `${a}${b}${c}${pd}`,
    `${d}${c}${b}${a}`,
    `${pd}${pc}${pb}${pa}`,
    `${hex2(av)}${hex2(bv)}${hex2(cv)}${hex2(dv)}`,
  ];
  const asInteger = inetAtonLittleEndian(q);
  if (asInteger !== null) substrings.push(String(asInteger));
  return substrings.some((s) => name.includes(s));
}

/** reject-ip-in-cc-rdns: the IP is in the name and the name ends in a two-character label. */
export function isIpInCcRdns(ip: string, name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && name.length - dot === 3 && isIpInName(ip, name);
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9]$/.test(c);
}

/** Where the registered domain (the last two labels) starts, or -1 if the name has fewer than 3. */
function registeredDomainStart(name: string): number {
  const last = name.lastIndexOf('.');
  if (last <= 0) return -1;
  const previous = name.lastIndexOf('.', last - 1);
  return previous < 0 ? -1 : previous + 1;
}

function keywordFound(keyword: string, name: string, domainStart: number): boolean {
  const anywhere = keyword.startsWith('.');
  let from = 0;
  while (from < name.length) {
    const at = name.indexOf(keyword, from);
    if (at < 0 || (!anywhere && at >= domainStart)) return false;
    const end = at + keyword.length;
    const startOk = at === 0 || !isAlnum(keyword[0]) || !isAlnum(name[at - 1]);
    const endOk = end === name.length || !isAlnum(keyword[keyword.length - 1]) || !isAlnum(name[end]);
    if (startOk && endOk) return true;
    from = end;
  }
  return false;
}

/**
 * One ip-in-rdns-keyword entry or file line: the IP must be in the name and every space-separated
 * keyword must occur with non-alphanumeric boundaries; keywords not starting with `.` must occur
 * before the registered domain (so names with fewer than three labels never match). Keywords are
 * used as written (the name is lower-case). Empty keywords from repeated spaces are skipped.
 */
export function matchKeywordEntry(entry: string, ip: string, name: string): boolean {
  if (entry === '' || name === '' || !isIpInName(ip, name)) return false;
  const domainStart = registeredDomainStart(name);
  if (domainStart < 0) return false;
  const keywords = entry.split(' ').filter((k) => k !== '');
  return keywords.length > 0 && keywords.every((k) => keywordFound(k, name, domainStart));
}
