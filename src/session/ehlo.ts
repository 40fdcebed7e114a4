// EHLO reply rewriting (spec §5.2): remove the child's AUTH and/or STARTTLS lines, add levee's own,
// and keep the multi-line reply well-formed (spamdyke's `250 X-NOTHING` filler when the removed line
// was the last one, and STARTTLS always added as a continuation line).

export interface EhloEdit {
  removeAuth: boolean;
  removeTls: boolean;
  /** mechanisms levee advertises itself, e.g. 'LOGIN PLAIN' (the child's AUTH lines are replaced) */
  addAuth?: string;
  addTls?: boolean;
}

const isAuth = (l: string) => /^250[ -]AUTH[ =]/i.test(l);
const isTls = (l: string) => /^250[ -]STARTTLS\s*$/i.test(l);

/** True when a 250 EHLO reply advertises AUTH (`AUTH ` or the old `AUTH=` form). */
export function advertisesAuth(lines: readonly string[]): boolean {
  return lines.length > 0 && lines[0].startsWith('250') && lines.some(isAuth);
}

/** Rewrites the lines of a 250 EHLO reply; other replies are returned unchanged. */
export function rewriteEhlo(lines: readonly string[], e: EhloEdit): string[] {
  if (!lines.length || !lines[0].startsWith('250')) return [...lines];
  const removeAuth = e.removeAuth || e.addAuth !== undefined;
  const hadTls = lines.some(isTls);
  const out: string[] = [];
  let removedLast = false;
  lines.forEach((l, i) => {
    const drop = (removeAuth && isAuth(l)) || (e.removeTls && isTls(l));
    if (drop) {
      if (i === lines.length - 1) removedLast = true;
    } else out.push(l);
  });
  const additions: string[] = [];
  if (e.addAuth !== undefined) additions.push(`AUTH ${e.addAuth}`);
  if (e.addTls && !(hadTls && !e.removeTls)) additions.push('STARTTLS');
  if (additions.length === 0) {
    if (removedLast) {
      if (out.length) out[out.length - 1] = '250-' + out[out.length - 1].slice(4);
      out.push('250 X-NOTHING');
    }
    return out;
  }
  // turn the final line into a continuation and append levee's lines; STARTTLS is never the last
  // line (an Android client workaround spamdyke has), so it is followed by the filler
  if (out.length) out[out.length - 1] = '250-' + out[out.length - 1].slice(4);
  additions.forEach((a, i) => {
    const last = i === additions.length - 1;
    if (last && a !== 'STARTTLS') out.push('250 ' + a);
    else out.push('250-' + a);
  });
  if (additions[additions.length - 1] === 'STARTTLS') out.push('250 X-NOTHING');
  return out;
}
