// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.

/**
 * What a notification on the table's channel tells: tasks of a type may be due, a type was
 * paused or resumed, a schedule (the notice's "type" is its name) changed, or a processing task's
 * owner is asked to stop it (abort; the id in place of the type).
 */
export type NoticeKind = "due" | "pause" | "resume" | "schedule" | "abort";

/**
 * Announce to every node that tasks of a type may be due; the payload "<sender>:<type>" lets
 * the sender ignore its own.
 * @returns The statement.
 */
export function notifySql(): string {
	return `SELECT pg_notify($1, $3::text || ':' || $2::text)`;
}

/**
 * The payload of a pause or resume notice, "<sender>/<kind>:<type>": a node of an earlier version
 * reads it as a wake-up of the type from another sender, which costs it one fetch.
 * @param kind The kind.
 * @param sender The SQL expression of the sender's instance id.
 * @param type The SQL expression of the type.
 * @returns The expression.
 */
export function noticePayload(
	kind: "pause" | "resume" | "abort",
	sender: string,
	type: string
): string {
	return `${sender}::text || '/${kind}:' || ${type}`;
}

/**
 * Read a notification's payload.
 * @param payload "<sender>:<type>" (a wake-up) or "<sender>/<kind>:<type>".
 * @returns The sender, what it tells and the type.
 */
export function readNotice(payload: string): { sender: string; kind: NoticeKind; type: string } {
	const colon = payload.indexOf(":");
	const head = colon >= 0 ? payload.slice(0, colon) : "";
	const type = colon >= 0 ? payload.slice(colon + 1) : payload;
	const slash = head.indexOf("/");
	const kind = slash >= 0 ? head.slice(slash + 1) : "";
	return {
		sender: slash >= 0 ? head.slice(0, slash) : head,
		kind:
			kind === "pause" || kind === "resume" || kind === "schedule" || kind === "abort"
				? kind
				: "due",
		type
	};
}
