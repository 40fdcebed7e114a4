// How `levee serve --forward` tells the MTA who the client really is (pure text building).
// PROXY protocol v1 (haproxy's proxy-protocol.txt §2.1) is one line before any SMTP; XCLIENT
// (Postfix XCLIENT_README) is an SMTP command sent after EHLO when the MTA advertises it, answered
// with a fresh 220 greeting. Without either the MTA sees levee's address as the client's.
import { isIPv4 } from 'node:net';

export interface ClientEndpoint {
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  /** rDNS name, '' when there is none */
  rdns: string;
  /** true when the rDNS lookup failed temporarily */
  rdnsTemporaryFailure: boolean;
}

/** `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`; mixed families cannot be expressed: `PROXY UNKNOWN`. */
export function proxyV1Header(c: ClientEndpoint): Buffer {
  const v4 = isIPv4(c.remoteIp) && isIPv4(c.localIp);
  const v6 = !isIPv4(c.remoteIp) && !isIPv4(c.localIp) && c.remoteIp.includes(':') && c.localIp.includes(':');
  const family = v4 ? 'TCP4' : v6 ? 'TCP6' : '';
  const line = family
    ? `PROXY ${family} ${c.remoteIp} ${c.localIp} ${c.remotePort} ${c.localPort}\r\n`
    : 'PROXY UNKNOWN\r\n';
  return Buffer.from(line, 'latin1');
}

/** RFC 3461 xtext: `+`, `=`, controls, space and non-ASCII become `+XX`. */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d
        ? '+' + byte.toString(16).toUpperCase().padStart(2, '0')
        : String.fromCharCode(byte);
  }
  return out;
}

/** The EHLO reply's keywords, upper case (`250-XCLIENT ADDR NAME` → XCLIENT: [ADDR, NAME]). */
export function ehloKeywords(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const words = line.slice(4).trim().split(/\s+/);
    const keyword = words[0]?.toUpperCase();
    if (keyword)
      out.set(
        keyword,
        words.slice(1).map((w) => w.toUpperCase()),
      );
  }
  return out;
}

/**
 * `XCLIENT ADDR=... PORT=... NAME=...`, only with the attributes the MTA listed (Postfix sends the
 * list after the keyword). IPv6 addresses get the `IPV6:` prefix; an unknown name is `[UNAVAILABLE]`,
 * a failed lookup `[TEMPUNAVAIL]`.
 */
export function xclientCommand(c: ClientEndpoint, advertised: readonly string[]): Buffer {
  const attrs: Array<[string, string]> = [
    ['ADDR', isIPv4(c.remoteIp) ? c.remoteIp : `IPV6:${c.remoteIp}`],
    ['PORT', String(c.remotePort)],
    ['NAME', c.rdns || (c.rdnsTemporaryFailure ? '[TEMPUNAVAIL]' : '[UNAVAILABLE]')],
  ];
  const wanted = advertised.length ? attrs.filter(([k]) => advertised.includes(k)) : attrs;
  return Buffer.from(`XCLIENT ${wanted.map(([k, v]) => `${k}=${xtext(v)}`).join(' ')}\r\n`, 'latin1');
}
