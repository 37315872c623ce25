import { GatewayError } from '../errors.js';

export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Raised with every configuration problem at once, so one start shows them all. */
export class ConfigError extends GatewayError {
  readonly status = 500;
  constructor(readonly problems: ConfigProblem[]) {
    const text = problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n');
    super(`invalid configuration:\n${text}`, 'The gateway is misconfigured.');
  }
}
