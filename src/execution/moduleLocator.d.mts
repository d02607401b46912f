// Types of moduleLocator.mjs, for the TypeScript side.
/**
 * Locate a handler module specifier.
 * @param specifier The module specifier.
 * @returns What to import, and whether it was found.
 */
export function locateModule(specifier: string): { url: string; found: boolean };
