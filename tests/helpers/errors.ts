// Error text for assertions on what a connector or store rejects with, inner errors included, so a
// test can match the cause the database gave as well as the wrapper's message.
import { BaseError, type IError } from "@twin.org/core";

/**
 * The messages of an error and its inner errors.
 * @param err The error.
 * @returns The messages, outermost first, joined by " <- ".
 */
export function errorText(err: unknown): string {
	const messages: string[] = [];
	for (let e: IError | undefined = BaseError.fromError(err).toJsonObject(); e; e = e.inner) {
		messages.push(e.message);
	}
	return messages.join(" <- ");
}

/**
 * The error a promise rejects with.
 * @param promise The promise.
 * @returns The error text.
 */
export async function rejection(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
	} catch (err) {
		return errorText(err);
	}
	throw new Error("expected a rejection");
}
