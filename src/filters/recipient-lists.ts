// recipient-whitelist-entry/-file at RCPT TO (spec §2.4 RCPT step 2): a hit lets this one recipient
// through whatever the connection's decision (grace AFTER_TO makes that possible).
import { CONTINUE, ALLOW, type Filter } from './types';
import { hitDetail } from './common';
import { searchAddress } from './sender-lists';

export const recipientWhitelist: Filter = {
  name: 'recipient-whitelist',
  stage: 'rcpt-allow',
  kind: 'recipient',
  enabled: (o) => o['recipient-whitelist-entry'].length > 0 || o['recipient-whitelist-file'].length > 0,
  run(input) {
    const rcpt = input.recipient ?? '';
    const hit = searchAddress(
      input,
      rcpt,
      input.o['recipient-whitelist-entry'],
      input.o['recipient-whitelist-file'],
    );
    if (!hit) return CONTINUE;
    input.log.filter('FILTER_RECIPIENT_WHITELIST', [['recipient', rcpt], hitDetail(hit).field]);
    return ALLOW;
  },
};
