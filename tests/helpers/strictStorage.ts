// A strict in-memory double of the TWIN entity-storage connectors that have no server on this
// machine (MongoDB, Cosmos DB, Firestore, ScyllaDB; DynamoDB and MySQL/MariaDB for completeness),
// following docs/storage-backends.md: a call the real connector could not run throws a
// StrictRuleError naming the rule, and a call it can run behaves as it would. The core is in
// ./strict/store.ts, each connector's rules and quirks in ./strict/<profile>.ts.
export { StrictEntityStorageConnector } from "./strict/connector.js";
export { ScyllaLong } from "./strict/scyllaLong.js";
export {
	STRICT_CLASS_NAMES,
	StrictRuleError,
	type IStrictStorageOptions,
	type StrictProfile
} from "./strict/types.js";
