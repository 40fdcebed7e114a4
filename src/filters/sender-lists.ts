// sender-whitelist-entry/-file and sender-blacklist-entry/-file at MAIL FROM (spec §2.4, §4.5).
// The null sender is never matched (§4.5). Quirk 7: `user@` in sender-blacklist-ENTRY also matches
// `user.x@...`; the file form does not.
import { matchAddressEntry } from '../match/address';
import { searchEntriesThenFiles, type ListHit } from '../lists/read';
import { makeRejection } from '../session/rejections';
import { ALLOW, CONTINUE, reject, type Filter, type FilterInput } from './types';
import { hitDetail, listLog } from './common';

export function searchAddress(
  input: FilterInput,
  address: string,
  entries: readonly string[],
  files: readonly string[],
  entryQuirk = false,
): ListHit | null {
  if (address === '') return null;
  const log = listLog(input.log);
  if (entryQuirk) {
    // the quirk applies to entries only, so search the two sources separately
    const e = searchEntriesThenFiles(
      entries,
      [],
      (x) => matchAddressEntry(x, address, { senderBlacklistEntryQuirk: true }),
      log,
    );
    if (e) return e;
    return searchEntriesThenFiles([], files, (x) => matchAddressEntry(x, address), log);
  }
  return searchEntriesThenFiles(entries, files, (x) => matchAddressEntry(x, address), log);
}

export const senderWhitelist: Filter = {
  name: 'sender-whitelist',
  stage: 'mail',
  kind: 'whitelist',
  enabled: (o) => o['sender-whitelist-entry'].length > 0 || o['sender-whitelist-file'].length > 0,
  run(input) {
    const sender = input.sender ?? '';
    const hit = searchAddress(
      input,
      sender,
      input.o['sender-whitelist-entry'],
      input.o['sender-whitelist-file'],
    );
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_SENDER_WHITELIST', [['sender', sender], hitDetail(hit).field]);
    return ALLOW;
  },
};

export const senderBlacklist: Filter = {
  name: 'sender-blacklist',
  stage: 'mail',
  kind: 'blacklist',
  enabled: (o) => o['sender-blacklist-entry'].length > 0 || o['sender-blacklist-file'].length > 0,
  run(input) {
    const sender = input.sender ?? '';
    const hit = searchAddress(
      input,
      sender,
      input.o['sender-blacklist-entry'],
      input.o['sender-blacklist-file'],
      true,
    );
    if (!hit) return CONTINUE;
    const d = hitDetail(hit);
    input.log.filter('FILTER_SENDER_BLACKLIST', [['sender', sender], d.field]);
    return reject(makeRejection('senderBlacklisted', input.o, d.reason, 'sender-blacklist'));
  },
};
