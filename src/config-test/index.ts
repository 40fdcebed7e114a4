// --config-test (spec §6). Loaded only for --config-test (dist/config-test.cjs). Runs the production
// command line's checks in spamdyke's order and prints one verdict line per finding, then
// `Tests complete.`; with `--log-format json` one JSON document goes to stdout instead. Unlike
// spamdyke (always 0), the exit status is 1 when an error was found, so scripts and CI can use it.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { OptionValues } from '../options/table';
import type { Logger } from '../log';
import { version } from '../../package.json';
import { versionText } from '../options/help';
import { resolveRunAs } from '../auth/privileges';
import { Report, formatCheckLine, type CheckLine } from './report';
import { checkOptionValues } from './option-checks';
import { checkConfigDir, checkRdnsDir } from './tree-checks';
import { judgeCapabilities, probeChild } from './child-probe';
import {
  checkAuthCommands,
  checkDnsLists,
  checkGraylist,
  checkRelaySources,
  checkSpawnHelper,
  checkSyslog,
  checkTls,
} from './service-checks';

/** Exit status when the configuration has errors. */
export const EXIT_ERRORS = 1;

function groupName(gid: number): string {
  try {
    const line = readFileSync('/etc/group', 'latin1')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    return line ? line.split(':')[0] : String(gid);
  } catch {
    return String(gid);
  }
}

function identity(): string {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  let user = String(uid);
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: the number will do
  }
  return `user ${user}(${uid}), group ${groupName(gid)}(${gid})`;
}

/** Step 4: who runs the tests; switches to run-as-user first when started as root. */
function checkIdentity(report: Report, o: OptionValues): void {
  const runAs = o['run-as-user'];
  if (runAs && process.getuid?.() === 0) {
    const read = (p: string): string => {
      try {
        return readFileSync(p, 'latin1');
      } catch {
        return '';
      }
    };
    const ids = resolveRunAs(runAs, read('/etc/passwd'), read('/etc/group'));
    if (typeof ids === 'string') report.error(ids, 'run-as-user');
    else {
      try {
        process.setgroups?.([ids.gid]);
        process.setgid?.(ids.gid);
        process.setuid?.(ids.uid);
      } catch (e) {
        report.error(`Unable to switch to ${runAs}: ${(e as Error).message}`, 'run-as-user');
      }
    }
  }
  if (process.getuid?.() === 0) {
    report.warning(
      `Running tests as superuser ${identity().replace(/^user /, '')}. These test results may not be valid if the mail server runs as another user; use "run-as-user" or run the test as that user.`,
    );
  } else if (runAs) {
    report.success(`Running tests as ${identity()}.`);
  } else {
    report.warning(
      `Running tests as ${identity()}. Is this the user the mail server runs as?`,
      undefined,
      true,
    );
  }
}

/** Step 5: levee itself must not be setuid root. */
function checkBinary(report: Report): void {
  const script = process.argv[1];
  if (!script) return;
  let path = script;
  try {
    path = realpathSync(script);
    const st = statSync(path);
    if (st.uid === 0 && (st.mode & 0o4000) !== 0) {
      report.error(
        `levee binary (${path}) is owned by root and marked setuid. This is not necessary or recommended.`,
      );
      return;
    }
  } catch {
    return; // run from a bundle path that is gone: nothing to judge
  }
  report.success(`levee binary (${path}) is not owned by root and/or is not marked setuid.`, undefined, true);
}

/** Step 3: the environment a child sees during the test. */
function testEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.TCPLOCALPORT ??= '25';
  env.TCPREMOTEHOST ??= 'localhost';
  env.TCPREMOTEIP ??= '127.0.0.1';
  env.REMOTE_HOST ??= '127.0.0.1';
  return env;
}

/** Runs every check and reports into `report`; the order is spamdyke's (spec §6). */
export async function runChecks(report: Report, o: OptionValues, child: readonly string[]): Promise<void> {
  report.info('Testing configuration...', undefined, true);
  const env = testEnvironment();
  checkIdentity(report, o);
  checkBinary(report);
  checkSpawnHelper(report);
  if (child.length > 0) {
    const capabilities = await probeChild(child, env);
    judgeCapabilities(report, o, child.join(' '), capabilities);
  } else {
    report.warning(
      'No qmail-smtpd command was given after the options: its TLS and AUTH support were not tested.',
    );
  }
  checkOptionValues(report, o);
  for (const dir of o['config-dir']) checkConfigDir(report, 'config-dir', dir);
  for (const option of ['rdns-blacklist-dir', 'rdns-whitelist-dir', 'graylist-exception-rdns-dir'] as const) {
    for (const dir of o[option]) checkRdnsDir(report, option, dir);
  }
  checkGraylist(report, o);
  checkSyslog(report, o);
  checkRelaySources(report, o);
  checkTls(report, o);
  await checkAuthCommands(report, o);
  await checkDnsLists(report, o);
}

export async function runConfigTest(
  o: OptionValues,
  child: readonly string[],
  _log: Logger,
): Promise<number> {
  const json = o['log-format'] === 'json';
  const showVerbose = ['verbose', 'debug', 'excessive'].includes(o['log-level']);
  const print = (line: CheckLine): void => {
    if (json || (line.verbose && !showVerbose)) return;
    process.stderr.write(formatCheckLine(line) + '\n');
  };
  if (!json) process.stderr.write(versionText());
  const report = new Report(print);
  try {
    await runChecks(report, o, child);
  } catch (e) {
    report.error(`internal error while testing: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (json) process.stdout.write(report.toJson(version, showVerbose) + '\n');
  else process.stderr.write(report.finalLine() + '\n');
  return report.errorCount > 0 ? EXIT_ERRORS : 0;
}
