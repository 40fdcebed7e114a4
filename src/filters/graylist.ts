// Graylisting (spec §4.8, §2.4 RCPT step 3, quirk 9): the last per-recipient check. Whom it applies
// to is set by graylist-level: `always*` graylists everybody except the exceptions, `only*` only the
// exceptions (client IP in graylist-exception-ip-*, or rDNS name in graylist-exception-rdns-*);
// `*-create-dir` creates a missing domain directory when the recipient domain is local
// (rcpthosts / morercpthosts.cdb). The tree work is in src/graylist.
import { matchIpEntry } from '../match/ip';
import { matchRdnsEntry } from '../match/rdns';
import { searchEntriesThenFiles, searchRdnsDirs } from '../lists/read';
import { makeRejection } from '../session/rejections';
import { checkGraylist } from '../graylist/decide';
import { entryKey } from '../graylist/paths';
import { isLocalDomain } from './relay';
import { listLog } from './common';
import { CONTINUE, reject, type Filter, type FilterInput } from './types';

/** Does the client match graylist-exception-ip-* or graylist-exception-rdns-*? */
export function isGraylistException(input: FilterInput): boolean {
  const o = input.o;
  const { ip, rdns, remoteInfo } = input.facts;
  const ll = listLog(input.log);
  const ipEntries = o['graylist-exception-ip-entry'];
  const ipFiles = o['graylist-exception-ip-file'];
  if (ipEntries.length || ipFiles.length) {
    const client = { ip, rdns, remoteInfo };
    if (searchEntriesThenFiles(ipEntries, ipFiles, (e) => matchIpEntry(e, client), ll)) return true;
  }
  if (rdns === '') return false;
  const rdnsEntries = o['graylist-exception-rdns-entry'];
  const rdnsFiles = o['graylist-exception-rdns-file'];
  if (
    (rdnsEntries.length || rdnsFiles.length) &&
    searchEntriesThenFiles(rdnsEntries, rdnsFiles, (e) => matchRdnsEntry(e, rdns), ll)
  )
    return true;
  return searchRdnsDirs(o['graylist-exception-rdns-dir'], rdns) !== null;
}

export const graylist: Filter = {
  name: 'graylist',
  stage: 'rcpt',
  kind: 'recipient',
  // graylist-level without graylist-dir simply does nothing (spec §1.3 notes)
  enabled: (o) => o['graylist-level'] !== 'none' && o['graylist-dir'].length > 0,
  run(input) {
    const o = input.o;
    const level = o['graylist-level'];
    const recipient = input.recipient ?? '';
    const sender = input.sender ?? '';
    const key = entryKey(recipient, sender);
    if (key === null) return CONTINUE;
    const exception = isGraylistException(input);
    const onlyExceptions = level === 'only' || level === 'only-create-dir';
    if (exception !== onlyExceptions) return CONTINUE;
    const createDir = level === 'always-create-dir' || level === 'only-create-dir';
    const domain = recipient.slice(recipient.lastIndexOf('@') + 1);
    const outcome = checkGraylist({
      roots: o['graylist-dir'],
      key,
      mayCreateDomain: () => createDir && isLocalDomain(o, domain, input.log),
      minSecs: o['graylist-min-secs'],
      maxSecs: o['graylist-max-secs'],
      ip: input.facts.ip,
      rdns: input.facts.rdns,
    });
    switch (outcome.kind) {
      case 'not-graylisted-domain':
        return CONTINUE;
      case 'error':
        // a broken tree must not stop all mail: log it and let the recipient through
        for (const message of outcome.errors) input.log.error(message);
        return CONTINUE;
      case 'pass':
        if (outcome.warning) input.log.verbose(outcome.warning);
        return CONTINUE;
      case 'graylisted':
        input.log.filter('FILTER_GRAYLISTED', [
          ['sender', sender === '' ? '(none)' : sender],
          ['recipient', recipient],
          ['path', outcome.path],
        ]);
        return reject(makeRejection('graylisted', o, outcome.path, 'graylist'));
    }
  },
};
