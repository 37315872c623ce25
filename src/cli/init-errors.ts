import { GatewayError } from '../errors.js';
import { describeSteps, type ProbeStep } from './directory-probe.js';

/** init tried the directory with the answers, and something failed: nothing was written (exit code 1). */
export class InitDirectoryCheckError extends GatewayError {
  readonly status = 400;
  constructor(readonly steps: readonly ProbeStep[]) {
    const text = [
      'init: nothing written: the directory does not work with these answers yet.',
      describeSteps(steps),
      'Fix the answers and run init again; --no-check skips this where the directory cannot be reached from here.',
    ].join('\n');
    super(text, text);
  }
}
