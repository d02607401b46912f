// The order in which files start: the longest first, so that no long file starts near the end of
// a run and holds it up alone. Without it a fresh clone (no timing cache) started the DynamoDB
// contract, a two-minute file, 106 s into a 267 s run.
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * What the longest files took, seconds, in a whole run on the 2-core machine (2026-12-05, `bash
 * .ci/run` on a fresh clone); a file not listed starts after them, in vitest's own order.
 */
const SECONDS: { [file: string]: number } = {
	"tests/contract/dynamodb.spec.ts": 124,
	"tests/contract/mysql.spec.ts": 63,
	"tests/contract/file.spec.ts": 39,
	"tests/postgresql/claimPlans.spec.ts": 39,
	"tests/postgresql/postgresTaskSource.spec.ts": 37,
	"tests/multinode/scale.spec.ts": 37,
	"tests/entityStorageQueue.spec.ts": 33,
	"tests/multinode/instances.spec.ts": 33,
	"tests/contract/memory.spec.ts": 32,
	"tests/differential/differential.spec.ts": 31,
	"tests/contract/strict.spec.ts": 29,
	"tests/postgresql/queueFeatures.spec.ts": 28,
	"tests/context.spec.ts": 27,
	"tests/workerStartup.spec.ts": 27,
	"tests/postgresql/connectionLoss.spec.ts": 25,
	"tests/lifecycle.spec.ts": 25,
	"tests/multinode/abort.spec.ts": 23,
	"tests/contract/native.spec.ts": 22,
	"tests/contract/postgres.spec.ts": 22,
	"tests/multinode/restart.spec.ts": 21,
	"tests/execution.spec.ts": 19,
	"tests/demo.spec.ts": 19
};

/**
 * Vitest's sequencer with the files listed above first, longest first.
 */
export default class LongestFirstSequencer extends BaseSequencer {
	/**
	 * Sort the files.
	 * @param files The files.
	 * @returns The files in the order they start.
	 */
	public override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
		const sorted = await super.sort(files);
		const seconds = (file: TestSpecification): number => {
			const path = file.moduleId.replace(/\\/g, "/");
			const key = Object.keys(SECONDS).find(k => path.endsWith(`/${k}`));
			return key === undefined ? 0 : SECONDS[key];
		};
		// Array.prototype.sort is stable: unlisted files keep vitest's order.
		return sorted.sort((a, b) => seconds(b) - seconds(a));
	}
}
