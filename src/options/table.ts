// The option table: every spamdyke 5.0.1 option (spec §1.3, 127 rows, alphabetical like spamdyke's own
// array) plus levee's extensions (`extension: true`). Parsing, --help, docs/options.md and --config-test
// all read this one table. It is data, so it is allowed to be long; logic lives in parse.ts.
//
// Defaults follow spamdyke's code, not its README (spec §9.3): hostname-file has none, relay-level has
// none (undefined = spamdyke's internal "unset"), and the qmail rcpthosts sources are left empty here
// because spamdyke only uses /var/qmail/control/{rcpthosts,morercpthosts.cdb} when they exist, which
// the session code checks at run time.
import type { OptionDef, ValueOf } from './types';

const C = { cli: true, file: false, dir: false } as const;
const CF = { cli: true, file: true, dir: false } as const;
const CFD = { cli: true, file: true, dir: true } as const;

/** Filters whose verdict `log-only` can turn into a log line (names match src/filters). */
export const LOG_ONLY_FILTERS = [
  'earlytalker',
  'rdns-missing',
  'ip-in-cc-rdns',
  'unresolvable-rdns',
  'rdns-blacklist',
  'ip-blacklist',
  'ip-in-rdns-keyword-blacklist',
  'dns-blacklist',
  'rhs-blacklist',
  'sender-blacklist',
  'recipient-blacklist',
  'sender-no-mx',
  'sender-not-local',
  'header-blacklist',
  'graylist',
  'recipient-same-as-sender',
] as const;

export const OPTIONS = [
  {
    name: 'bare-lf',
    kind: 'enum',
    values: ['accept', 'reject'],
    default: 'accept',
    where: CF,
    arg: 'ACTION',
    extension: true,
    help:
      'What to do with a message whose end-of-data line did not arrive as CR LF . CR LF, or whose lines end in a ' +
      'bare LF: accept = pass it on with the line ends made safe, reject = refuse the message. Default: accept',
  },
  {
    name: 'config-dir',
    kind: 'list',
    role: 'dir',
    where: CF,
    arg: 'DIR',
    help:
      'Read extra options for each recipient from files in the directory tree DIR, chosen by the client IP, rDNS ' +
      'name, sender and recipient (_ip_, _rdns_, _sender_, _recipient_). Using it delays rejections until the ' +
      'recipients are known. Default: no configuration tree.',
  },
  {
    name: 'config-dir-search',
    kind: 'enums',
    values: ['first', 'all-ip', 'all-rdns', 'all-sender', 'all-recipient'],
    resetValue: 'first',
    where: CF,
    arg: 'SEARCH',
    help:
      'How many files of the config-dir tree are read: first = only the most specific file of each kind, all-ip, ' +
      'all-rdns, all-sender, all-recipient = every matching file of that kind, most specific first. Needs ' +
      '"config-dir". Default: first',
  },
  {
    name: 'config-file',
    short: 'f',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help:
      'Read more options from FILE, one "name=value" per line, after the whole command line (so values in FILE ' +
      'win). Files may include further files; a file already being read is skipped. Default: none.',
  },
  {
    name: 'config-test',
    kind: 'action',
    where: C,
    help:
      'Check the configuration (files, directories, commands, TLS, the qmail command) as far as possible without ' +
      'accepting mail, report what was found and exit. Give it together with the normal options.',
  },
  {
    name: 'config-test-smtpauth-password',
    kind: 'string',
    role: 'text',
    where: C,
    arg: 'PASSWORD',
    help:
      'With "config-test" and "config-test-smtpauth-username", actually run the "smtp-auth-command" programs with ' +
      'this password to see whether they work. Default: only check that the programs look executable.',
  },
  {
    name: 'config-test-smtpauth-username',
    kind: 'string',
    role: 'text',
    where: C,
    arg: 'USERNAME',
    help:
      'With "config-test" and "config-test-smtpauth-password", actually run the "smtp-auth-command" programs with ' +
      'this user name to see whether they work. Default: only check that the programs look executable.',
  },
  {
    name: 'connection-timeout-secs',
    short: 't',
    kind: 'int',
    where: CF,
    arg: 'SECS',
    help:
      'Close the connection after SECS seconds in total, busy or not, with a timeout reply. Time spent waiting on ' +
      'the qmail process is not checked. 0 turns the limit off. Default: 0',
  },
  {
    name: 'dns-blacklist-entry',
    short: 'x',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'DNSRBL',
    help:
      'Look the client IP up in the DNS blacklist zone DNSRBL; if it is listed the connection is rejected. ' +
      'Default: no DNS blacklists.',
  },
  {
    name: 'dns-blacklist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "dns-blacklist-entry" for every zone listed in FILE, one per line. Default: no DNS blacklists.',
  },
  {
    name: 'dns-level',
    kind: 'enum',
    values: ['none', 'normal', 'aggressive'],
    default: 'aggressive',
    where: CF,
    arg: 'LEVEL',
    help:
      'How DNS queries are sent: none = no DNS queries at all, normal = one server at a time like the system ' +
      'resolver, aggressive = all servers at once. Default: aggressive',
  },
  {
    name: 'dns-max-retries-primary',
    kind: 'int',
    default: 1,
    where: CF,
    arg: 'NUM',
    help: 'Send a query NUM times to the primary name servers before the secondary servers are asked too. Default: 1',
  },
  {
    name: 'dns-max-retries-total',
    kind: 'int',
    min: 1,
    default: 3,
    where: CF,
    arg: 'NUM',
    help: 'Send any one DNS query at most NUM times in total, to primary and secondary servers. Default: 3',
  },
  {
    name: 'dns-query-type-a',
    kind: 'enums',
    values: ['a', 'cname'],
    default: ['a', 'cname'],
    where: CF,
    arg: 'TYPE',
    help:
      'DNS record types asked for when a name is resolved to an address. Giving the option replaces the default ' +
      'set; leave it alone unless you know why. Default: a and cname',
  },
  {
    name: 'dns-query-type-mx',
    kind: 'enums',
    values: ['a', 'cname', 'mx'],
    default: ['a', 'cname', 'mx'],
    where: CF,
    arg: 'TYPE',
    help:
      'DNS record types asked for when the mail exchangers of a sender domain are looked up. Giving the option ' +
      'replaces the default set. Default: a, cname and mx',
  },
  {
    name: 'dns-query-type-ptr',
    kind: 'enums',
    values: ['cname', 'ptr'],
    default: ['cname', 'ptr'],
    where: CF,
    arg: 'TYPE',
    help:
      'DNS record types asked for in reverse (rDNS) lookups. Giving the option replaces the default set. ' +
      'Default: cname and ptr',
  },
  {
    name: 'dns-query-type-rbl',
    kind: 'enums',
    values: ['a', 'cname', 'txt'],
    default: ['a', 'cname', 'txt'],
    where: CF,
    arg: 'TYPE',
    help:
      'DNS record types asked for in DNS blacklist and whitelist lookups (RBL, RWL, RHSBL, RHSWL). Giving the ' +
      'option replaces the default set. Default: a, cname and txt',
  },
  {
    name: 'dns-resolv-conf',
    kind: 'list',
    role: 'file',
    default: ['/etc/resolv.conf'],
    where: CF,
    arg: 'FILE',
    help:
      'Read name servers and resolver settings (port, timeout, options) from FILE, in resolv.conf format. Not ' +
      'used when "dns-server-ip" or "dns-server-ip-primary" is given. Default: /etc/resolv.conf',
  },
  {
    name: 'dns-server-ip',
    kind: 'list',
    role: 'entry',
    where: CF,
    arg: 'IP[:PORT]',
    help:
      'A secondary name server at IP, port PORT (53 when left out). Secondary servers are asked once the primary ' +
      'servers have had "dns-max-retries-primary" tries. Default: the servers from "dns-resolv-conf".',
  },
  {
    name: 'dns-server-ip-primary',
    kind: 'list',
    role: 'entry',
    where: CF,
    arg: 'IP[:PORT]',
    help:
      'A primary name server at IP, port PORT (53 when left out); queries go here first. Default: the servers ' +
      'from "dns-resolv-conf".',
  },
  {
    name: 'dns-spoof',
    kind: 'enum',
    values: ['accept-all', 'accept-same-ip', 'accept-same-port', 'reject'],
    default: 'accept-all',
    where: CF,
    arg: 'LEVEL',
    help:
      'Which DNS replies are believed when they come from another address or port than the query went to: ' +
      'accept-all = all of them, accept-same-ip = only from the same IP, accept-same-port = only from the same ' +
      'port, reject = only from the same IP and port. Default: accept-all',
  },
  {
    name: 'dns-tcp',
    kind: 'enum',
    values: ['none', 'normal'],
    default: 'normal',
    where: CF,
    arg: 'LEVEL',
    help:
      'Whether a query whose UDP answer was truncated is asked again over TCP: none = never, normal = when ' +
      'needed. Default: normal',
  },
  {
    name: 'dns-timeout-secs',
    kind: 'int',
    default: 30,
    where: CF,
    arg: 'SECS',
    help:
      'Give up on a DNS query after SECS seconds in total, retries included. When not given, the timeout from ' +
      'RES_OPTIONS or the resolv.conf file is used, else 30. Default: 30',
  },
  {
    name: 'dns-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'DNSWL',
    help:
      'Look the client IP up in the DNS whitelist zone DNSWL; if it is listed no filter is applied. Default: no ' +
      'DNS whitelists.',
  },
  {
    name: 'dns-whitelist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "dns-whitelist-entry" for every zone listed in FILE, one per line. Default: no DNS whitelists.',
  },
  {
    name: 'filter-level',
    kind: 'enum',
    values: ['allow-all', 'normal', 'require-auth', 'reject-all'],
    default: 'normal',
    where: CFD,
    arg: 'LEVEL',
    help:
      'Overall policy: allow-all = accept everything whatever the filters say, normal = let the filters decide, ' +
      'require-auth = refuse clients that have not authenticated, reject-all = refuse everyone, authenticated ' +
      'or not. Default: normal',
  },
  {
    name: 'full-log-dir',
    short: 'L',
    kind: 'string',
    role: 'dir',
    where: CF,
    arg: 'DIR',
    help:
      'Write a complete transcript of every connection to a new file in DIR. Meant for finding delivery ' +
      'problems, not for daily use: it costs time and disk. Default: no transcripts.',
  },
  {
    name: 'graylist-dir',
    short: 'g',
    kind: 'list',
    role: 'dir',
    aliases: ['greylist-dir'],
    where: CFD,
    arg: 'DIR',
    help:
      'Keep the graylist database in DIR. Whether and whom to graylist is set with "graylist-level". Default: ' +
      'no graylisting.',
  },
  {
    name: 'graylist-exception-ip-entry',
    kind: 'list',
    role: 'entry',
    aliases: ['greylist-exception-ip-entry'],
    where: CFD,
    arg: 'IPADDRESS',
    help:
      'A client IP pattern that is an exception to the graylist policy; what an exception means depends on ' +
      '"graylist-level". Default: no exceptions.',
  },
  {
    name: 'graylist-exception-ip-file',
    kind: 'list',
    role: 'file',
    aliases: ['greylist-exception-ip-file'],
    where: CFD,
    arg: 'FILE',
    help: 'A file of client IP patterns that are exceptions to the graylist policy. Default: no exceptions.',
  },
  {
    name: 'graylist-exception-rdns-dir',
    kind: 'list',
    role: 'dir',
    aliases: ['greylist-exception-rdns-dir'],
    where: CFD,
    arg: 'DIR',
    help: 'A directory tree of rDNS names that are exceptions to the graylist policy. Default: no exceptions.',
  },
  {
    name: 'graylist-exception-rdns-entry',
    kind: 'list',
    role: 'entry',
    aliases: ['greylist-exception-rdns-entry'],
    where: CFD,
    arg: 'NAME',
    help: 'An rDNS name pattern that is an exception to the graylist policy. Default: no exceptions.',
  },
  {
    name: 'graylist-exception-rdns-file',
    kind: 'list',
    role: 'file',
    aliases: ['greylist-exception-rdns-file'],
    where: CFD,
    arg: 'FILE',
    help: 'A file of rDNS name patterns that are exceptions to the graylist policy. Default: no exceptions.',
  },
  {
    name: 'graylist-level',
    kind: 'enum',
    values: ['none', 'always', 'always-create-dir', 'only', 'only-create-dir'],
    default: 'none',
    aliases: ['greylist-level'],
    where: CFD,
    arg: 'LEVEL',
    help:
      'Graylisting mode: none = off; always = graylist everyone except the exceptions, for local domains that ' +
      'have a directory in "graylist-dir"; always-create-dir = the same, creating missing domain directories; ' +
      'only = graylist only the exceptions; only-create-dir = the same, creating missing domain directories. The ' +
      'create-dir levels need the qmail rcpthosts sources. Default: none',
  },
  {
    name: 'graylist-max-secs',
    short: 'M',
    kind: 'int',
    aliases: ['greylist-max-secs'],
    where: CFD,
    arg: 'SECS',
    help:
      'A graylist entry older than SECS seconds no longer counts and the sender is graylisted again. 0 = entries ' +
      'never expire. Default: 0',
  },
  {
    name: 'graylist-min-secs',
    short: 'm',
    kind: 'int',
    aliases: ['greylist-min-secs'],
    where: CFD,
    arg: 'SECS',
    help:
      'A graylist entry must be at least SECS seconds old before mail from that sender is let through. 0 = the ' +
      'first retry is accepted. Default: 0',
  },
  {
    name: 'greeting-delay-secs',
    short: 'e',
    kind: 'int',
    where: CFD,
    arg: 'SECS',
    help:
      "Hold qmail's greeting back for SECS seconds; a client that starts talking before it has been greeted is " +
      'rejected. 0 turns the check off. Default: 0',
  },
  {
    name: 'header-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'VALUE',
    help:
      'Refuse any message with a header line matching the pattern VALUE ("Name:value", * and ? wildcards). ' +
      'Default: headers are not checked.',
  },
  {
    name: 'header-blacklist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "header-blacklist-entry" for every pattern in FILE. Default: headers are not checked.',
  },
  {
    name: 'help',
    short: 'h',
    kind: 'action',
    where: C,
    help: 'Print a short list of the options and exit.',
  },
  {
    name: 'hostname',
    kind: 'string',
    role: 'text',
    where: CF,
    arg: 'NAME',
    help:
      'The fully qualified name of this host. It is only used inside CRAM-MD5 challenges, where it adds a ' +
      'little randomness. Default: unknown.server.unknown.domain when no other source gives a name.',
  },
  {
    name: 'hostname-command',
    kind: 'string',
    role: 'command',
    where: CF,
    arg: 'COMMAND',
    help:
      'Run COMMAND (for example "/bin/hostname -f"; a comma stands for a space) and use the first line it prints ' +
      'as the host name. Ignored when "hostname" or "hostname-file" is given. Default: none.',
  },
  {
    name: 'hostname-file',
    kind: 'string',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help:
      'Use the first line of FILE as the host name. Ignored when "hostname" is given. Default: none (the README ' +
      'of spamdyke says /var/qmail/control/me, the code uses nothing).',
  },
  {
    name: 'idle-timeout-secs',
    short: 'T',
    kind: 'int',
    where: CF,
    arg: 'SECS',
    help:
      'Close the connection when the client has sent nothing for SECS seconds. 0 turns the limit off (but once ' +
      'qmail has been cut off, 1200 is used). Default: 0',
  },
  {
    name: 'ip-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'IPADDRESS',
    help: 'Reject clients whose IP matches the pattern IPADDRESS. Default: none.',
  },
  {
    name: 'ip-blacklist-file',
    short: 'B',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Reject clients whose IP matches a pattern in FILE. Default: none.',
  },
  {
    name: 'ip-in-rdns-keyword-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'KEYWORD',
    help:
      'Reject clients whose rDNS name contains both their IP address and KEYWORD (typical of dial-up and ' +
      'broadband names). Default: none.',
  },
  {
    name: 'ip-in-rdns-keyword-blacklist-file',
    short: 'k',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "ip-in-rdns-keyword-blacklist-entry" for every keyword in FILE. Default: none.',
  },
  {
    name: 'ip-in-rdns-keyword-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'KEYWORD',
    help: 'Whitelist clients whose rDNS name contains both their IP address and KEYWORD. Default: none.',
  },
  {
    name: 'ip-in-rdns-keyword-whitelist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "ip-in-rdns-keyword-whitelist-entry" for every keyword in FILE. Default: none.',
  },
  {
    name: 'ip-relay-entry',
    kind: 'list',
    role: 'entry',
    where: CF,
    arg: 'IPADDRESS',
    help: 'Clients whose IP matches IPADDRESS may relay (send to non-local recipients). Default: no relaying by IP.',
  },
  {
    name: 'ip-relay-file',
    kind: 'list',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help: 'Clients whose IP matches a pattern in FILE may relay. Default: no relaying by IP.',
  },
  {
    name: 'ip-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'IPADDRESS',
    help: 'Clients whose IP matches IPADDRESS skip all filters. Default: none.',
  },
  {
    name: 'ip-whitelist-file',
    short: 'W',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Clients whose IP matches a pattern in FILE skip all filters. Default: none.',
  },
  {
    name: 'log-format',
    kind: 'enum',
    values: ['text', 'json'],
    default: 'text',
    where: CF,
    arg: 'FORMAT',
    extension: true,
    help:
      "Shape of log lines: text = spamdyke's lines, word for word; json = one JSON object per line with the " +
      'same facts as named fields. Default: text',
  },
  {
    name: 'log-level',
    short: 'l',
    kind: 'enum',
    values: ['none', 'error', 'info', 'verbose', 'debug', 'excessive'],
    default: 'error',
    optionalArg: true,
    implicitValue: 'info',
    where: CF,
    arg: 'LEVEL',
    help:
      'How much to log: none = nothing, error = errors, info = errors and one line per recipient, verbose = also ' +
      'filter decisions and minor problems, debug = also internal steps, excessive = everything. Default: ' +
      'error; the option without a value means info.',
  },
  {
    name: 'log-only',
    kind: 'enums',
    values: ['none', ...LOG_ONLY_FILTERS],
    resetValue: 'none',
    where: CFD,
    arg: 'FILTER',
    extension: true,
    help:
      'Run FILTER but do not act on it: when it would reject, log the rejection as "would be DENIED_..." and ' +
      'let the mail through. Repeat for more filters; none clears the list. Default: none',
  },
  {
    name: 'log-target',
    kind: 'enums',
    values: ['stderr', 'syslog'],
    default: ['syslog'],
    where: CF,
    arg: 'TARGET',
    help:
      'Where log lines go: syslog = the system log, stderr = standard error. Give it twice for both. Default: ' +
      'syslog',
  },
  {
    name: 'max-recipients',
    short: 'a',
    kind: 'int',
    where: CF,
    arg: 'NUM',
    help:
      'Accept at most NUM recipients per message; further recipients get a temporary failure. 0 = no limit. ' +
      'Default: 0',
  },
  {
    name: 'more-help',
    kind: 'action',
    where: C,
    help: 'Print every option with a description and exit.',
  },
  {
    name: 'policy-url',
    short: 'u',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'URL',
    help:
      'Add " See: URL#REASON" to most rejection replies (or URL followed directly by the reason when URL ends ' +
      'in "="), so a sender can find out why. At most 100 characters. Default: none.',
  },
  {
    name: 'qmail-morercpthosts-cdb',
    kind: 'list',
    role: 'file',
    where: CF,
    arg: 'CDB',
    help:
      "A CDB file of domains this server accepts mail for, like qmail's morercpthosts.cdb. Best left alone so " +
      'that levee and qmail agree. Default: /var/qmail/control/morercpthosts.cdb when it exists.',
  },
  {
    name: 'qmail-rcpthosts-file',
    short: 'd',
    kind: 'list',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help:
      "A file of domains this server accepts mail for, like qmail's rcpthosts. Best left alone so that levee " +
      'and qmail agree. Default: /var/qmail/control/rcpthosts when it exists.',
  },
  {
    name: 'rdns-blacklist-dir',
    short: 'b',
    kind: 'list',
    role: 'dir',
    where: CFD,
    arg: 'DIR',
    help:
      'Reject clients whose rDNS name has a file in the directory tree DIR. Much faster than entries or files ' +
      'for long lists. Default: none.',
  },
  {
    name: 'rdns-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'NAME',
    help: 'Reject clients whose rDNS name matches NAME. Default: none.',
  },
  {
    name: 'rdns-blacklist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Reject clients whose rDNS name matches a name in FILE. Default: none.',
  },
  {
    name: 'rdns-relay-entry',
    kind: 'list',
    role: 'entry',
    where: CF,
    arg: 'NAME',
    help: 'Clients whose rDNS name matches NAME may relay. Default: no relaying by name.',
  },
  {
    name: 'rdns-relay-file',
    kind: 'list',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help: 'Clients whose rDNS name matches a name in FILE may relay. Default: no relaying by name.',
  },
  {
    name: 'rdns-whitelist-dir',
    kind: 'list',
    role: 'dir',
    where: CFD,
    arg: 'DIR',
    help: 'Clients whose rDNS name has a file in the directory tree DIR skip all filters. Default: none.',
  },
  {
    name: 'rdns-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'NAME',
    help: 'Clients whose rDNS name matches NAME skip all filters. Default: none.',
  },
  {
    name: 'rdns-whitelist-file',
    short: 'w',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Clients whose rDNS name matches a name in FILE skip all filters. Default: none.',
  },
  {
    name: 'recipient-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'ADDRESS',
    help: 'Refuse recipients matching ADDRESS (per recipient). Default: none.',
  },
  {
    name: 'recipient-blacklist-file',
    short: 'S',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Refuse recipients matching an address in FILE (per recipient). Default: none.',
  },
  {
    name: 'recipient-validation-command',
    kind: 'list',
    role: 'command',
    where: CF,
    arg: 'COMMAND',
    help:
      'Ask COMMAND (usually spamdyke-qrv; a comma stands for a space) whether a local recipient exists; it is ' +
      'run with the domain and user name. Only used with "reject-recipient" invalid or unavailable. Default: ' +
      'none.',
  },
  {
    name: 'recipient-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'ADDRESS',
    help:
      'Recipients matching ADDRESS skip all filters (for that recipient only); rejections then wait until the ' +
      'recipients are known. Default: none.',
  },
  {
    name: 'recipient-whitelist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "recipient-whitelist-entry" for every address in FILE. Default: none.',
  },
  {
    name: 'reject-empty-rdns',
    short: 'r',
    kind: 'bool',
    optionalArg: true,
    where: CFD,
    help: 'Reject clients that have no rDNS (PTR) name. Default: off.',
  },
  {
    name: 'reject-ip-in-cc-rdns',
    short: 'c',
    kind: 'bool',
    optionalArg: true,
    where: CFD,
    help:
      'Reject clients whose rDNS name contains their IP address and ends in a two-letter country domain. ' +
      'Default: off.',
  },
  {
    name: 'reject-recipient',
    kind: 'enums',
    values: ['none', 'same-as-sender', 'invalid', 'unavailable'],
    resetValue: 'none',
    where: CFD,
    arg: 'VALUE',
    help:
      'Recipient checks: same-as-sender = refuse a recipient equal to the sender, invalid = refuse local ' +
      'recipients that do not exist, unavailable = refuse local recipients that cannot take mail now; invalid ' +
      'and unavailable need "recipient-validation-command"; none clears the set. Default: none',
  },
  {
    name: 'reject-sender',
    kind: 'enums',
    values: ['none', 'no-mx', 'not-local', 'authentication-mismatch', 'authentication-domain-mismatch'],
    resetValue: 'none',
    where: CFD,
    arg: 'VALUE',
    help:
      'Sender checks: no-mx = refuse sender domains without MX or A records, not-local = refuse sender domains ' +
      'not hosted here, authentication-mismatch = refuse authenticated senders whose address differs from ' +
      'their login, authentication-domain-mismatch = the same for the domain only; none clears the set. ' +
      'Default: none',
  },
  {
    name: 'reject-unresolvable-rdns',
    short: 'R',
    kind: 'bool',
    optionalArg: true,
    where: CFD,
    help: 'Reject clients whose rDNS name has no address record (localhost passes only for 127.0.0.1). Default: off.',
  },
  {
    name: 'rejection-text-auth-failure',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help: 'Reply text when authentication fails. Default: "Refused. Authentication failed."',
  },
  {
    name: 'rejection-text-auth-unknown',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help:
      'Reply text when a client asks for an unknown authentication method. Default: "Refused. Unknown ' +
      'authentication method."',
  },
  {
    name: 'rejection-text-dns-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when the client IP is on a DNS blacklist; the zone (and its TXT record) is still added. ' +
      'Default: "Refused. Your IP address is listed in the RBL at "',
  },
  {
    name: 'rejection-text-earlytalker',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when the client talks before the greeting. Default: "Refused. You are not following the SMTP ' +
      'protocol."',
  },
  {
    name: 'rejection-text-empty-rdns',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when the client has no rDNS name. Default: "Refused. You have no reverse DNS entry."',
  },
  {
    name: 'rejection-text-graylist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    aliases: ['rejection-text-greylist'],
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when a recipient is graylisted. Default: "Your address has been graylisted. Try again later."',
  },
  {
    name: 'rejection-text-header-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help:
      'Reply text when a message has a blacklisted header. Default: "Refused. Your message has been blocked due ' +
      'to its content."',
  },
  {
    name: 'rejection-text-ip-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when the client IP is blacklisted. Default: "Refused. Your IP address is blacklisted."',
  },
  {
    name: 'rejection-text-ip-in-cc-rdns',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text for "reject-ip-in-cc-rdns". Default: "Refused. Your reverse DNS entry contains your IP address ' +
      'and a country code."',
  },
  {
    name: 'rejection-text-ip-in-rdns-keyword-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text for the IP-in-rDNS keyword blacklist. Default: "Refused. Your reverse DNS entry contains your ' +
      'IP address and a banned keyword."',
  },
  {
    name: 'rejection-text-local-recipient',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text for a recipient without a domain. Default: "Improper recipient address. Try supplying a ' +
      'domain name."',
  },
  {
    name: 'rejection-text-max-recipients',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text past "max-recipients". Default: "Too many recipients. Try the remaining addresses again later."',
  },
  {
    name: 'rejection-text-rdns-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when the rDNS name is blacklisted. Default: "Refused. Your domain name is blacklisted."',
  },
  {
    name: 'rejection-text-recipient-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when a recipient is blacklisted. Default: "Refused. Mail is not being accepted at this address."',
  },
  {
    name: 'rejection-text-recipient-invalid',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when a local recipient does not exist. Default: "Refused. The recipient address does not exist."',
  },
  {
    name: 'rejection-text-recipient-same-as-sender',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when recipient and sender are the same. Default: "Refused. Identical sender and recipient ' +
      'addresses are not allowed."',
  },
  {
    name: 'rejection-text-recipient-unavailable',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when a local recipient cannot take mail now. Default: "Refused. The recipient is not ' +
      'accepting mail right now."',
  },
  {
    name: 'rejection-text-reject-all',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text for "filter-level" reject-all. Default: "Refused. Mail is not being accepted."',
  },
  {
    name: 'rejection-text-relaying-denied',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when a client may not relay. Default: "Refused. Sending to remote addresses (relaying) is not ' +
      'allowed."',
  },
  {
    name: 'rejection-text-rhs-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when a domain is on a right-hand-side blacklist; the zone (and its TXT record) is still ' +
      'added. Default: "Refused. Your domain name is listed in the RHSBL at "',
  },
  {
    name: 'rejection-text-sender-authentication-mismatch',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text for both authentication-mismatch sender checks. Default: "Refused. Your sender address does ' +
      'not match your authentication username."',
  },
  {
    name: 'rejection-text-sender-blacklist',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when the sender is blacklisted. Default: "Refused. Your sender address has been blacklisted."',
  },
  {
    name: 'rejection-text-sender-no-mx',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when the sender domain has no mail exchanger. Default: "Refused. The domain of your sender ' +
      'address has no mail exchanger (MX)."',
  },
  {
    name: 'rejection-text-sender-not-local',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when the sender domain is not hosted here. Default: "Refused. Mail for your sender domain is ' +
      'not hosted here."',
  },
  {
    name: 'rejection-text-smtp-auth-required',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help: 'Reply text when authentication is required. Default: "Refused. Authentication is required to send mail."',
  },
  {
    name: 'rejection-text-timeout',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help: 'Reply text when a time limit is reached. Default: "Timeout. Talk faster next time."',
  },
  {
    name: 'rejection-text-tls-failure',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help: 'Reply text when TLS cannot be set up. Default: "Failed to negotiate TLS connection."',
  },
  {
    name: 'rejection-text-unresolvable-rdns',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CFD,
    arg: 'TEXT',
    help:
      'Reply text when the rDNS name does not resolve. Default: "Refused. Your reverse DNS entry does not ' +
      'resolve."',
  },
  {
    name: 'rejection-text-zero-recipients',
    kind: 'string',
    role: 'text',
    maxLength: 100,
    where: CF,
    arg: 'TEXT',
    help:
      'Reply text for DATA without any accepted recipient. Default: "Refused. You must specify at least one ' +
      'valid recipient."',
  },
  {
    name: 'relay-level',
    kind: 'enum',
    values: ['block-all', 'normal', 'allow-all'],
    where: CF,
    arg: 'LEVEL',
    help:
      'Relaying policy: block-all = refuse every non-local recipient, even for authenticated clients and the ' +
      'relay options; normal = relay for authenticated clients, RELAYCLIENT and the relay options; allow-all = ' +
      'relay for everyone (an open relay). block-all and normal need the qmail rcpthosts sources. Default: ' +
      'normal when an rcpthosts source exists.',
  },
  {
    name: 'rhs-blacklist-entry',
    short: 'X',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'RHSBL',
    help:
      'Look the rDNS name and the sender domain up in the right-hand-side blacklist zone RHSBL; a listing ' +
      'rejects. Default: none.',
  },
  {
    name: 'rhs-blacklist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "rhs-blacklist-entry" for every zone listed in FILE. Default: none.',
  },
  {
    name: 'rhs-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'RHSWL',
    help:
      'Look the rDNS name and the sender domain up in the right-hand-side whitelist zone RHSWL; a listing skips ' +
      'all filters. Rejections then wait until the sender is known. Default: none.',
  },
  {
    name: 'rhs-whitelist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "rhs-whitelist-entry" for every zone listed in FILE. Default: none.',
  },
  {
    name: 'run-as-user',
    kind: 'string',
    role: 'text',
    where: C,
    arg: 'USER[:GROUP]',
    help:
      'Switch to user USER (and group GROUP), by name or number, right after reading the command line; the ' +
      'qmail process runs as that user too. Needs root. Default: stay the current user.',
  },
  {
    name: 'sender-blacklist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'ADDRESS',
    help: 'Refuse senders matching ADDRESS. Default: none.',
  },
  {
    name: 'sender-blacklist-file',
    short: 's',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Refuse senders matching an address in FILE. Default: none.',
  },
  {
    name: 'sender-whitelist-entry',
    kind: 'list',
    role: 'entry',
    where: CFD,
    arg: 'ADDRESS',
    help: 'Senders matching ADDRESS skip all filters; rejections then wait until the sender is known. Default: none.',
  },
  {
    name: 'sender-whitelist-file',
    kind: 'list',
    role: 'file',
    where: CFD,
    arg: 'FILE',
    help: 'Like "sender-whitelist-entry" for every address in FILE. Default: none.',
  },
  {
    name: 'smtp-auth-command',
    kind: 'list',
    role: 'command',
    where: CF,
    arg: 'COMMAND',
    help:
      'A checkpassword-style program that verifies logins, usually "/bin/checkpassword /bin/true" (a comma ' +
      'stands for a space); several are tried in order. A client that logs in skips all filters. Default: none.',
  },
  {
    name: 'smtp-auth-level',
    kind: 'enum',
    values: ['none', 'observe', 'ondemand', 'ondemand-encrypted', 'always', 'always-encrypted'],
    default: 'observe',
    where: CF,
    arg: 'LEVEL',
    help:
      'SMTP AUTH handling: none = hide it; observe = watch logins that qmail handles; ondemand = offer and check ' +
      'logins when qmail does not; ondemand-encrypted = the same, adding CRAM-MD5; always = always check logins ' +
      'here; always-encrypted = the same with CRAM-MD5. The levels from ondemand on need "smtp-auth-command". ' +
      'Default: observe',
  },
  {
    name: 'tls-certificate-file',
    kind: 'string',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help:
      'PEM certificate (and key, unless "tls-privatekey-file" is given) for TLS done by levee itself. Without it ' +
      'TLS is passed through to qmail. Ignored when "tls-level" is none. Default: none.',
  },
  {
    name: 'tls-cipher-list',
    kind: 'string',
    role: 'text',
    default: 'DEFAULT',
    where: CF,
    arg: 'STRING',
    help: 'OpenSSL cipher list for TLS. Ignored when "tls-level" is none. Default: DEFAULT',
  },
  {
    name: 'tls-dhparams-file',
    kind: 'string',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help: 'PEM Diffie-Hellman parameters (from "openssl dhparam") for ciphers with ephemeral DH keys. Default: none.',
  },
  {
    name: 'tls-level',
    kind: 'enum',
    values: ['none', 'smtp', 'smtp-no-passthrough', 'smtps'],
    default: 'smtp',
    where: CF,
    arg: 'LEVEL',
    help:
      'TLS mode: none = no TLS, even if qmail offers it; smtp = STARTTLS here when a certificate is given, else ' +
      'pass it through to qmail; smtp-no-passthrough = STARTTLS here only, never passed through; smtps = TLS ' +
      'from the first byte. The last two need "tls-certificate-file". Default: smtp',
  },
  {
    name: 'tls-privatekey-file',
    kind: 'string',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help: 'PEM private key for the certificate. Default: the key is read from "tls-certificate-file".',
  },
  {
    name: 'tls-privatekey-password',
    kind: 'string',
    role: 'text',
    where: CF,
    arg: 'PASSWORD',
    help:
      'Password of an encrypted private key. It shows in the process list; prefer ' +
      '"tls-privatekey-password-file". Default: the key is not encrypted.',
  },
  {
    name: 'tls-privatekey-password-file',
    kind: 'string',
    role: 'file',
    where: CF,
    arg: 'FILE',
    help: 'Read the private key password from the first line of FILE. Default: the key is not encrypted.',
  },
  {
    name: 'version',
    short: 'v',
    kind: 'action',
    where: C,
    help: 'Print the version and exit.',
  },
] as const satisfies readonly OptionDef[];

export type OptionName = (typeof OPTIONS)[number]['name'];
export type OptionValues = { [D in (typeof OPTIONS)[number] as D['name']]: ValueOf<D> };

/** Upper bound of spamdyke's integer options (they are C ints); the default `max` of an int row. */
export const OPTION_INT_MAX = 2147483647;
