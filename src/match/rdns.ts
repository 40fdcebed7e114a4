// rDNS name entries (spec §4.2), rDNS directory trees (§4.3) and the domain2path / domainsplit
// utilities (§7). Also spamdyke's generic `examine_entry`, which the address matcher shares.

/**
 * ASCII-only lower-casing (C's tolower in the "C" locale: 8-bit bytes stay as they are). Returns
 * `s` itself when it has no capital, as most list lines have none: each list line of every
 * connection passes through here, and a replace() would allocate for each.
 */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return s;
}

/**
 * spamdyke's examine_entry. `target` is already lower-case; the entry is lower-cased (ASCII) here.
 * A leading `startWildcard` lets the rest match inside the target when the character before it is in
 * `startMatches`; a trailing `endWildcard` lets it end inside the target when the character after it
 * is in `endMatches` (the end of the target also counts, as strchr finds the terminating NUL).
 * Without wildcards the entry must equal the whole target. Every occurrence is tried.
 */
export function examineEntry(
  target: string,
  entry: string,
  startWildcard: string,
  startMatches: string,
  endWildcard: string,
  endMatches: string,
): boolean {
  if (entry === '') return false;
  let body = entry;
  const checkEnd = endWildcard !== '' && body.endsWith(endWildcard);
  if (checkEnd) body = body.slice(0, -1);
  const checkStart = startWildcard !== '' && body.startsWith(startWildcard);
  if (checkStart) body = body.slice(1);
  const needle = asciiLower(body);
  for (let at = target.indexOf(needle); at !== -1; at = target.indexOf(needle, at + 1)) {
    const after = at + needle.length;
    const startOk = checkStart ? at === 0 || startMatches.includes(target[at - 1] as string) : at === 0;
    const endOk = checkEnd
      ? after >= target.length || endMatches.includes(target[after] as string)
      : after === target.length;
    if (startOk && endOk) return true;
    if (at >= target.length) break; // an empty needle has visited every position
  }
  return false;
}

/**
 * One rdns-*-entry or file line against the client's (lower-case) rDNS name: without a leading `.`
 * the whole name must be equal; `.example.com` matches example.com and any name ending in
 * `.example.com`. Also used for rcpthosts lines.
 */
export function matchRdnsEntry(entry: string, name: string): boolean {
  if (name === '' || entry === '') return false;
  // A match ends where the name ends, so the entry's last character (lower-cased) is the name's:
  // most lines of an rDNS list fail here, before examineEntry slices and lower-cases them (every
  // line of every list is matched at every connection, in V8's interpreter).
  let last = entry.charCodeAt(entry.length - 1);
  if (last >= 65 && last <= 90) last += 32;
  if (last !== name.charCodeAt(name.length - 1)) return false;
  return examineEntry(name, entry, '.', '.', '', '');
}

/** The names whose files are probed in an rDNS directory: the name, then each parent domain. */
function isSafeName(name: string): boolean {
  if (name === '' || name.includes('/') || name.includes('\0')) return false;
  return name.split('.').every((label) => label !== '');
}

/** The path of one name inside an rDNS directory (§4.3); `dirOnly` drops the final file name. */
function dirPathOf(name: string, dirOnly: boolean): string {
  const labels = name.split('.');
  const n = labels.length;
  const last = (i: number): string => labels[n - i] as string; // last(1) is the TLD
  let dir: string;
  if (n >= 4) dir = `${last(1)}/${last(2)[0] ?? ''}/${last(2)}/${last(3)}`;
  else if (n === 3) dir = `${last(1)}/${last(2)[0] ?? ''}/${last(2)}`;
  else if (n === 2) dir = `${last(1)}/${name[0] ?? ''}/${last(2)}`;
  else dir = `${name}/${name[0] ?? ''}`;
  return dirOnly ? dir : `${dir}/${name}`;
}

/**
 * The relative paths probed for an rDNS name, in order (§4.3): `mail.example.com` →
 * `com/e/example/mail.example.com`, `com/e/example/example.com`, `com/c/com`. A name that could
 * leave the directory tree (`/`, NUL, an empty label, hence also `..`) gives [].
 */
export function rdnsDirPaths(name: string): string[] {
  if (!isSafeName(name)) return [];
  const paths: string[] = [];
  for (let rest = name; ;) {
    paths.push(dirPathOf(rest, false));
    const dot = rest.indexOf('.');
    if (dot < 0) return paths;
    rest = rest.slice(dot + 1);
  }
}

/**
 * What the domain2path utility prints for NAME (lower-cased): the first path of rdnsDirPaths, or with
 * `dirOnly` (`-d`) its directory part (`a.b.c.d.example.co.uk` → `uk/c/co/example`). '' for ''.
 */
export function domain2path(name: string, dirOnly: boolean): string {
  const lower = asciiLower(name);
  return lower === '' ? '' : dirPathOf(lower, dirOnly);
}

/**
 * The domainsplit utility's "base domain" (lower-cased): the last two labels, or the last three when
 * the TLD has at most two characters (`foo.example.com.us` → `example.com.us`, `example` → `example`).
 */
export function baseDomain(name: string): string {
  const lower = asciiLower(name);
  let dots = 0;
  for (let i = lower.length - 1; i >= 0; i--) {
    if (lower[i] === '.' && (dots > 0 || lower.length - i > 3) && ++dots >= 2) return lower.slice(i + 1);
  }
  return lower;
}
