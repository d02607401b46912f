// Writes the shipped SQL files (docs/background-task.*.sql) from the task table's column list
// (src/store/postgresql/sql/columns.ts) and the text around it (src/store/postgresql/sql/shipped/).
// Run through `npm run generate:sql`, which builds dist/ first; tests/schema.spec.ts fails while a
// file differs from what this writes.
import { writeFileSync } from "node:fs";

const { shippedSqlFiles } = await import(
	new URL("../dist/esm/store/postgresql/sql/shipped/shippedFiles.js", import.meta.url).href
);
for (const [path, text] of Object.entries(shippedSqlFiles())) {
	writeFileSync(new URL(`../${path}`, import.meta.url), text);
	console.log(`wrote ${path}`);
}
