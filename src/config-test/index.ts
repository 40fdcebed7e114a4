// --config-test (spec §6). Loaded only for --config-test (dist/config-test.cjs).
import type { OptionValues } from '../options/table';
import type { Logger } from '../log';

export async function runConfigTest(
  _o: OptionValues,
  _child: readonly string[],
  _log: Logger,
): Promise<number> {
  process.stderr.write('ERROR: --config-test is not implemented in this version yet\n');
  return 1;
}
