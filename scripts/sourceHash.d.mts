// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// Declarations of scripts/sourceHash.mjs for the TypeScript that imports it (tests/setup/build.ts).

/**
 * Where the build records the hash of its inputs, relative to the package root.
 */
export declare const BUILD_STAMP: string;

/**
 * The hash of the build's inputs.
 * @param root The package root.
 * @returns The hex digest.
 */
export declare function sourceHash(root: string): string;

/**
 * Whether dist/ was built from the sources as they are now.
 * @param root The package root.
 * @returns True when current.
 */
export declare function distIsCurrent(root: string): boolean;
