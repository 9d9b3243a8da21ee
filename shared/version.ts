import pkg from '../package.json' with { type: 'json' };

/** The product version, taken from package.json so the .deb, the agent and the CLI always agree. */
export const VERSION: string = pkg.version;
