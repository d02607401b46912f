// The documented decisions where ours deliberately differs from the original, by name, with the
// reason, and the rewrites that turn the original's observation into what ours must show under
// each. A scenario names the decisions it exercises; every other difference is a bug in ours.
import {
	type IObservation,
	type IStep,
	ORIGINAL_FOREVER_DATE,
	observationDifferences
} from "./harness.js";

/**
 * The decisions, by name, with where they are documented and what the original does instead.
 */
export const DECISIONS = {
	queryDefaultAscending:
		"SPEC 4 (query) and README 'Differences': sortDirection defaults to ascending, as the " +
		"reference documents; the original defaults to descending.",
	payloadMustBeJson:
		"SPEC 4 (create) and README 'Differences': the payload must be JSON-serialisable (else a " +
		"ValidationError naming `payload`, nothing stored) and a JSON clone is stored, so keys with " +
		"undefined values are dropped; the original stores structuredClone(payload) (bigints and " +
		"cycles kept, undefined values kept) and throws DataCloneError for a function.",
	cancelAppliesRetain:
		"SPEC 4 (cancel): a cancelled task gets its retain rule, so retainFor 0 removes it at once; " +
		"the original keeps a cancelled retainFor-0 task, without retainUntil, forever.",
	retryFailedTask:
		"SPEC 4 (retry): retry() of a failed task puts it back to pending, due now, for one more " +
		"attempt; the original only acts on a pending task, a failed one stays failed.",
	noRetainDateForever:
		"SPEC 4 (get): dateRetainUntil is an ISO date only when retainUntil is a positive " +
		"timestamp, so it is undefined for retainFor -1; the original formats -1 and returns " +
		`${ORIGINAL_FOREVER_DATE}.`,
	validationErrorNamesEveryField:
		"SPEC 2/4 and README 'bad input': invalid arguments raise one ValidationError naming every " +
		"bad field; the original throws a GuardError for the first argument its guards reject.",
	removedWhileRunningStaysRemoved:
		"SPEC 4 (remove): a task removed while it runs is not written back when it finishes; the " +
		"original writes the finished task back, so it reappears.",
	userErrorNameKept:
		"SPEC 5 (failure): the user's own error name and message are stored; the original's worker " +
		"posts the thrown error through structured clone, which keeps only built-in error names, so " +
		"an Error subclass named CustomHandlerError is stored as name Error.",
	retryKeptWhenRetainZero:
		"SPEC 5 (Retain: on a final state, retainFor 0 removes the task; a task waiting for a " +
		"retry is always kept) and README 'Differences': a failed attempt with retries left puts " +
		"the task back to pending and keeps it for its retry whatever its retainFor; the original " +
		"removes a retainFor-0 task (the default) as soon as it is set back to pending, so the " +
		"retry never runs and the task is lost: its callback sees processing, then pending, and " +
		"nothing more.",
	dateModifiedIsLastChange:
		"SPEC 3/5 (dateModified is the time of the last change; retain and retry times count from " +
		"it): ours sets dateModified when it settles, cancels or retries a task; the original only " +
		"sets it at creation and at the claim, so a completed task's dateModified is its claim " +
		"time and a cancelled task's is its creation time. Retain and retry spans from " +
		"dateModified are the same in both."
} as const;

// Not a decision, although README 'Differences' lists it: `retryCount: 0` is rejected by the
// original too (Validation.integer with minValue 1: a ValidationError, reason
// validation.beWholeNumberMin), so the suite compares it like any other input.

/**
 * A decision's name.
 */
export type Decision = keyof typeof DECISIONS;

/**
 * Rewrites of the original's observation applied to every scenario: decisions whose effect is the
 * same wherever they apply.
 */
const GLOBAL_DECISIONS: Decision[] = ["dateModifiedIsLastChange", "noRetainDateForever"];

/**
 * Apply a rewrite to every relations object of an observation.
 * @param observation The observation.
 * @param rewrite The rewrite.
 */
function eachRelations(
	observation: IObservation,
	rewrite: (relations: { [key: string]: unknown }) => void
): void {
	for (const step of observation.steps) {
		step.relations.forEach(rewrite);
	}
	for (const call of observation.callbacks) {
		rewrite(call.relations);
	}
	for (const row of observation.stored) {
		rewrite(row.relations);
	}
}

/**
 * Apply a rewrite to every task-like object returned by a step (get, query pages).
 * @param observation The observation.
 * @param rewrite The rewrite.
 */
function eachReturnedTask(
	observation: IObservation,
	rewrite: (task: { [key: string]: unknown }) => void
): void {
	const visit = (value: unknown): void => {
		if (Array.isArray(value)) {
			value.forEach(visit);
		} else if (typeof value === "object" && value !== null) {
			const obj = value as { [key: string]: unknown };
			if (typeof obj.status === "string" && "dateCreated" in obj) {
				rewrite(obj);
			} else if (Array.isArray(obj.entities)) {
				visit(obj.entities);
			}
		}
	};
	for (const step of observation.steps) {
		visit(step.value);
	}
}

/**
 * The rewrites of the global decisions.
 */
const GLOBAL_REWRITES: { [name in Decision]?: (expected: IObservation) => void } = {
	dateModifiedIsLastChange: expected =>
		eachRelations(expected, relations => {
			if ("modifiedAtCompletion" in relations) {
				relations.modifiedAtCompletion = true;
			}
			if ("modifiedAtCancel" in relations) {
				relations.modifiedAtCancel = true;
			}
		}),
	noRetainDateForever: expected =>
		eachReturnedTask(expected, task => {
			if (task.dateRetainUntil === ORIGINAL_FOREVER_DATE) {
				task.dateRetainUntil = undefined;
			}
		})
};

/**
 * The step with the label.
 * @param observation The observation.
 * @param label The label.
 * @returns The step.
 */
export function step(observation: IObservation, label: string): IStep {
	const found = observation.steps.find(s => s.label === label);
	if (!found) {
		throw new Error(
			`no step "${label}" (steps: ${observation.steps.map(s => s.label).join(" | ")})`
		);
	}
	return found;
}

/**
 * What ours must show: the original's observation rewritten by the global decisions and by the
 * scenario's own rewrite of its decisions.
 * @param original The original's observation.
 * @param decisions The scenario's decisions (documentation: each must be a known name).
 * @param rewrite The scenario's rewrite.
 * @returns The expected observation.
 */
export function expectedFor(
	original: IObservation,
	decisions: Decision[],
	rewrite?: (expected: IObservation) => void
): IObservation {
	for (const decision of decisions) {
		if (!(decision in DECISIONS)) {
			throw new Error(`unknown decision ${decision}`);
		}
	}
	const expected = structuredClone(original);
	for (const decision of GLOBAL_DECISIONS) {
		GLOBAL_REWRITES[decision]?.(expected);
	}
	rewrite?.(expected);
	return expected;
}

/**
 * The differences found by each test, printed at the end when DIFFERENTIAL_REPORT is set.
 */
export const FOUND: { test: string; lines: string[] }[] = [];

/**
 * The differences between what ours must show and what it showed; recorded for the report.
 * @param test The test's name.
 * @param expected The expected observation.
 * @param actual Ours.
 * @returns The lines.
 */
export function compare(test: string, expected: IObservation, actual: IObservation): string[] {
	const lines = observationDifferences(expected, actual);
	FOUND.push({ test, lines });
	return lines;
}
